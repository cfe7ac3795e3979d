"""APScheduler 3.11 triggers equivalent to a :class:`~schedules.recurrence.Rule`.

APScheduler only wakes the worker (see :mod:`schedules.recurrence`); these triggers exist so that
it wakes at exactly the instants :func:`~schedules.recurrence.fires_between` plans.

Mapping:

- ``once``  → ``DateTrigger(run_date=local, timezone=zone)``;
- ``daily`` / ``weekly`` / ``every_n_hours`` → one ``CronTrigger`` per distinct minute
  (``hour="7,12", minute=0`` and ``hour=18, minute=30``), combined with ``OrTrigger`` when there
  are several; weekdays become ``day_of_week="mon,wed"``;
- ``start`` → ``start_date`` at local midnight; ``until`` → ``end_date`` at the last instant of
  that local day; ``count`` → ``end_date`` at the rule's last fire (cron has no count).

One difference had to be closed: APScheduler's cron fires a repeated local time (the fall-back
hour) *twice*, while our rules fire it once. :class:`SingleFoldCronTrigger` skips the second
occurrence, so the instants match exactly, DST included.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from .recurrence import ONCE, UTC, WEEKLY, Rule, last_fire

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _second_occurrence(value: datetime) -> bool:
    """True for the later of two instants that share a wall time (clocks went back)."""
    return value.fold == 1 and value.replace(fold=0).utcoffset() != value.utcoffset()


class SingleFoldCronTrigger(CronTrigger):
    """A CronTrigger that fires a repeated (fall-back) local time once, at its first occurrence."""

    __slots__ = ()

    def get_next_fire_time(self, previous_fire_time, now):
        fire = super().get_next_fire_time(previous_fire_time, now)
        while fire is not None and _second_occurrence(fire):
            after = fire.astimezone(UTC) + timedelta(microseconds=1)
            fire = super().get_next_fire_time(fire, after)
        return fire


def apscheduler_trigger(rule: Rule):
    """A DateTrigger, SingleFoldCronTrigger or OrTrigger firing when ``rule`` fires."""
    tz = rule.tz
    if rule.kind == ONCE:
        return DateTrigger(run_date=datetime.combine(rule.start, rule.local_times()[0]), timezone=tz)

    start = datetime.combine(rule.start, time(), tzinfo=tz)
    end = None
    if rule.until is not None:
        end = datetime.combine(rule.until, time.max, tzinfo=tz)
    elif rule.count is not None:
        end = last_fire(rule).astimezone(tz)
    day_of_week = ",".join(_DAY_NAMES[d] for d in rule.weekdays) if rule.kind == WEEKLY else None

    hours_by_minute: dict[int, list[int]] = defaultdict(list)
    for at in rule.local_times():
        hours_by_minute[at.minute].append(at.hour)
    crons = [
        SingleFoldCronTrigger(hour=",".join(str(h) for h in hours), minute=minute,
                              day_of_week=day_of_week, start_date=start, end_date=end, timezone=tz)
        for minute, hours in sorted(hours_by_minute.items())
    ]
    return crons[0] if len(crons) == 1 else OrTrigger(crons)
