"""Which version of a notice a resident gets, and what sending it will cost.

Fallback chain for a resident's language L (shown on the notice page):

    recording in L ─▶ recording in Mandarin ─▶ synthetic speech ─▶ SMS only
    (upload or         (upload or               (espeak-ng audio,     (no audio at all:
     browser record)    browser record)          or <Say> text)        text message)
"""
from __future__ import annotations

from dataclasses import dataclass

from . import sms_text

MANDARIN = "mandarin"
RECORDED = ("upload", "recording")

AUDIO = "audio"    # play a recording (or synthetic audio) of the notice
SAY = "say"        # no audio: the phone network reads the text (<Say language="cmn-CN">)
SMS_ONLY = "sms"   # nothing to say on a call: text message only


@dataclass(frozen=True)
class Choice:
    kind: str                 # AUDIO, SAY or SMS_ONLY
    language: str             # language of what is played or written
    asset: dict | None        # the audio asset for AUDIO
    step: str                 # which link of the chain was used, for the page


def chain(notice: dict, language: str) -> list[tuple[str, bool]]:
    """The chain for ``language`` as (step label, available) pairs, in order."""
    audio = notice["audio"]
    steps = []
    if language != MANDARIN:
        steps.append((f"recording:{language}", language in audio and audio[language]["origin"] in RECORDED))
    steps.append(("recording:mandarin", MANDARIN in audio and audio[MANDARIN]["origin"] in RECORDED))
    synthetic = any(a["origin"] == "synthetic" for a in audio.values()) or bool(notice["text"].strip())
    steps.append(("synthetic", synthetic))
    steps.append(("sms", True))
    return steps


def choose(notice: dict, language: str) -> Choice:
    """The first available link of the chain for a resident who speaks ``language``."""
    audio = notice["audio"]
    for lang in dict.fromkeys((language, MANDARIN)):
        asset = audio.get(lang)
        if asset and asset["origin"] in RECORDED:
            return Choice(AUDIO, lang, asset, f"recording:{lang}")
    for lang in dict.fromkeys((language, MANDARIN, *audio)):
        asset = audio.get(lang)
        if asset and asset["origin"] == "synthetic":
            return Choice(AUDIO, lang, asset, "synthetic")
    if notice["text"].strip():
        return Choice(SAY, MANDARIN, None, "synthetic")
    return Choice(SMS_ONLY, language, None, "sms")


def sms_template(notice: dict, language: str) -> str:
    """SMS script in the resident's language, else Mandarin, else the notice text; reply hint appended."""
    variants = notice["variants"]
    template = variants.get(language) or variants.get(MANDARIN) or next(iter(variants.values()), "") \
        or notice["text"]
    return sms_text.with_reply_hint(template) if notice["append_reply_hint"] else template


@dataclass(frozen=True)
class Prices:
    """Per-deployment prices (environment: SMS_PRICE_PER_SEGMENT, CALL_PRICE_PER_MINUTE, PRICE_CURRENCY)."""
    sms_per_segment: float = 0.05
    call_per_minute: float = 0.10
    currency: str = "CNY"


def estimate_cost(recipients: int, sms_segments: int, call_minutes: float, expected_attempts: float,
                  prices: Prices, *, sms: bool = True, calls: bool = True) -> dict:
    """recipients × segments × price + expected call minutes × price × expected attempts."""
    if recipients < 0 or sms_segments < 0 or call_minutes < 0 or expected_attempts < 0:
        raise ValueError("cost inputs must not be negative")
    sms_cost = recipients * sms_segments * prices.sms_per_segment if sms else 0.0
    call_cost = recipients * call_minutes * prices.call_per_minute * expected_attempts if calls else 0.0
    return {"sms": round(sms_cost, 2), "calls": round(call_cost, 2), "total": round(sms_cost + call_cost, 2),
            "currency": prices.currency}
