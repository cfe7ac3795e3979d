"""Campaigns: who to reach (audience), how (channel, retries, window, throttle), and their progress.

Campaign states::

    draft ──start──▶ running ──(nothing left)──▶ done
                      │  ▲
                pause ▼  │ resume
                     paused          running/paused ──cancel──▶ cancelled
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime

from schedules.quiet_hours import parse_window

from ..db import one, rows, scalar, write
from ..errors import N_, UserError
from ..registry.residents import NO_PHONE
from ..registry.search import people_filters
from . import outbox

DRAFT = "draft"          # being set up; nothing planned
RUNNING = "running"      # the dispatcher sends its due rows
PAUSED = "paused"        # nothing is claimed until resumed
CANCELLED = "cancelled"  # unsent rows are closed; sent ones keep their outcome
DONE = "done"            # every row reached a final state
CHANNELS = ("voice", "sms", "voice_then_sms")

SKIP_NO_PHONE = "no_phone"          # no number, or tagged "no working phone": door-knock instead
SKIP_DO_NOT_CALL = "do_not_call"    # every number is on the village's do-not-call list
SKIP_OPTED_OUT = "opted_out"        # texted STOP (SMS only)
SKIP_LANDLINE_ONLY = "landline_only"  # cannot receive SMS


@dataclass
class Audience:
    """Who a campaign targets, saved with the campaign as JSON."""
    village_id: int
    grid_id: int | None = None
    household_id: int | None = None
    min_age: int | None = None
    tags: list[str] = field(default_factory=list)
    language: str = ""
    not_acknowledged_notice: int | None = None
    unreached_in_campaign: int | None = None
    resident_ids: list[int] | None = None  # an explicit list (e.g. "resend to the unreached")

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Audience":
        return cls(**json.loads(text))


def resident_ids(db, a: Audience) -> list[int]:
    """Residents matching the audience (reads only)."""
    where, params = people_filters(grid_id=a.grid_id, min_age=a.min_age, tags=a.tags, language=a.language)
    where.insert(0, "r.village_id = ?")
    params.insert(0, a.village_id)
    if a.household_id:
        where.append("r.household_id = ?")
        params.append(a.household_id)
    if a.not_acknowledged_notice:
        where.append("""NOT EXISTS (SELECT 1 FROM responses x WHERE x.resident_id = r.id AND x.notice_id = ?
                        AND x.kind IN ('ack', 'pledge'))""")
        params.append(a.not_acknowledged_notice)
    if a.unreached_in_campaign:
        where.append("""r.id IN (SELECT resident_id FROM outbox WHERE campaign_id = ?)
                        AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.resident_id = r.id AND o.campaign_id = ?
                                        AND o.status = 'done')""")
        params += [a.unreached_in_campaign, a.unreached_in_campaign]
    if a.resident_ids is not None:
        where.append(f"r.id IN ({','.join('?' * len(a.resident_ids)) or 'NULL'})")
        params += a.resident_ids
    return [r[0] for r in db.execute(f"SELECT r.id FROM residents r WHERE {' AND '.join(where)} ORDER BY r.id",
                                     params).fetchall()]


@dataclass
class Selection:
    targets: list[tuple[int, str, str]]  # (resident_id, channel, number)
    skipped: Counter
    total: int


_UNKNOWN_CHANNEL = N_("unknown channel %(channel)r")


def select_targets(db, a: Audience, channel: str) -> Selection:
    """Pick one number per resident for the channel; count who is skipped and why."""
    if channel not in CHANNELS:
        raise UserError(_UNKNOWN_CHANNEL, channel=channel)
    ids = resident_ids(db, a)
    wanted = set(ids)
    phones: dict[int, list[tuple[str, str]]] = {}
    cursor = db.conn.cursor()
    cursor.row_factory = None  # plain tuples: this reads every phone of the village
    for rid, e164, kind in cursor.execute("SELECT resident_id, e164, kind FROM resident_phones WHERE village_id = ? "
                                          "ORDER BY resident_id, position", [a.village_id]):
        if rid in wanted:
            phones.setdefault(rid, []).append((e164, kind))
    no_phone = {r[0] for r in cursor.execute("SELECT resident_id FROM resident_tags WHERE tag = ?", [NO_PHONE])}
    dnc = {r[0] for r in cursor.execute("SELECT e164 FROM do_not_call WHERE village_id = ?", [a.village_id])}
    opted = {r[0] for r in cursor.execute("SELECT e164 FROM opt_outs")}
    sms = channel == "sms"
    targets, skipped = [], Counter()
    for rid in ids:
        numbers = phones.get(rid)
        if not numbers or rid in no_phone:
            skipped[SKIP_NO_PHONE] += 1
            continue
        if len(numbers) == 1 and numbers[0][0] not in dnc and (not sms or numbers[0][1] == "mobile"
                                                               and numbers[0][0] not in opted):
            targets.append((rid, "sms" if sms else "voice", numbers[0][0]))  # the common case: one good number
            continue
        callable_ = [(e, k) for e, k in numbers if e not in dnc]
        if not callable_:
            skipped[SKIP_DO_NOT_CALL] += 1
            continue
        if sms:
            mobiles = [e for e, k in callable_ if k == "mobile"]
            if not mobiles:
                skipped[SKIP_LANDLINE_ONLY] += 1
                continue
            usable = [e for e in mobiles if e not in opted]
            if not usable:
                skipped[SKIP_OPTED_OUT] += 1
                continue
            targets.append((rid, "sms", usable[0]))
        else:
            targets.append((rid, "voice", callable_[0][0]))
    return Selection(targets, skipped, len(ids))


def create(db, *, village_id: int, notice_id: int, name: str, channel: str, audience: Audience,
           max_attempts: int = 3, retry_waits: dict | None = None, retry_until_ack: bool = False,
           window: str = "08:00-20:30", expires_at: datetime | None = None, throttle_per_s: float = 1.0,
           machine_detection: bool = True, machine_behaviour: str = "leave_message", kind: str = "notice",
           user_id: int | None = None, fire_id: int | None = None) -> int:
    """Validate and store a draft campaign; commits. ValueError names the problem."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise UserError(N_("name is required (at most %(max)s characters)"), max=100)
    if channel not in CHANNELS:
        raise UserError(_UNKNOWN_CHANNEL, channel=channel)
    if not 1 <= int(max_attempts) <= 10:
        raise UserError(N_("attempts must be between 1 and 10"))
    if not 0.05 <= float(throttle_per_s) <= 1000:  # a Messaging Service with many numbers goes far above 1/s
        raise UserError(N_("throttle must be between 0.05 and 1000 per second"))
    if machine_behaviour not in ("leave_message", "hangup_retry"):
        raise UserError(N_("unknown answering-machine behaviour"))
    start, end = (f"{m // 60:02d}:{m % 60:02d}" for m in parse_window(window))  # minutes of the day
    for key, wait in (retry_waits or {}).items():
        if not isinstance(wait, int) or not 0 <= wait <= 86400:
            raise UserError(N_("wait after %(outcome)s must be 0–86400 seconds"), outcome=key)
    if audience.village_id != village_id:
        raise UserError(N_("audience is for another village"))
    with write(db):
        owner = scalar(db, "SELECT village_id FROM notices WHERE id = ?", [notice_id])
        if owner != village_id:
            raise UserError(N_("the notice belongs to another village"))
        return db.execute("""INSERT INTO campaigns (village_id, notice_id, name, kind, channel, audience, max_attempts,
                             retry_waits, retry_until_ack, window_start, window_end, expires_at, throttle_per_s,
                             machine_detection, machine_behaviour, created_by, fire_id)
                             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                          [village_id, notice_id, name, kind, channel, audience.to_json(), int(max_attempts),
                           json.dumps(retry_waits or {}), int(retry_until_ack), start, end, outbox.iso(expires_at) if expires_at else None,
                           float(throttle_per_s), int(machine_detection), machine_behaviour, user_id,
                           fire_id]).lastrowid


def start(db, campaign_id: int, now: datetime) -> Selection:
    """Plan the outbox rows and set the campaign running, in one transaction."""
    camp = get(db, campaign_id)
    if camp is None or camp["status"] != DRAFT:
        raise UserError(N_("only a draft campaign can be started"))
    selection = select_targets(db, Audience.from_json(camp["audience"]), camp["channel"])
    with write(db):
        outbox.plan(db, campaign_id, camp["village_id"], selection.targets, now)
        db.execute("UPDATE campaigns SET status = 'running', started_at = ? WHERE id = ?", [outbox.iso(now), campaign_id])
    return selection


def set_status(db, campaign_id: int, new: str) -> None:
    allowed = {PAUSED: (RUNNING,), RUNNING: (PAUSED,), CANCELLED: (RUNNING, PAUSED, DRAFT)}
    with write(db):
        current = scalar(db, "SELECT status FROM campaigns WHERE id = ?", [campaign_id])
        if current not in allowed.get(new, ()):
            raise ValueError(f"cannot go from {current} to {new}")
        db.execute("UPDATE campaigns SET status = ? WHERE id = ?", [new, campaign_id])
        if new == CANCELLED:
            db.execute("UPDATE outbox SET status = 'cancelled' WHERE campaign_id = ? AND status IN ('pending', 'retry')",
                       [campaign_id])


def get(db, campaign_id: int) -> dict | None:
    return one(db, """SELECT c.*, n.title AS notice_title, v.name AS village_name FROM campaigns c
                      JOIN notices n ON n.id = c.notice_id JOIN villages v ON v.id = c.village_id WHERE c.id = ?""",
               [campaign_id])


def progress(db, campaign_id: int) -> dict:
    """Counts by outbox status and outcome, acknowledgements and pledges (for the live view)."""
    by_status = dict(db.execute("SELECT status, COUNT(*) FROM outbox WHERE campaign_id = ? GROUP BY status",
                                [campaign_id]).fetchall())
    by_outcome = dict(db.execute("SELECT COALESCE(outcome, status), COUNT(*) FROM outbox WHERE campaign_id = ? "
                                 "AND status IN ('done', 'failed', 'retry') GROUP BY 1", [campaign_id]).fetchall())
    acks = scalar(db, "SELECT COUNT(DISTINCT resident_id) FROM responses WHERE campaign_id = ? AND kind = 'ack'",
                  [campaign_id])
    pledges = scalar(db, "SELECT COUNT(*) FROM pledges WHERE campaign_id = ?", [campaign_id])
    heard = scalar(db, "SELECT COUNT(DISTINCT resident_id) FROM outbox WHERE campaign_id = ? AND heard_full = 1",
                   [campaign_id])
    total = sum(by_status.values())
    return {"total": total, "by_status": by_status, "by_outcome": by_outcome, "acknowledged": acks,
            "pledges": pledges, "heard_full": heard,
            "status": scalar(db, "SELECT status FROM campaigns WHERE id = ?", [campaign_id])}


def people(db, campaign_id: int, limit: int = 500) -> list[dict]:
    """Each person's outcome in the campaign, newest activity first."""
    return rows(db, """SELECT o.id, o.resident_id, r.name, o.channel, o.to_e164, o.status, o.outcome, o.attempts,
                              o.heard_full, o.failed_reason, o.updated_at,
                              (SELECT group_concat(kind, ',') FROM responses x WHERE x.resident_id = o.resident_id
                               AND x.campaign_id = o.campaign_id) AS responses
                       FROM outbox o JOIN residents r ON r.id = o.resident_id WHERE o.campaign_id = ?
                       ORDER BY o.updated_at DESC LIMIT ?""", [campaign_id, limit])
