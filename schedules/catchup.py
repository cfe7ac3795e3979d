"""Downtime policy: what a (re)started worker does with each due fire. Never twice.

One fire, :func:`decide` (``due_at`` is the fire time, or the end of the quiet hours it fell in)::

    already ran? ──yes──▶ ALREADY_DONE
        │no
    now < due_at? ──yes──▶ WAIT
        │no
    now - due_at <= grace? ──yes──▶ FIRE      (exactly at the grace limit still fires)
        │no
        ▼
      MISSED  (recorded and shown on the calendar; never played late)

A worker that was down, :func:`plan_due_fires` — the fires in ``(last_planned, now]``:

1. each fire that already ran is ALREADY_DONE;
2. fires whose ``due_at`` (after quiet-hour carry-over) is still ahead are WAIT;
3. of all due fires (ties on ``due_at`` broken by the later ``fire_at``) only the *latest* may
   run: FIRE if ``now - due_at <= grace``, otherwise MISSED — unless it already ran; every older
   due fire that did not run is MISSED (superseded: one play of a notice replaces a backlog, and a
   backlog is never played back to back, nor an older fire after a newer one).

Calling it again with the same inputs plus the fire it just ran (``already_done``) returns
ALREADY_DONE for that fire and nothing new to run, so two ticks or two restarts fire once. The
database's UNIQUE(schedule, fire_at) is the other half of that guarantee.
"""
from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Collection, NamedTuple

from .quiet_hours import QuietHours
from .recurrence import Rule, fires_between, require_aware

LOUDSPEAKER_GRACE = timedelta(minutes=15)  # a play more than 15 min late is worse than none
CAMPAIGN_GRACE = timedelta(hours=2)  # calls and texts still make sense a couple of hours late


class Decision(str, enum.Enum):
    FIRE = "fire"  # due and within grace: run it now, once
    MISSED = "missed"  # past grace or superseded by a later fire: record as missed, never run
    WAIT = "wait"  # not due yet (in the future, or carried past quiet hours): leave it planned
    ALREADY_DONE = "already_done"  # a run is already recorded for this fire: do nothing


class DueFire(NamedTuple):
    fire_at: datetime  # the rule's fire instant (UTC): the key of the fire row
    decision: Decision
    due_at: datetime  # when it may run: fire_at, or the end of the quiet window it fell in


def _grace(grace: timedelta) -> timedelta:
    if not isinstance(grace, timedelta) or grace < timedelta(0):
        raise ValueError(f"grace must be a non-negative timedelta, got {grace!r}")
    return grace


def decide(scheduled_at: datetime, now: datetime, grace: timedelta,
           already_ran: bool = False) -> Decision:
    """The decision for one fire that may run from ``scheduled_at`` on (see the module diagram)."""
    scheduled_at = require_aware(scheduled_at, "scheduled_at")
    now = require_aware(now, "now")
    grace = _grace(grace)
    if already_ran:
        return Decision.ALREADY_DONE
    if now < scheduled_at:
        return Decision.WAIT
    return Decision.FIRE if now - scheduled_at <= grace else Decision.MISSED


def plan_due_fires(rule: Rule, last_planned_utc: datetime, now_utc: datetime, grace: timedelta, *,
                   already_done: Collection[datetime] = (),
                   quiet: QuietHours | None = None) -> list[DueFire]:
    """Decisions for every fire in ``(last_planned_utc, now_utc]``, oldest first.

    ``last_planned_utc`` is the worker's watermark (for a new schedule: when it was saved, so
    fires before it are never reported as missed). ``already_done`` holds fire instants that
    already have a run recorded. With ``quiet``, a fire inside quiet hours is due at the end of
    them. WAIT fires are either stored as planned fire rows (then advance the watermark to
    ``now_utc`` and settle them later with :func:`decide`) or kept ahead of the watermark with
    :func:`next_watermark`.
    """
    last = require_aware(last_planned_utc, "last_planned_utc")
    now = require_aware(now_utc, "now_utc")
    grace = _grace(grace)
    if now < last:
        raise ValueError("now_utc is before last_planned_utc: the clock went backwards")
    done = {require_aware(t, "already_done") for t in already_done}
    tick = timedelta(microseconds=1)  # fires_between is [start, end); we want (last, now]
    fires = fires_between(rule, last + tick, now + tick)

    plan: list[DueFire] = []
    due: list[tuple[datetime, datetime]] = []  # (due_at, fire_at) of fires that are due now
    for fire_at in fires:
        due_at = quiet.next_allowed(fire_at) if quiet is not None else fire_at
        if fire_at in done:
            plan.append(DueFire(fire_at, Decision.ALREADY_DONE, due_at))
            due.append((due_at, fire_at))
        elif due_at > now:
            plan.append(DueFire(fire_at, Decision.WAIT, due_at))
        else:
            due.append((due_at, fire_at))

    # Only the latest due fire may run; if that one already ran, everything older is superseded.
    latest = max(due, default=None)
    for due_at, fire_at in due:
        if fire_at in done:
            continue
        if (due_at, fire_at) == latest:
            plan.append(DueFire(fire_at, decide(due_at, now, grace), due_at))
        else:
            plan.append(DueFire(fire_at, Decision.MISSED, due_at))
    plan.sort(key=lambda item: item.fire_at)
    return plan


def next_watermark(plan: list[DueFire], now_utc: datetime) -> datetime:
    """Where ``last_planned_utc`` may move after acting on ``plan``: ``now_utc``, or just before the
    earliest WAIT fire so that the next call reports it again."""
    now = require_aware(now_utc, "now_utc")
    waiting = [item.fire_at for item in plan if item.decision is Decision.WAIT]
    return min(waiting) - timedelta(microseconds=1) if waiting else now
