"""Sending the carers' texts queued by :mod:`alerts` — same intent-first discipline as the outbox."""
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
