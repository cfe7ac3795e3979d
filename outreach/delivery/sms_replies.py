"""Text replies: acknowledgements, pledges (with a short follow-up dialog), opt-out, and the inbox.

    "1"/收到 ─▶ ack ─▶ "已收到"          "2"/取消 ─▶ pledge ─▶ ask event type ─▶ ask date ─▶ thanks
    STOP/退订/TD ─▶ opted out            START ─▶ opted back in        anything else ─▶ village inbox
"""
from __future__ import annotations

import re
from datetime import date

from ..db import one, write
from . import interactions as talk

EVENT_WORDS = {"1": "wedding", "婚": "wedding", "2": "funeral", "丧": "funeral", "白": "funeral", "3": "birthday",
               "寿": "birthday", "生日": "birthday", "4": "lantern", "开灯": "lantern", "5": "other", "其他": "other"}
ASK_TYPE = "感谢您的承诺！请回复活动类型：1婚宴 2丧事 3寿宴 4开灯酒 5其他。"
ASK_DATE = "原计划哪天办？请回复日期，如 12月8日；不确定请回复0。"
THANKS_PLEDGE = "已记录您的承诺，谢谢支持！村委会"
THANKS_ACK = "已收到您的确认，谢谢！村委会"


def _dialog(db, e164: str) -> dict | None:
    return one(db, "SELECT * FROM sms_dialogs WHERE e164 = ?", [e164])


def _set_dialog(db, e164: str, village_id: int, pledge_id: int | None, step: str | None) -> None:
    with write(db):
        if step is None:
            db.execute("DELETE FROM sms_dialogs WHERE e164 = ?", [e164])
        else:
            db.execute("""INSERT INTO sms_dialogs (e164, village_id, pledge_id, step) VALUES (?, ?, ?, ?)
                          ON CONFLICT (e164) DO UPDATE SET pledge_id = excluded.pledge_id, step = excluded.step,
                          updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')""", [e164, village_id, pledge_id, step])


def parse_date(text: str, today: date | None = None) -> str | None:
    """"12月8日", "12-08", "2026-12-08" → ISO date (the next such day); None when not a date."""
    today = today or date.today()
    m = re.search(r"(?:(\d{4})[年\-/.])?(\d{1,2})[月\-/.](\d{1,2})", text)
    if not m:
        return None
    year, month, day = int(m.group(1) or today.year), int(m.group(2)), int(m.group(3))
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    if not m.group(1) and found < today:
        found = found.replace(year=today.year + 1)
    return found.isoformat()


def _continue_dialog(db, dialog: dict, body: str) -> str | None:
    text = body.strip()
    if dialog["step"] == "event_type":
        event = next((v for k, v in EVENT_WORDS.items() if text.startswith(k)), None)
        if event is None:
            return ASK_TYPE
        talk.update_pledge(db, dialog["pledge_id"], event_type=event)
        _set_dialog(db, dialog["e164"], dialog["village_id"], dialog["pledge_id"], "date")
        return ASK_DATE
    if dialog["step"] == "date":
        planned = parse_date(text)
        if planned is None and text not in ("0", "不确定", "不知道"):
            return ASK_DATE
        fields = {"status": "recorded"}
        if planned:
            fields["planned_date"] = planned
        talk.update_pledge(db, dialog["pledge_id"], **fields)
        _set_dialog(db, dialog["e164"], dialog["village_id"], None, None)
        return THANKS_PLEDGE
    return None


def _portable_confirmation(db, sender: str, body: str) -> str | None:
    """A portable loudspeaker operator's "PLAYED 17" (issue 5): confirm the plays, or None if it is not one."""
    from schedules.outputs.portable import parse_played_sms
    from schedules.plays import confirm
    from schedules.runner import now_utc

    ids = parse_played_sms(body)
    if ids is None:
        return None
    done, unknown = confirm(db, ids, by=f"sms:{sender}", at=now_utc())
    parts = []
    if done:
        parts.append("已确认播放 " + "、".join(map(str, done)))
    if unknown:
        parts.append("未找到待确认的播放 " + "、".join(map(str, unknown)))
    return "；".join(parts)


def handle_inbound(db, sender: str, body: str, sid: str) -> str | None:
    """Record an inbound text and return the confirmation to send back (None: say nothing)."""
    played = _portable_confirmation(db, sender, body)
    if played is not None:
        return played
    resident = talk.resident_by_phone(db, sender)
    kind = talk.classify_sms(body)
    if kind == talk.OPT_OUT:
        talk.opt_out(db, sender, "sms")
        _set_dialog(db, sender, 0, None, None)
        return "已退订，不再给您发送短信。回复START可恢复。"
    if kind == talk.OPT_IN:
        talk.opt_in(db, sender)
        return "已恢复接收村委会短信。"
    if resident is None:
        talk.to_inbox(db, village_id=None, resident_id=None, from_e164=sender, body=body, sid=sid)
        return None
    dialog = _dialog(db, sender)
    if dialog and kind not in (talk.ACK, talk.PLEDGE):
        reply = _continue_dialog(db, dialog, body)
        if reply:
            return reply
    contact = talk.latest_contact(db, resident["id"]) or {}
    common = dict(village_id=resident["village_id"], resident_id=resident["id"], channel="sms", raw=body,
                  from_e164=sender, campaign_id=contact.get("campaign_id"), notice_id=contact.get("notice_id"))
    if kind == talk.ACK:
        talk.record_response(db, kind=talk.ACK, dedupe_key=f"sms:{sid}", **common)
        return THANKS_ACK
    if kind == talk.PLEDGE:
        talk.record_response(db, kind=talk.PLEDGE, dedupe_key=f"sms:{sid}", **common)
        pledge_id = talk.record_pledge(db, village_id=resident["village_id"], channel="sms", dedupe_key=f"sms:{sid}",
                                       resident_id=resident["id"], notice_id=contact.get("notice_id"),
                                       campaign_id=contact.get("campaign_id"), status="incomplete")
        _set_dialog(db, sender, resident["village_id"], pledge_id, "event_type")
        return ASK_TYPE
    talk.record_response(db, kind=talk.OTHER, dedupe_key=f"sms:{sid}", **common)
    talk.to_inbox(db, village_id=resident["village_id"], resident_id=resident["id"], from_e164=sender, body=body,
                  sid=sid)
    return "您的留言已转给村委会，谢谢。"
