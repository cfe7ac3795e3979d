"""``make_output(kind, config)``: an output from a loudspeaker endpoint's row (kind + JSON config).

``validate_config(kind, config)`` checks a config without building anything, for the web form that
saves an endpoint (the web process has no gateway to hand the phone terminal).
"""
from __future__ import annotations

from typing import Any

from .alsa import AlsaOutput
from .base import Output, check_config, config_str
from .icecast import IcecastOutput
from .phone import KIND as PHONE, PhoneTerminalOutput, check_e164
from .portable import PortableOutput

KINDS = ("alsa", "icecast", "phone_terminal", "portable")
SERVICES = ("place_call", "audio_url")  # what the worker may hand in; kinds take what they use
_SIMPLE = {"alsa": AlsaOutput, "icecast": IcecastOutput, "portable": PortableOutput}


def make_output(kind: str, config: Any, **services: Any) -> Output:
    """Build and validate an output; raise ValueError on an unknown kind, bad config or service.

    ``services``: the phone terminal needs ``place_call`` (the Twilio gateway's blocking call,
    see phone.PlaceCall) and ``audio_url`` (local path of the telephone rendition → a URL Twilio
    can fetch). Other kinds ignore them, so the worker can pass the same services to every kind.
    """
    unknown = sorted(set(services) - set(SERVICES))
    if unknown:
        raise ValueError(f"unknown output services: {', '.join(unknown)}")
    if kind == PHONE:
        return PhoneTerminalOutput.from_config(config, **services)
    if kind in _SIMPLE:
        return _SIMPLE[kind].from_config(config)
    raise ValueError(f"unknown loudspeaker output kind {kind!r}; expected one of {', '.join(KINDS)}")


def validate_config(kind: str, config: Any) -> dict:
    """The config as a plain dict if ``make_output`` would accept it, else ValueError."""
    if kind == PHONE:
        cfg = check_config(PHONE, config, required=("number",))
        check_e164(config_str(PHONE, cfg, "number"))
        return cfg
    make_output(kind, config)
    return dict(config)
