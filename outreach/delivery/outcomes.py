"""What a provider status means for the person: retry, SMS fallback, done or failed.

Called from the status-callback webhook and from reconciliation, so one policy decides both.
Each function commits its own short transactions.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from ..db import one, scalar, write
from . import outbox

DEFAULT_WAITS = {"busy": 600, "no-answer": 1800, "failed": 3600, "canceled": 1800, "machine": 1800}
MACHINE = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax")


POLICY_FIELDS = ("id", "village_id", "notice_id", "kind", "channel", "max_attempts", "retry_waits", "retry_until_ack",
                 "machine_behaviour", "machine_detection")


def campaign(db, campaign_id: int) -> dict:
    """A campaign's sending policy (what every final status needs to decide the next step)."""
    row = one(db, f"SELECT {', '.join(POLICY_FIELDS)} FROM campaigns WHERE id = ?", [campaign_id])
    row["waits"] = {**DEFAULT_WAITS, **json.loads(row["retry_waits"] or "{}")}
    return row


def acknowledged(db, campaign: dict, resident_id: int) -> bool:
    return bool(scalar(db, """SELECT 1 FROM responses WHERE resident_id = ? AND kind IN ('ack', 'pledge', 'health_ok')
                              AND (campaign_id = ? OR notice_id = ?) LIMIT 1""",
                       [resident_id, campaign["id"], campaign["notice_id"]]))


def sms_fallback(db, camp: dict, resident_id: int, now: datetime) -> bool:
    """Queue the SMS of a voice-then-SMS campaign for this resident (once). Returns whether queued."""
    if camp["channel"] != "voice_then_sms":
        return False
    mobile = scalar(db, """SELECT e164 FROM resident_phones WHERE resident_id = ? AND kind = 'mobile'
                           AND e164 NOT IN (SELECT e164 FROM opt_outs) ORDER BY position LIMIT 1""", [resident_id])
    if not mobile:
        return False
    return outbox.plan(db, camp["id"], camp["village_id"], [(resident_id, "sms", mobile)], now) > 0


def settle(db, attempt_id: int, now: datetime, a: dict | None = None) -> None:
    """Apply the campaign's policy once an attempt has reached a final provider status."""
    a = a or outbox.attempt(db, attempt_id)
    if a is None or a["outbox_status"] in outbox.FINAL or a["number"] < a["outbox_attempts"]:
        return  # finished already, or news about an attempt that a later one has replaced
    if a["outbox_status"] in outbox.IN_FLIGHT and a["provider_sid"]:
        outbox.mark_wired(db, a["outbox_id"], attempt_id, a["provider_sid"], now)  # callback beat the response
    camp = campaign(db, a["campaign_id"])
    attempts_used = a["number"]
    left = attempts_used < camp["max_attempts"]
    status = a["status"]
    if a["channel"] == "sms":
        if status in ("delivered", "read"):
            outbox.mark_done(db, a["outbox_id"], "delivered")
        elif status == "sent":
            return  # carriers that never report delivery: sent is the last word until one arrives
        else:
            outbox.mark_failed(db, a["outbox_id"], f"SMS {status}", a["error_code"], outcome=status)
        return
    if status == "completed":
        machine = (a["answered_by"] or "") in MACHINE
        if machine:
            if camp["machine_behaviour"] == "hangup_retry" and left:
                _retry(db, a, camp["waits"]["machine"], "machine", now)
            else:
                outbox.mark_done(db, a["outbox_id"], "machine", heard_full=bool(a["heard_full"]))
                sms_fallback(db, camp, a["resident_id"], now)
            return
        if camp["retry_until_ack"] and left and not acknowledged(db, camp, a["resident_id"]):
            _retry(db, a, camp["waits"]["no-answer"], "answered, not acknowledged", now)
            return
        outbox.mark_done(db, a["outbox_id"], "answered", heard_full=bool(a["heard_full"]))
        return
    if left:
        _retry(db, a, camp["waits"].get(status, 1800), status, now)
    else:
        outbox.mark_failed(db, a["outbox_id"], f"all {attempts_used} attempts failed (last: {status})",
                           a["error_code"], outcome=status)
        sms_fallback(db, camp, a["resident_id"], now)
        if camp["kind"] == "health_check":
            from .alerts import HEALTH_NO_ANSWER, raise_alert

            raise_alert(db, a["resident_id"], HEALTH_NO_ANSWER, camp["id"])


def _retry(db, a: dict, wait_s: int, reason: str, now: datetime) -> None:
    with write(db):
        db.execute("""UPDATE outbox SET status = 'retry', attempts = ?, next_attempt_at = ?, outcome = ?,
                      failed_reason = ?, updated_at = ? WHERE id = ? AND status IN ('wired', 'sending', 'unknown')""",
                   [a["number"], outbox.iso(now + timedelta(seconds=wait_s)), reason, reason, outbox.iso(now),
                    a["outbox_id"]])


def on_status(db, attempt_id: int, status: str, sid: str | None, *, answered_by: str | None = None,
              duration_s: int | None = None, error_code: int | None = None, now: datetime | None = None) -> bool:
    """A provider status for one attempt (webhook or lookup). Returns False for stale/duplicate news."""
    now = now or outbox.now_utc()
    with write(db):  # read and write under one lock: callbacks for one call arrive concurrently
        a = outbox.attempt(db, attempt_id)
        if a is None:
            return False
        rank = outbox.CALL_RANK if a["channel"] == "voice" else outbox.SMS_RANK
        new = rank.get(status)
        # Statuses only move forward; finals share one rank, so one final never replaces another.
        moved = new is not None and new > rank.get(a["status"], 0)
        if moved or (sid and not a["provider_sid"]):
            db.execute("""UPDATE attempts SET status = CASE WHEN ? THEN ? ELSE status END,
                          provider_sid = COALESCE(provider_sid, ?), answered_by = COALESCE(?, answered_by),
                          duration_s = COALESCE(?, duration_s), error_code = COALESCE(?, error_code), updated_at = ?
                          WHERE id = ?""", [int(moved), status, sid, answered_by, duration_s, error_code,
                                            outbox.iso(now), attempt_id])
        if sid and a["outbox_status"] in outbox.IN_FLIGHT and a["number"] == a["outbox_attempts"] + 1:
            outbox.mark_wired(db, a["outbox_id"], attempt_id, sid, now)
            a = dict(a, outbox_status=outbox.WIRED, outbox_attempts=a["number"])
        if moved and new >= outbox.FINAL_RANK:
            a = dict(a, status=status, provider_sid=a["provider_sid"] or sid,
                     answered_by=answered_by or a["answered_by"], error_code=error_code or a["error_code"])
            settle(db, attempt_id, now, a)
    return moved


def mark_heard(db, attempt_id: int) -> None:
    """The call reached the end of the notice audio: it was heard in full."""
    with write(db):
        db.execute("UPDATE attempts SET heard_full = 1 WHERE id = ?", [attempt_id])
        db.execute("UPDATE outbox SET heard_full = 1 WHERE id = (SELECT outbox_id FROM attempts WHERE id = ?)",
                   [attempt_id])
