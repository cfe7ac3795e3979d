"""Phone-dialled terminal (电话广播): the terminal broadcasts any call from a whitelisted number.

The terminal's own whitelist holds our caller ID; the config holds the terminal's number. This
module does not talk to Twilio: the worker injects the gateway's ``place_call`` (see
:class:`PlaceCall`), which dials, ``<Play>``s the telephone rendition and returns when the call has
ended. We turn its :class:`CallOutcome` into a PlayResult::

    completed, answered ≥ audio − slack ─▶ ok (played_s = connected seconds)
    completed, shorter ──────────────────▶ failed partial, retryable (terminal hung up early)
    busy / no-answer / failed ───────────▶ failed, retryable (line busy, terminal off, network)
    not_placed ──────────────────────────▶ failed, retryable (gateway is sure nothing was dialled)
    canceled ────────────────────────────▶ failed, not retryable (someone cancelled it on purpose)
    unknown / gateway raised ────────────▶ failed, not retryable (it may have played: never twice)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Protocol

from .base import (REASON_AUDIO, REASON_BUSY, REASON_NO_ANSWER, REASON_PARTIAL, REASON_UNKNOWN,
                   REASON_UNREACHABLE, PlayResult, check_config, check_play_args, config_str)

KIND = "phone_terminal"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# CallOutcome.status values: Twilio's final call statuses, plus two of the gateway's own.
COMPLETED = "completed"  # answered and hung up normally; answered_s says for how long
BUSY = "busy"  # the terminal's line was busy
NO_ANSWER = "no-answer"  # rang out without being answered
FAILED = "failed"  # the carrier could not connect the call
CANCELED = "canceled"  # cancelled before it was answered (by us, on purpose)
NOT_PLACED = "not_placed"  # the gateway is sure no call was made (429, connection refused)
UNKNOWN = "unknown"  # the gateway lost track (timeout after the API call): it may have played

_RETRYABLE = {BUSY: REASON_BUSY, NO_ANSWER: REASON_NO_ANSWER, FAILED: REASON_UNREACHABLE,
              NOT_PLACED: REASON_UNREACHABLE}


@dataclass(frozen=True)
class CallOutcome:
    """How one call to a terminal ended, as the gateway saw it."""

    status: str  # one of the status constants above
    answered_s: float = 0.0  # seconds connected (Twilio's CallDuration), 0 if never answered
    sid: str | None = None  # the provider's call id, for the play log and reconciliation
    error: str | None = None  # the provider's message, if any


class PlaceCall(Protocol):
    """The gateway's blocking call: dial ``to``, ``<Play>`` ``audio_url``, return when it ended.

    It calls ``on_started()`` when the call is answered (Twilio status in-progress) and must
    return within ``timeout_s`` (hanging up itself if needed).
    """

    def __call__(self, to: str, audio_url: str, *, timeout_s: float,
                 on_started: Callable[[], None]) -> CallOutcome: ...


def check_e164(number) -> str:
    """The number itself if it is a possible E.164 number, else ValueError."""
    import phonenumbers  # late: only this kind needs it

    if not isinstance(number, str) or not _E164.match(number):
        raise ValueError(f"terminal number must be E.164 like +8613900001111, got {number!r}")
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"terminal number {number!r} cannot be parsed: {exc}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(f"terminal number {number!r} is not a possible phone number")
    return number


class PhoneTerminalOutput:
    kind = KIND
    rendition = "telephone"  # 8 kHz μ-law: what the phone network carries anyway

    def __init__(self, number: str, *, place_call: PlaceCall, audio_url: Callable[[str], str]):
        if not callable(place_call) or not callable(audio_url):
            raise ValueError("phone_terminal needs the gateway's place_call and an audio_url callable")
        self.number = check_e164(number)
        self.place_call, self.audio_url = place_call, audio_url

    @classmethod
    def from_config(cls, config, *, place_call: PlaceCall | None = None,
                    audio_url: Callable[[str], str] | None = None) -> "PhoneTerminalOutput":
        cfg = check_config(KIND, config, required=("number",))
        return cls(config_str(KIND, cfg, "number"), place_call=place_call, audio_url=audio_url)

    def describe(self) -> str:
        return f"phone-dialled loudspeaker terminal {self.number[:-4]}****"

    def play(self, audio_path: str, *, expected_s: float, timeout_s: float,
             on_started: Callable[[], None]) -> PlayResult:
        check_play_args(expected_s, timeout_s)
        base = {"to": self.number, "expected_s": expected_s}
        try:
            url = self.audio_url(audio_path)
        except (ValueError, OSError) as exc:
            return PlayResult.failed(REASON_AUDIO, f"no public URL for the audio: {exc}",
                                     retryable=False, **base)
        started = []

        def once():
            if not started:  # a gateway seeing in-progress twice must not log "started" twice
                started.append(True)
                on_started()

        try:
            outcome = self.place_call(self.number, url, timeout_s=timeout_s, on_started=once)
        except Exception as exc:  # the gateway's own failure: the call may or may not exist
            return PlayResult.failed(REASON_UNKNOWN, f"gateway error, outcome unknown: {exc}",
                                     retryable=False, **base)
        return outcome_to_result(outcome, expected_s, base)


def outcome_to_result(outcome: CallOutcome, expected_s: float, base: dict | None = None) -> PlayResult:
    detail = {**(base or {}), "status": outcome.status, "sid": outcome.sid}
    said = f" ({outcome.error})" if outcome.error else ""
    played = max(0.0, float(outcome.answered_s or 0.0))
    if outcome.status == COMPLETED:
        # Answer-to-hang-up includes a moment before <Play> starts; allow it, and a little more.
        slack = max(2.0, 0.1 * expected_s)
        if played + slack >= expected_s:
            return PlayResult(True, round(played, 3), None, False, detail)
        return PlayResult.failed(REASON_PARTIAL, f"the terminal hung up after {played:.0f} s of "
                                 f"{expected_s:.0f} s{said}", retryable=True, played_s=played,
                                 **detail)
    if outcome.status in _RETRYABLE:
        return PlayResult.failed(_RETRYABLE[outcome.status], f"call {outcome.status}{said}",
                                 retryable=True, played_s=played, **detail)
    if outcome.status == CANCELED:
        return PlayResult.failed(REASON_UNKNOWN, f"call canceled{said}", retryable=False, **detail)
    return PlayResult.failed(REASON_UNKNOWN, f"call outcome {outcome.status!r}{said}",
                             retryable=False, played_s=played, **detail)
