"""Planning fires ahead and deciding due ones: the fires table is the truth, never APScheduler.

Fire states (``fires.status``)::

    planned ──due, within grace, claimed──▶ fired   (plays or a campaign were created with it)
       │ ├───due, past grace / superseded──▶ missed  (shown on the calendar, never played late)
       │ └───due while the schedule is paused──▶ skipped
       └──schedule cancelled──▶ cancelled

:func:`plan` inserts every fire of the next days (``INSERT OR IGNORE`` on UNIQUE(schedule_id,
fire_at)) with its ``due_at``: the fire time, or the end of the village's quiet hours it falls in
(unless the schedule has an emergency override). Each schedule keeps a watermark
(``planned_until``) so fires before it was created or edited are never invented.

:func:`settle` decides the planned fires whose ``due_at`` has come, with the downtime policy of
:mod:`schedules.catchup`: per schedule only the latest due fire may run (FIRE within grace, else
MISSED); older ones are superseded. Running is a claim — one ``UPDATE … WHERE status = 'planned'
RETURNING`` inside ``BEGIN IMMEDIATE`` together with the fire's plays or campaign — so two passes
or two processes can both decide FIRE and still only one creates anything: never twice.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import NamedTuple

from outreach.db import one, rows, write

from . import plays, store
from .catchup import Decision, decide
from .quiet_hours import QuietHours
from .recurrence import Rule, fires_between, next_fire_after, require_aware

HORIZON = timedelta(days=7)  # the calendar shows a week ahead, so a week is planned

PLANNED, FIRED, MISSED, SKIPPED, CANCELLED = "planned", "fired", "missed", "skipped", "cancelled"


class Fired(NamedTuple):
    fire_id: int
    schedule_id: int
    kind: str  # broadcast or campaign
    campaign_id: int | None  # the campaign created for a campaign fire
    play_ids: tuple[int, ...]  # the plays created for a broadcast fire


def _quiet(db, schedule: dict) -> QuietHours | None:
    if schedule["override_quiet"]:
        return None  # emergency override: on time, quiet hours or not
    return QuietHours(json.loads(schedule["quiet_hours"] or "[]"), schedule["timezone"])


def plan(db, now: datetime, *, horizon: timedelta = HORIZON, schedule_ids=None) -> int:
    """Insert the fires of active and paused schedules up to ``now + horizon``; returns how many were new."""
    now = require_aware(now, "now")
    end = now + horizon
    where = "s.status IN ('active', 'paused')"
    params: list = []
    if schedule_ids is not None:
        ids = list(schedule_ids)
        where += f" AND s.id IN ({','.join('?' * len(ids)) or 'NULL'})"
        params += ids
    added = 0
    for s in rows(db, f"""SELECT s.*, v.quiet_hours, v.timezone FROM schedules s JOIN villages v ON v.id = s.village_id
                          WHERE {where}""", params):
        start = store.parse(s["planned_until"] or s["created_at"])
        if start >= end:
            continue
        rule, quiet = Rule.from_json(s["rule"]), _quiet(db, s)
        fires = fires_between(rule, start, end)
        with write(db):
            current = one(db, "SELECT updated_at, status FROM schedules WHERE id = ?", [s["id"]])
            if current["updated_at"] != s["updated_at"] or current["status"] != s["status"]:
                continue  # edited since we read it (web process): the next pass plans the new rule
            for fire_at in fires:
                due_at = quiet.next_allowed(fire_at) if quiet else fire_at
                added += db.execute(
                    "INSERT OR IGNORE INTO fires (schedule_id, village_id, fire_at, due_at) VALUES (?, ?, ?, ?)",
                    [s["id"], s["village_id"], store.iso(fire_at), store.iso(due_at)]).rowcount
            # Only forward: a slower process must not pull the watermark back under a faster one.
            db.execute("UPDATE schedules SET planned_until = ? WHERE id = ? AND (planned_until IS NULL "
                       "OR planned_until < ?)", [store.iso(end), s["id"], store.iso(end)])
    return added


def settle(db, now: datetime, *, schedule_ids=None) -> list[Fired]:
    """Decide every planned fire that is due; returns the fires this call claimed and executed."""
    now = require_aware(now, "now")
    where, params = "", [store.iso(now)]
    if schedule_ids is not None:
        ids = list(schedule_ids)
        where = f" AND f.schedule_id IN ({','.join('?' * len(ids)) or 'NULL'})"
        params += ids
    due = rows(db, f"""SELECT f.*, s.status AS schedule_status, s.grace_s, s.kind FROM fires f
                       JOIN schedules s ON s.id = f.schedule_id
                       WHERE f.status = 'planned' AND f.due_at <= ?{where}
                       ORDER BY f.schedule_id, f.due_at, f.fire_at""", params)
    by_schedule: dict[int, list[dict]] = {}
    for fire in due:
        by_schedule.setdefault(fire["schedule_id"], []).append(fire)

    done: list[Fired] = []
    for schedule_id, fires in by_schedule.items():
        if fires[0]["schedule_status"] != store.ACTIVE:
            for fire in fires:
                _close(db, fire["id"], SKIPPED, now, f"schedule {fires[0]['schedule_status']}")
            continue
        *older, latest = fires
        for fire in older:
            _close(db, fire["id"], MISSED, now, "superseded by a later fire")
        newer_ran = one(db, "SELECT 1 FROM fires WHERE schedule_id = ? AND status = 'fired' AND fire_at > ?",
                        [schedule_id, latest["fire_at"]])
        decision = decide(store.parse(latest["due_at"]), now, timedelta(seconds=latest["grace_s"]))
        if newer_ran:
            _close(db, latest["id"], MISSED, now, "superseded by a later fire")
        elif decision is Decision.FIRE:
            fired = _claim(db, latest, now)
            if fired is not None:
                done.append(fired)
        else:
            late = int((now - store.parse(latest["due_at"])).total_seconds() // 60)
            _close(db, latest["id"], MISSED, now, f"not run: {late} min late, past its grace period")
    _finish_ended(db, now)
    return done


def _close(db, fire_id: int, status: str, now: datetime, note: str) -> bool:
    with write(db):
        changed = db.execute("UPDATE fires SET status = ?, decided_at = ?, note = ? WHERE id = ? AND status = 'planned'",
                             [status, store.iso(now), note, fire_id]).rowcount
        if changed:  # plays made early (a portable unit's bundle) will not happen either
            db.execute("UPDATE plays SET status = 'missed', error = ? WHERE fire_id = ? AND status = 'intent'",
                       [note, fire_id])
    return bool(changed)


def _claim(db, fire: dict, now: datetime) -> Fired | None:
    """Fire it: the status change and everything it creates commit together, or not at all."""
    schedule = store.get(db, fire["schedule_id"])
    with write(db):
        claimed = db.execute("UPDATE fires SET status = 'fired', decided_at = ? WHERE id = ? AND status = 'planned' "
                             "RETURNING id", [store.iso(now), fire["id"]]).fetchone()
        if claimed is None:
            return None  # another pass or process got there first
        if schedule["kind"] == store.BROADCAST:
            deadline = store.parse(fire["due_at"]) + timedelta(seconds=schedule["grace_s"])
            play_ids = plays.ensure_for_fire(db, schedule, fire["id"], store.parse(fire["due_at"]), deadline)
            return Fired(fire["id"], schedule["id"], store.BROADCAST, None, tuple(play_ids))
        campaign_id, note = _start_campaign(db, schedule, fire, now)
        db.execute("UPDATE fires SET campaign_id = ?, note = ? WHERE id = ?", [campaign_id, note, fire["id"]])
        return Fired(fire["id"], schedule["id"], store.CAMPAIGN, campaign_id, ())


def _start_campaign(db, schedule: dict, fire: dict, now: datetime) -> tuple[int | None, str]:
    from outreach.delivery import campaigns  # the dispatcher sends it; we only create and start it

    opts = dict(schedule["options"])
    audience = campaigns.Audience(**{**opts.pop("audience", {}), "village_id": schedule["village_id"]})
    local = store.parse(fire["fire_at"]).astimezone(schedule["rule_obj"].tz)
    name = f"{schedule['name']} {local:%m-%d %H:%M}"[:100]
    try:
        with write(db):  # a savepoint: a refused campaign leaves the fire claimed, with the reason
            campaign_id = campaigns.create(db, village_id=schedule["village_id"], notice_id=schedule["notice_id"],
                                           name=name, audience=audience, user_id=schedule["created_by"],
                                           fire_id=fire["id"], **opts)
            selection = campaigns.start(db, campaign_id, now)
    except ValueError as exc:
        return None, f"campaign not started: {exc}"
    return campaign_id, f"{len(selection.targets)} to contact"


def _finish_ended(db, now: datetime) -> None:
    """Active schedules whose rule has no fire left and nothing planned become finished."""
    for s in rows(db, """SELECT id, rule, planned_until FROM schedules s WHERE status = 'active'
                         AND NOT EXISTS (SELECT 1 FROM fires f WHERE f.schedule_id = s.id AND f.status = 'planned')"""):
        after = store.parse(s["planned_until"]) if s["planned_until"] else now
        if next_fire_after(Rule.from_json(s["rule"]), max(after, now) - timedelta(microseconds=1)) is None:
            with write(db):
                db.execute("UPDATE schedules SET status = 'finished' WHERE id = ? AND status = 'active'", [s["id"]])


def next_due(db) -> datetime | None:
    """When the next planned fire of an active schedule is due (the runner sleeps until then)."""
    found = one(db, """SELECT MIN(f.due_at) AS at FROM fires f JOIN schedules s ON s.id = f.schedule_id
                       WHERE f.status = 'planned' AND s.status = 'active'""")
    return store.parse(found["at"]) if found and found["at"] else None


def draft_overlaps(db, *, village_id: int, rule: Rule, notice_id: int, loops: int, loudspeaker_id: int | None,
                   override_quiet: bool, now: datetime, exclude_schedule_id: int | None = None,
                   horizon: timedelta = HORIZON) -> list[dict]:
    """Plays of a draft broadcast that would sound over another one on the same loudspeaker in the next
    days (checked before saving): ``{"at", "other", "loudspeaker", "seconds"}`` with ``at`` in UTC."""
    from .overlap import PlannedPlay, find_overlaps

    now = require_aware(now, "now")
    speakers = {r["id"]: r["name"] for r in rows(db, "SELECT id, name FROM loudspeakers WHERE village_id = ? "
                                                     "AND active = 1", [village_id])}

    def endpoints(chosen):
        return [chosen] if chosen is not None else list(speakers)

    def seconds(notice, times):
        asset = plays.audio_asset(db, notice, village_id)
        return max(1.0, float(asset["duration_s"]) * times) if asset else 60.0 * times  # unknown: assume a minute

    quiet = None if override_quiet else store.quiet_hours(db, village_id)
    length = seconds(notice_id, loops)
    items = [PlannedPlay(quiet.next_allowed(t) if quiet else t, length, speaker, "draft")
             for t in fires_between(rule, now, now + horizon) for speaker in endpoints(loudspeaker_id)]
    others = rows(db, """SELECT f.due_at, s.id, s.name, s.notice_id, s.loops, s.loudspeaker_id FROM fires f
                         JOIN schedules s ON s.id = f.schedule_id
                         WHERE s.village_id = ? AND s.kind = 'broadcast' AND s.status = 'active' AND s.id != ?
                         AND f.status IN ('planned', 'fired') AND f.due_at >= ? AND f.due_at < ?""",
                  [village_id, exclude_schedule_id or 0, store.iso(now - timedelta(hours=1)),
                   store.iso(now + horizon)])
    lengths: dict[tuple, float] = {}
    for o in others:
        key = (o["notice_id"], o["loops"])
        lengths.setdefault(key, seconds(*key))
        items += [PlannedPlay(store.parse(o["due_at"]), lengths[key], speaker, o["name"])
                  for speaker in endpoints(o["loudspeaker_id"])]
    found = []
    for clash in find_overlaps(items):
        refs = (clash.first.ref, clash.second.ref)
        if "draft" not in refs:
            continue  # two saved schedules clashing is shown on the calendar, not here
        other = refs[1] if refs[0] == "draft" else refs[0]
        found.append({"at": clash.second.start_utc, "other": None if other == "draft" else other,
                      "loudspeaker": speakers.get(clash.endpoint_id, ""), "seconds": round(clash.seconds)})
    return found
