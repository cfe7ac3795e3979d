"""What residents say back: acknowledgements, pledges, call-back requests, opt-outs, free text.

Every write is idempotent through a ``dedupe_key`` built from provider ids, so a webhook that
arrives twice records one response. Each function commits.
"""
from __future__ import annotations

import re

from ..db import one, scalar, write
from ..errors import N_, UserError

ACK = "ack"                  # heard it and confirms (key 1, reply 1/收到)
PLEDGE = "pledge"            # pledges to cancel/postpone/downsize a gathering (key 2, reply 2/取消)
REPEAT = "repeat"            # asked to hear it again (key 9)
CALLBACK = "callback"        # asked to be called back by a person (key 0)
OPT_OUT = "opt_out"          # STOP/退订/TD: no more texts
OPT_IN = "opt_in"            # START: texts again
OTHER = "other"              # anything else: goes to the village inbox
HEALTH_OK = "health_ok"      # daily check-in: temperature normal
HEALTH_HELP = "health_help"  # daily check-in: needs help → care team alerted

EVENT_TYPES = ("wedding", "funeral", "birthday", "lantern", "other")
DECISIONS = ("cancel", "postpone", "downsize")

_ACK_WORDS = {"1", "收到", "确认", "好", "好的", "ok", "知道了", "已收到", "y", "yes"}
_PLEDGE_WORDS = {"2", "取消", "承诺", "不办了", "不办"}
_STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "退订", "td", "t"}
_START_WORDS = {"start", "unstop", "yes订阅", "订阅"}


def classify_sms(body: str) -> str:
    """The meaning of a text reply (first word, case and punctuation ignored)."""
    text = re.sub(r"[\s。.!！,，、~～]+$", "", (body or "").strip()).lower()
    text = text.translate(str.maketrans("１２０９", "1209"))
    if text in _STOP_WORDS:
        return OPT_OUT
    if text in _START_WORDS:
        return OPT_IN
    if text in _ACK_WORDS:
        return ACK
    if text in _PLEDGE_WORDS or text.startswith("2 ") or text.startswith("取消"):
        return PLEDGE
    return OTHER


def record_response(db, *, village_id: int, kind: str, channel: str, dedupe_key: str, resident_id: int | None = None,
                    campaign_id: int | None = None, notice_id: int | None = None, attempt_id: int | None = None,
                    raw: str = "", from_e164: str | None = None) -> bool:
    """Insert one response; False when this dedupe_key was seen before."""
    with write(db):
        return db.execute("""INSERT OR IGNORE INTO responses (village_id, resident_id, campaign_id, notice_id, attempt_id,
                             channel, kind, raw, from_e164, dedupe_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                          [village_id, resident_id, campaign_id, notice_id, attempt_id, channel, kind, raw[:500],
                           from_e164, dedupe_key]).rowcount == 1


def record_pledge(db, *, village_id: int, channel: str, dedupe_key: str | None, resident_id: int | None = None,
                  event_type: str = "other", planned_date: str | None = None, guests: int | None = None,
                  decision: str = "cancel", new_date: str | None = None, notice_id: int | None = None,
                  campaign_id: int | None = None, recorded_by: int | None = None,
                  status: str = "recorded") -> int:
    """Insert a pledge (or return the existing one for this dedupe_key). ValueError for bad values."""
    if event_type not in EVENT_TYPES:
        raise UserError(N_("unknown event type %(value)r"), value=event_type)
    if decision not in DECISIONS:
        raise UserError(N_("unknown decision %(value)r"), value=decision)
    if guests is not None and not 0 <= guests <= 5000:
        raise UserError(N_("guests must be between 0 and 5000"))
    with write(db):
        if dedupe_key:
            existing = scalar(db, "SELECT id FROM pledges WHERE dedupe_key = ?", [dedupe_key])
            if existing:
                return existing
        household = scalar(db, "SELECT household_id FROM residents WHERE id = ?", [resident_id]) if resident_id else None
        return db.execute("""INSERT INTO pledges (village_id, resident_id, household_id, notice_id, campaign_id, event_type,
                             planned_date, guests, decision, new_date, channel, status, recorded_by, dedupe_key)
                             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                          [village_id, resident_id, household, notice_id, campaign_id, event_type, planned_date, guests,
                           decision, new_date, channel, status, recorded_by, dedupe_key]).lastrowid


def update_pledge(db, pledge_id: int, **fields) -> None:
    allowed = {"event_type", "planned_date", "guests", "decision", "new_date", "status"}
    if not set(fields) <= allowed:
        raise ValueError(f"cannot change {sorted(set(fields) - allowed)}")
    if fields.get("event_type", "other") not in EVENT_TYPES:
        raise UserError(N_("unknown event type %(value)r"), value=fields["event_type"])
    with write(db):
        sets = ", ".join(f"{k} = ?" for k in fields)
        db.execute(f"UPDATE pledges SET {sets}, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?",
                   [*fields.values(), pledge_id])


def opt_out(db, e164: str, source: str) -> None:
    with write(db):
        db.execute("INSERT OR IGNORE INTO opt_outs (e164, source) VALUES (?, ?)", [e164, source])


def opt_in(db, e164: str) -> None:
    with write(db):
        db.execute("DELETE FROM opt_outs WHERE e164 = ?", [e164])


def resident_by_phone(db, e164: str, village_id: int | None = None) -> dict | None:
    """The resident who owns this number (their own village first when the number repeats)."""
    return one(db, """SELECT r.id, r.village_id, r.name, r.language, r.household_id FROM resident_phones p
                      JOIN residents r ON r.id = p.resident_id WHERE p.e164 = ?
                      ORDER BY (r.village_id = ?) DESC, p.id LIMIT 1""", [e164, village_id or 0])


def latest_contact(db, resident_id: int) -> dict | None:
    """The most recent campaign that reached this resident: what a bare "1" is replying to."""
    return one(db, """SELECT o.campaign_id, c.notice_id FROM outbox o JOIN campaigns c ON c.id = o.campaign_id
                      WHERE o.resident_id = ? AND o.status IN ('wired', 'done', 'retry', 'failed')
                      ORDER BY o.updated_at DESC LIMIT 1""", [resident_id])


def to_inbox(db, *, village_id: int | None, resident_id: int | None, from_e164: str, body: str, sid: str) -> None:
    with write(db):
        db.execute("INSERT OR IGNORE INTO inbox (village_id, resident_id, from_e164, body, provider_sid) "
                   "VALUES (?, ?, ?, ?, ?)", [village_id, resident_id, from_e164, body[:1000], sid])
