"""Schedules in the database: create with validation, edit (future fires only), pause, resume, cancel;
village quiet hours and loudspeaker endpoints. No Flask: the worker and the web share it.

Schedule states::

    active ──pause──▶ paused ──resume──▶ active
      │                 │
      └──cancel──┬──────┘            active ──(last fire decided)──▶ finished
                 ▼
             cancelled   (future planned fires are cancelled; past fires keep their outcome)

Every change to a schedule leaves its past alone: fires with ``fire_at`` before *now* keep their
row and outcome, planned future fires are deleted and planned again from the new rule.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from outreach import audit
from outreach.db import one, rows, scalar, write
from outreach.errors import N_, UserError

from .catchup import CAMPAIGN_GRACE, LOUDSPEAKER_GRACE
from .outputs import KINDS as OUTPUT_KINDS, validate_config
from .quiet_hours import QuietHours
from .recurrence import Rule, next_fire_after, require_aware

ACTIVE = "active"  # fires are planned and executed
PAUSED = "paused"  # fires stay planned but are skipped when due
CANCELLED = "cancelled"  # nothing more happens; the history stays
FINISHED = "finished"  # the rule has no fire left; set by the planner
BROADCAST, CAMPAIGN = "broadcast", "campaign"
KINDS = (BROADCAST, CAMPAIGN)
MAX_LOOPS = 10
MAX_NAME = 100
MIN_REASON = 4  # characters: "紧急通知" is enough, "x" is not
CAMPAIGN_CHANNELS = ("voice", "sms", "voice_then_sms")
CAMPAIGN_KINDS = ("notice", "health_check")
_ACTIONS = {"pause": ((ACTIVE,), PAUSED), "resume": ((PAUSED,), ACTIVE),
            "cancel": ((ACTIVE, PAUSED), CANCELLED)}


class ScheduleInPast(ValueError):
    """Every fire of the rule is already in the past: nothing would ever happen."""


def iso(moment: datetime) -> str:
    """UTC with milliseconds and a Z: sorts as text, and is the fire key (same text, same fire)."""
    moment = require_aware(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def default_grace_s(kind: str) -> int:
    return int((LOUDSPEAKER_GRACE if kind == BROADCAST else CAMPAIGN_GRACE).total_seconds())


# ---- validation ---------------------------------------------------------------------------------

def check_campaign_options(options: dict | None, village_id: int) -> dict:
    """The options a scheduled campaign is created with (campaigns.create's arguments), normalised."""
    opts = dict(options or {})
    unknown = set(opts) - {"channel", "audience", "max_attempts", "retry_waits", "retry_until_ack", "window",
                           "throttle_per_s", "kind", "machine_behaviour"}
    if unknown:
        raise ValueError(f"unknown campaign option(s): {', '.join(sorted(unknown))}")
    opts.setdefault("channel", "voice")
    opts.setdefault("kind", "notice")
    if opts["channel"] not in CAMPAIGN_CHANNELS:
        raise ValueError(f"unknown channel {opts['channel']!r}")
    if opts["kind"] not in CAMPAIGN_KINDS:
        raise ValueError(f"unknown campaign kind {opts['kind']!r}")
    audience = dict(opts.get("audience") or {})
    audience["village_id"] = village_id  # always this village, whatever the form said
    if opts["kind"] == "health_check" and not audience.get("tags") and not audience.get("resident_ids"):
        raise UserError(N_("a health check-in needs an audience, e.g. residents tagged home_monitoring"))
    opts["audience"] = audience
    return opts


def _clean(kind: str, name: str, loops: int, grace_s) -> tuple[str, int, int]:
    if kind not in KINDS:
        raise ValueError(f"unknown schedule kind {kind!r}")
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise UserError(N_("a schedule needs a name of at most %(max)s characters"), max=MAX_NAME)
    if isinstance(loops, bool) or not isinstance(loops, int) or not 1 <= loops <= MAX_LOOPS:
        raise UserError(N_("loops must be between 1 and %(max)s"), max=MAX_LOOPS)
    grace = default_grace_s(kind) if grace_s is None else grace_s
    if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= 24 * 3600:
        raise ValueError("grace must be between 0 and 86400 seconds")
    return name, loops, grace


def _check_refs(db, village_id: int, kind: str, notice_id: int, loudspeaker_id: int | None) -> None:
    if scalar(db, "SELECT village_id FROM notices WHERE id = ?", [notice_id]) != village_id:
        raise ValueError("the notice belongs to another village")
    if kind == BROADCAST and loudspeaker_id is not None:
        found = one(db, "SELECT village_id, active FROM loudspeakers WHERE id = ?", [loudspeaker_id])
        if found is None or found["village_id"] != village_id:
            raise ValueError("the loudspeaker belongs to another village")
    if kind == BROADCAST and loudspeaker_id is None and not scalar(
            db, "SELECT COUNT(*) FROM loudspeakers WHERE village_id = ? AND active = 1", [village_id]):
        raise UserError(N_("this village has no loudspeaker yet: add one first"))


def village_rule(db, village_id: int, rule: Rule) -> Rule:
    """The rule in the village's own time zone (fire times are wall-clock times of the village)."""
    tz = scalar(db, "SELECT timezone FROM villages WHERE id = ?", [village_id])
    if tz is None:
        raise ValueError("no such village")
    data = rule.to_dict()
    data["timezone"] = tz
    return Rule.from_json(data)


def first_fire(rule: Rule, now: datetime) -> datetime:
    """The first fire at or after ``now``; ScheduleInPast when there is none."""
    first = next_fire_after(rule, require_aware(now) - timedelta(microseconds=1))
    if first is None:
        raise ScheduleInPast("every time of this schedule is already in the past")
    return first


def _check_override(override_quiet: bool, reason: str) -> str:
    reason = (reason or "").strip()
    if override_quiet and len(reason) < MIN_REASON:
        raise UserError(N_("an emergency override of quiet hours needs a reason"))
    return reason if override_quiet else ""


# ---- schedules ----------------------------------------------------------------------------------

def create(db, *, village_id: int, kind: str, name: str, notice_id: int, rule: Rule, now: datetime,
           loudspeaker_id: int | None = None, loops: int = 1, campaign_options: dict | None = None,
           grace_s: int | None = None, override_quiet: bool = False, override_reason: str = "",
           user: dict | None = None) -> int:
    """Store an active schedule; fires are planned by the planner from ``now`` on. Commits."""
    name, loops, grace = _clean(kind, name, loops, grace_s)
    rule = village_rule(db, village_id, rule)
    first_fire(rule, now)
    reason = _check_override(override_quiet, override_reason)
    options = check_campaign_options(campaign_options, village_id) if kind == CAMPAIGN else {}
    with write(db):
        _check_refs(db, village_id, kind, notice_id, loudspeaker_id)
        schedule_id = db.execute(
            """INSERT INTO schedules (village_id, kind, name, notice_id, loudspeaker_id, loops, campaign_options,
               rule, grace_s, override_quiet, override_reason, planned_until, created_by, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [village_id, kind, name, notice_id, loudspeaker_id if kind == BROADCAST else None, loops,
             json.dumps(options, ensure_ascii=False), rule.to_json(), grace, int(override_quiet), reason,
             iso(now), user["id"] if user else None, iso(now), iso(now)]).lastrowid
        audit.record(db, "schedule_created", user=user, object_type="schedule", object_id=schedule_id,
                     village_id=village_id, kind=kind, rule=rule.to_dict())
        if override_quiet:
            audit.record(db, "quiet_hours_override", user=user, object_type="schedule", object_id=schedule_id,
                         village_id=village_id, reason=reason)
    return schedule_id


def update(db, schedule_id: int, *, now: datetime, name: str, notice_id: int, rule: Rule,
           loudspeaker_id: int | None = None, loops: int = 1, campaign_options: dict | None = None,
           grace_s: int | None = None, override_quiet: bool = False, override_reason: str = "",
           user: dict | None = None) -> None:
    """Change a schedule from ``now`` on: past fires keep their outcome, future fires are replanned."""
    old = get(db, schedule_id)
    if old is None:
        raise ValueError("no such schedule")
    if old["status"] in (CANCELLED, FINISHED):
        raise ValueError(f"a {old['status']} schedule cannot be edited")
    name, loops, grace = _clean(old["kind"], name, loops, grace_s)
    rule = village_rule(db, old["village_id"], rule)
    first_fire(rule, now)
    reason = _check_override(override_quiet, override_reason)
    options = check_campaign_options(campaign_options, old["village_id"]) if old["kind"] == CAMPAIGN else {}
    with write(db):
        _check_refs(db, old["village_id"], old["kind"], notice_id, loudspeaker_id)
        forget_future(db, schedule_id, now)
        db.execute("""UPDATE schedules SET name = ?, notice_id = ?, loudspeaker_id = ?, loops = ?, campaign_options = ?,
                      rule = ?, grace_s = ?, override_quiet = ?, override_reason = ?, planned_until = ?, updated_at = ?
                      WHERE id = ?""",
                   [name, notice_id, loudspeaker_id if old["kind"] == BROADCAST else None, loops,
                    json.dumps(options, ensure_ascii=False), rule.to_json(), grace, int(override_quiet), reason,
                    iso(now), iso(now), schedule_id])
        audit.record(db, "schedule_edited", user=user, object_type="schedule", object_id=schedule_id,
                     village_id=old["village_id"], rule=rule.to_dict())
        if override_quiet and not (old["override_quiet"] and old["override_reason"] == reason):
            audit.record(db, "quiet_hours_override", user=user, object_type="schedule", object_id=schedule_id,
                         village_id=old["village_id"], reason=reason)


def forget_future(db, schedule_id: int, now: datetime) -> int:
    """Delete planned fires at or after ``now`` (and plays made early for them that nobody confirmed)."""
    with write(db):
        future = "SELECT id FROM fires WHERE schedule_id = ? AND status = 'planned' AND fire_at >= ?"
        params = [schedule_id, iso(now)]
        kept = {r["fire_id"] for r in rows(db, f"""SELECT fire_id FROM plays WHERE fire_id IN ({future})
                                                   AND status NOT IN ('intent')""", params)}
        db.execute(f"DELETE FROM plays WHERE status = 'intent' AND fire_id IN ({future})", params)
        ids = [r["id"] for r in rows(db, future, params) if r["id"] not in kept]
        db.execute(f"DELETE FROM fires WHERE id IN ({','.join('?' * len(ids)) or 'NULL'})", ids)
        return len(ids)


def set_status(db, schedule_id: int, action: str, *, now: datetime, user: dict | None = None) -> str:
    """pause / resume / cancel; returns the new status. ValueError when not allowed from the current one."""
    if action not in _ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    allowed, new = _ACTIONS[action]
    with write(db):
        current = one(db, "SELECT status, village_id FROM schedules WHERE id = ?", [schedule_id])
        if current is None:
            raise ValueError("no such schedule")
        if current["status"] not in allowed:
            raise ValueError(f"cannot {action} a {current['status']} schedule")
        db.execute("UPDATE schedules SET status = ?, updated_at = ? WHERE id = ?", [new, iso(now), schedule_id])
        if new == CANCELLED:
            db.execute("""UPDATE plays SET status = 'missed', error = 'schedule cancelled' WHERE status = 'intent'
                          AND fire_id IN (SELECT id FROM fires WHERE schedule_id = ? AND status = 'planned')""",
                       [schedule_id])
            db.execute("""UPDATE fires SET status = 'cancelled', decided_at = ?, note = 'schedule cancelled'
                          WHERE schedule_id = ? AND status = 'planned'""", [iso(now), schedule_id])
        audit.record(db, f"schedule_{action}d" if action != "cancel" else "schedule_cancelled", user=user,
                     object_type="schedule", object_id=schedule_id, village_id=current["village_id"])
    return new


def get(db, schedule_id: int) -> dict | None:
    found = one(db, """SELECT s.*, n.title AS notice_title, v.name AS village_name, v.timezone,
                       l.name AS loudspeaker_name, l.kind AS loudspeaker_kind
                       FROM schedules s JOIN notices n ON n.id = s.notice_id JOIN villages v ON v.id = s.village_id
                       LEFT JOIN loudspeakers l ON l.id = s.loudspeaker_id WHERE s.id = ?""", [schedule_id])
    if found is not None:
        found["rule_obj"] = Rule.from_json(found["rule"])
        found["options"] = json.loads(found["campaign_options"] or "{}")
    return found


def for_villages(db, village_ids: list[int] | None) -> list[dict]:
    where = "" if village_ids is None else f"WHERE s.village_id IN ({','.join('?' * len(village_ids)) or 'NULL'})"
    found = rows(db, f"""SELECT s.*, n.title AS notice_title, v.name AS village_name, v.timezone,
                         l.name AS loudspeaker_name FROM schedules s JOIN notices n ON n.id = s.notice_id
                         JOIN villages v ON v.id = s.village_id LEFT JOIN loudspeakers l ON l.id = s.loudspeaker_id
                         {where} ORDER BY s.status = 'active' DESC, s.id DESC""", village_ids or [])
    for s in found:
        s["rule_obj"] = Rule.from_json(s["rule"])
    return found


# ---- village settings -----------------------------------------------------------------------------

def quiet_hours(db, village_id: int) -> QuietHours:
    village = one(db, "SELECT quiet_hours, timezone FROM villages WHERE id = ?", [village_id])
    if village is None:
        raise ValueError("no such village")
    return QuietHours(json.loads(village["quiet_hours"] or "[]"), village["timezone"])


def set_quiet_hours(db, village_id: int, windows: list[str], *, now: datetime, user: dict | None = None) -> list[str]:
    """Validate and store the village's quiet hours; planned fires get their due time again. Returns them."""
    tz = scalar(db, "SELECT timezone FROM villages WHERE id = ?", [village_id])
    if tz is None:
        raise ValueError("no such village")
    quiet = QuietHours([w for w in windows if w.strip()], tz)
    with write(db):
        db.execute("UPDATE villages SET quiet_hours = ? WHERE id = ?", [json.dumps(quiet.windows), village_id])
        # Planned fires move with the new windows (those of schedules with an override stay on time).
        for fire in rows(db, """SELECT f.id, f.fire_at FROM fires f JOIN schedules s ON s.id = f.schedule_id
                                WHERE f.village_id = ? AND f.status = 'planned' AND f.fire_at >= ?
                                AND s.override_quiet = 0""", [village_id, iso(now)]):
            due = iso(quiet.next_allowed(parse(fire["fire_at"])))
            db.execute("UPDATE fires SET due_at = ? WHERE id = ?", [due, fire["id"]])
            db.execute("UPDATE plays SET next_attempt_at = ? WHERE fire_id = ? AND status = 'intent' "
                       "AND next_attempt_at IS NOT NULL", [due, fire["id"]])
        audit.record(db, "quiet_hours_changed", user=user, object_type="village", object_id=village_id,
                     village_id=village_id, windows=quiet.windows)
    return quiet.windows


def set_led_url(db, village_id: int, url: str, *, user: dict | None = None) -> None:
    from .outputs.led import check_led_url

    url = (url or "").strip()
    if url:
        check_led_url(url)
    with write(db):
        db.execute("UPDATE villages SET led_url = ? WHERE id = ?", [url or None, village_id])
        audit.record(db, "led_url_changed", user=user, object_type="village", object_id=village_id,
                     village_id=village_id, url=url)


# ---- loudspeakers -------------------------------------------------------------------------------

def save_loudspeaker(db, village_id: int, *, name: str, kind: str, config: dict, active: bool = True,
                     loudspeaker_id: int | None = None, user: dict | None = None) -> int:
    """Add or edit an endpoint; the config is checked by the outputs package (ValueError names the problem)."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise UserError(N_("a loudspeaker needs a name of at most %(max)s characters"), max=MAX_NAME)
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"unknown loudspeaker kind {kind!r}")
    config = validate_config(kind, config)
    with write(db):
        if scalar(db, "SELECT COUNT(*) FROM loudspeakers WHERE village_id = ? AND name = ? AND id != ?",
                  [village_id, name, loudspeaker_id or 0]):
            raise UserError(N_("this village already has a loudspeaker called %(name)s"), name=name)
        text = json.dumps(config, ensure_ascii=False)
        if loudspeaker_id is None:
            loudspeaker_id = db.execute("INSERT INTO loudspeakers (village_id, name, kind, config, active) "
                                        "VALUES (?, ?, ?, ?, ?)", [village_id, name, kind, text, int(active)]).lastrowid
        else:
            db.execute("UPDATE loudspeakers SET name = ?, kind = ?, config = ?, active = ? WHERE id = ? "
                       "AND village_id = ?", [name, kind, text, int(active), loudspeaker_id, village_id])
        audit.record(db, "loudspeaker_saved", user=user, object_type="loudspeaker", object_id=loudspeaker_id,
                     village_id=village_id, kind=kind, name=name)
    return loudspeaker_id


def loudspeakers(db, village_id: int, *, active_only: bool = False) -> list[dict]:
    found = rows(db, "SELECT * FROM loudspeakers WHERE village_id = ?" + (" AND active = 1" if active_only else "")
                 + " ORDER BY name", [village_id])
    for item in found:
        item["config_obj"] = json.loads(item["config"] or "{}")
    return found


def loudspeaker(db, loudspeaker_id: int) -> dict | None:
    found = one(db, "SELECT * FROM loudspeakers WHERE id = ?", [loudspeaker_id])
    if found is not None:
        found["config_obj"] = json.loads(found["config"] or "{}")
    return found
