"""Endpoint rows → outputs: every kind behind one interface; bad JSON configs refused."""
from __future__ import annotations

import json

import pytest

from schedules.outputs import KINDS, Output, make_output, validate_config
from schedules.outputs.phone import CallOutcome

GOOD = {
    "alsa": {"device": "plughw:CARD=PCH,DEV=0", "channels": 2, "rate": 48000},
    "icecast": {"url": "http://127.0.0.1:8000/yangjiaping.mp3", "password": "s3cret-pw",
                "user": "source"},
    "phone_terminal": {"number": "+8613900005555"},
    "portable": {"name": "宣传车1号"},
}
SERVICES = {"place_call": lambda *a, **k: CallOutcome("completed"), "audio_url": str}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_builds_from_its_json_column(kind):
    config = json.loads(json.dumps(GOOD[kind]))  # as read back from the database
    out = make_output(kind, config, **SERVICES)

    assert isinstance(out, Output)
    assert out.kind == kind
    assert out.rendition in ("loudspeaker", "telephone")
    assert validate_config(kind, config) == config
    assert "s3cret-pw" not in out.describe()


def test_defaults_fill_in_what_a_config_leaves_out():
    out = make_output("alsa", {})
    assert (out.device, out.channels, out.rate) == ("default", 2, 44100)
    assert make_output("icecast", {"url": "http://h:8000/m", "password": "p"}).user == "source"


@pytest.mark.parametrize("kind, config", [
    ("alsa", {"device": "default", "volume": 5}),
    ("alsa", {"channels": 6}),
    ("alsa", {"rate": "44100"}),
    ("alsa", {"channels": 2.0}),
    ("alsa", "default"),
    ("icecast", {"url": "http://127.0.0.1:8000/m"}),
    ("icecast", {"url": "http://127.0.0.1:8000/", "password": "p"}),
    ("icecast", {"url": "rtsp://127.0.0.1/m", "password": "p"}),
    ("icecast", {"url": "http://source:p@127.0.0.1:8000/m", "password": "p"}),
    ("icecast", {"url": "http://127.0.0.1:99999/m", "password": "p"}),
    ("icecast", {"url": "http://127.0.0.1/m", "password": "p", "name": "a\r\nX-Evil: 1"}),
    ("icecast", {"url": "http://127.0.0.1/m", "password": "p", "user": "a:b"}),
    ("phone_terminal", {"number": "010-12345678"}),
    ("portable", {"number": "+8613900005555"}),
    ("portable", None),
    ("siren", {}),
])
def test_bad_configs_are_refused_with_value_error(kind, config):
    with pytest.raises(ValueError):
        make_output(kind, config, **SERVICES)
    with pytest.raises(ValueError):
        validate_config(kind, config)


def test_a_misspelt_service_is_a_wiring_error():
    with pytest.raises(ValueError, match="place_cal"):
        make_output("alsa", {}, place_cal=print)


@pytest.mark.parametrize("kind", KINDS)
def test_nonsense_play_arguments_are_programming_errors(kind):
    out = make_output(kind, GOOD[kind], **SERVICES)
    with pytest.raises(ValueError):
        out.play("/x.mp3", expected_s=1.0, timeout_s=0, on_started=lambda: None)
