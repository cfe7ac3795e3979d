"""Texts that are not campaign sends: the carers' alerts queued by :mod:`alerts` and pledge reminders.

Same intent-first discipline as the outbox: a ``notifications`` row is committed before the send.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from ..db import rows, write
from . import gateway as gw
from .outbox import iso

SMS_FINAL = {"delivered": "delivered", "undelivered": "failed", "failed": "failed"}


def claim(db, now: datetime, limit: int = 50) -> list[dict]:
    with write(db):
        return [dict(r) for r in db.execute(
            """UPDATE notifications SET status = 'sending', claimed_at = ? WHERE id IN
               (SELECT id FROM notifications WHERE status IN ('pending', 'retry') AND next_attempt_at <= ?
                ORDER BY next_attempt_at LIMIT ?) RETURNING *""", [iso(now), iso(now), limit]).fetchall()]


def send(db, gateway: gw.Gateway, row: dict, now: datetime) -> None:
    try:
        sid = gateway.send_sms(row["to_e164"], row["body"], gateway.url(f"/twilio/notify-status/{row['id']}"))
    except gw.SendError as err:
        if err.kind == gw.RETRY:
            status, extra = "retry", {"next_attempt_at": iso(now + timedelta(seconds=30))}
        elif err.kind == gw.PERMANENT:
            status, extra = "failed", {}
        else:
            status, extra = "unknown", {}
        with write(db):
            sets = ", ".join(f"{k} = ?" for k in extra)
            db.execute(f"UPDATE notifications SET status = ?, failed_reason = ?{', ' + sets if sets else ''} "
                       "WHERE id = ? AND status = 'sending'", [status, err.message, *extra.values(), row["id"]])
        return
    with write(db):
        db.execute("UPDATE notifications SET status = 'wired', provider_sid = ?, attempts = attempts + 1 "
                   "WHERE id = ? AND status IN ('sending', 'unknown')", [sid, row["id"]])


def on_status(db, notification_id: int, status: str, sid: str | None) -> None:
    """Forward only: a final status is never replaced."""
    final = SMS_FINAL.get(status)
    if final is None:
        return
    with write(db):
        db.execute("""UPDATE notifications SET status = ?, provider_sid = COALESCE(provider_sid, ?)
                      WHERE id = ? AND status NOT IN ('delivered', 'failed')""", [final, sid, notification_id])


def reconcile(db, gateway: gw.Gateway, older_than: datetime) -> None:
    for row in rows(db, "SELECT * FROM notifications WHERE status IN ('sending', 'unknown') AND claimed_at <= ?",
                    [iso(older_than)]):
        try:
            sid = gateway.find_sent("sms", row["to_e164"], datetime.fromisoformat(row["claimed_at"].replace("Z", "+00:00")),
                                    body=row["body"])
        except gw.SendError:
            continue
        with write(db):
            if sid:
                db.execute("UPDATE notifications SET status = 'wired', provider_sid = ? WHERE id = ?", [sid, row["id"]])
            else:
                db.execute("UPDATE notifications SET status = 'retry' WHERE id = ?", [row["id"]])


EVENT_NAMES = {"wedding": "婚宴", "funeral": "丧事", "birthday": "寿宴", "lantern": "开灯酒", "other": "聚集活动"}
DECISION_NAMES = {"cancel": "取消", "postpone": "推迟", "downsize": "缩小规模"}
REMINDER = "【{village}】{name}您好，提醒：您承诺{decision}原定{date}的{event}。感谢您支持防疫，如有变化请联系网格员。"


def queue_pledge_reminders(db, now: datetime, tz: str = "Asia/Shanghai") -> int:
    """Queue one reminder text per pledge whose original date is near (reach.pledges decides which).

    Marking the pledge reminded and queueing its text commit together, so a reminder is never sent
    twice and never lost. Returns how many were queued.
    """
    from zoneinfo import ZoneInfo

    from ..reach import pledges

    queued = 0
    for p in pledges.due_for_reminder(db, now.astimezone(ZoneInfo(tz)).date()):
        if not p["mobile"]:
            continue
        village = rows(db, "SELECT name FROM villages WHERE id = ?", [p["village_id"]])[0]["name"]
        body = REMINDER.format(village=village, name=p["resident_name"] or "", date=p["planned_date"],
                               decision=DECISION_NAMES.get(p["decision"], "取消"),
                               event=EVENT_NAMES.get(p["event_type"], "聚集活动"))
        with write(db):
            if pledges.mark_reminded(db, p["id"], now):
                db.execute("INSERT INTO notifications (village_id, to_e164, body) VALUES (?, ?, ?)",
                           [p["village_id"], p["mobile"], body])
                queued += 1
    return queued
