"""The phone-dialled terminal: what each way a call can end means for the play log.

The gateway is a fake here (the real path, through the phone-network simulator, is the lead's
integration test); everything on this side of the gateway is real.
"""
from __future__ import annotations

import pytest

from schedules.outputs import make_output
from schedules.outputs.phone import CallOutcome

TERMINAL = "+8613900005555"


class FakeGateway:
    """Answers like the Twilio gateway would, recording what it was asked to dial."""

    def __init__(self, outcome: CallOutcome | Exception, answer: bool = True):
        self.outcome, self.answer, self.calls = outcome, answer, []

    def __call__(self, to, audio_url, *, timeout_s, on_started):
        self.calls.append((to, audio_url, timeout_s))
        if self.answer:
            on_started()
            on_started()  # a gateway may see "in-progress" twice; the worker must hear it once
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def terminal(gateway):
    return make_output("phone_terminal", {"number": TERMINAL}, place_call=gateway,
                       audio_url=lambda path: "https://dalaba.example/media/" + path.rsplit("/", 1)[-1])


def test_a_completed_call_plays_the_telephone_rendition_on_the_terminal(started):
    gateway = FakeGateway(CallOutcome("completed", answered_s=31.0, sid="CA123"))
    out = terminal(gateway)

    result = out.play("/inst/media/n5/telephone.wav", expected_s=30.0, timeout_s=120,
                      on_started=started)

    assert out.rendition == "telephone"
    assert gateway.calls == [(TERMINAL, "https://dalaba.example/media/telephone.wav", 120)]
    assert result.ok and result.played_s == 31.0
    assert result.detail["sid"] == "CA123"
    assert len(started.calls) == 1


def test_a_terminal_that_hangs_up_early_is_a_partial_play_to_retry(started):
    result = terminal(FakeGateway(CallOutcome("completed", answered_s=9.0))).play(
        "/m/t.wav", expected_s=30.0, timeout_s=120, on_started=started)

    assert not result.ok and result.retryable
    assert result.detail["reason"] == "partial"
    assert result.played_s == 9.0
    assert "9 s of 30 s" in result.error


@pytest.mark.parametrize("status, reason", [("busy", "busy"), ("no-answer", "no_answer"),
                                            ("failed", "unreachable"), ("not_placed", "unreachable")])
def test_a_call_that_never_played_is_retried(status, reason, started):
    result = terminal(FakeGateway(CallOutcome(status, error="carrier says so"), answer=False)).play(
        "/m/t.wav", expected_s=30.0, timeout_s=120, on_started=started)

    assert not result.ok and result.retryable
    assert result.detail["reason"] == reason
    assert status in result.error and "carrier says so" in result.error
    assert started.calls == []


@pytest.mark.parametrize("outcome", [CallOutcome("unknown"), CallOutcome("canceled"),
                                     RuntimeError("connection reset after the API call")])
def test_an_outcome_that_may_have_played_is_never_retried(outcome, started):
    result = terminal(FakeGateway(outcome, answer=False)).play(
        "/m/t.wav", expected_s=30.0, timeout_s=120, on_started=started)

    assert not result.ok and not result.retryable


def test_describe_does_not_print_the_whole_number():
    out = terminal(FakeGateway(CallOutcome("completed")))
    assert TERMINAL not in out.describe() and "****" in out.describe()


@pytest.mark.parametrize("config", [{}, {"number": "13900005555"}, {"number": "+86 139 0000 5555"},
                                    {"number": "+861"}, {"number": TERMINAL, "pin": "1234"},
                                    {"number": 8613900005555}, ["+8613900005555"]])
def test_bad_terminal_configs_are_refused(config):
    with pytest.raises(ValueError):
        make_output("phone_terminal", config, place_call=FakeGateway(None), audio_url=str)


def test_a_terminal_without_a_gateway_is_refused():
    with pytest.raises(ValueError, match="place_call"):
        make_output("phone_terminal", {"number": TERMINAL})
