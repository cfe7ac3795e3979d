"""The call flow, as TwiML. No Flask here: the webhook passes in what it read and gets XML back.

    answer ─▶ greeting ─▶ notice audio (<Play>, or <Say> fallback) ─▶ /heard ─▶ menu
    menu:  1 heard ─▶ thanks, hang up        2 pledge ─▶ event type ─▶ confirm ─▶ thanks
           9 repeat ─▶ audio again ─▶ menu    0 call me back ─▶ noted, hang up
           no input ─▶ menu once more ─▶ goodbye
    health check-in calls use: 1 temperature normal, 2 need help.
    answering machine ─▶ the notice once, then hang up (or hang up at once to retry later).
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

LANG = "cmn-CN"
EVENT_KEYS = {"1": "wedding", "2": "funeral", "3": "birthday", "4": "lantern", "5": "other"}
EVENT_NAMES = {"wedding": "婚宴", "funeral": "丧事", "birthday": "寿宴", "lantern": "开灯酒", "other": "其他聚集活动"}
MENU = "听清楚了请按1；承诺取消或推迟酒席请按2；再听一遍请按9；需要村里回电请按0。"
HEALTH_MENU = "体温正常请按1；需要帮助请按2；再听一遍请按9。"
GOODBYE = "谢谢您的接听，再见。"


@dataclass(frozen=True)
class Call:
    """What the flow needs to know about one call."""
    base: str                 # absolute URL prefix of this call's flow, e.g. https://x/twilio/voice/a12
    village_name: str
    audio_url: str | None     # telephone rendition (public, unguessable) or None
    say_text: str             # spoken when there is no audio
    health_check: bool = False


def _url(call: Call, step: str, **query) -> str:
    return f"{call.base}/{step}" + (f"?{urlencode(query)}" if query else "")


def _content(response: VoiceResponse, call: Call) -> None:
    if call.audio_url:
        response.play(call.audio_url)
    else:
        response.say(call.say_text or "村里有一条新通知，请留意村广播。", language=LANG)


def answer(call: Call, *, machine: bool = False, hang_up_on_machine: bool = False) -> str:
    response = VoiceResponse()
    if machine and hang_up_on_machine:
        response.hangup()
        return str(response)
    response.say(f"您好，这里是{call.village_name}村委会，有一条重要通知。", language=LANG)
    _content(response, call)
    if machine:  # a voicemail box cannot press keys: leave the message and go
        response.hangup()
        return str(response)
    response.redirect(_url(call, "heard"), method="POST")
    return str(response)


def menu(call: Call, round_no: int = 1) -> str:
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=_url(call, "menu", n=round_no), method="POST", timeout=6)
    gather.say(HEALTH_MENU if call.health_check else MENU, language=LANG)
    response.redirect(_url(call, "menu", n=round_no, silent=1), method="POST")
    return str(response)


def replay(call: Call) -> str:
    response = VoiceResponse()
    _content(response, call)
    response.redirect(_url(call, "heard"), method="POST")
    return str(response)


def say_and_hang_up(text: str) -> str:
    response = VoiceResponse()
    response.say(text, language=LANG)
    response.hangup()
    return str(response)


def pledge_type(call: Call) -> str:
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=_url(call, "pledge-type"), method="POST", timeout=8)
    gather.say("请选择要取消或推迟的活动：婚宴请按1，丧事请按2，寿宴请按3，开灯酒请按4，其他请按5。", language=LANG)
    response.redirect(_url(call, "menu", n=2, silent=1), method="POST")
    return str(response)


def pledge_confirm(call: Call, event_type: str) -> str:
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=_url(call, "pledge-confirm", type=event_type), method="POST",
                             timeout=8)
    gather.say(f"您选择的是{EVENT_NAMES[event_type]}。确认承诺取消或推迟请按1，返回请按2。", language=LANG)
    response.redirect(_url(call, "menu", n=2, silent=1), method="POST")
    return str(response)
