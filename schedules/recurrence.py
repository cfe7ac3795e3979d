"""Recurrence rules: when a schedule fires.

A :class:`Rule` is stored as JSON in a TEXT column (:meth:`Rule.to_json` / :meth:`Rule.from_json`).
Kinds, all in *local wall-clock time* of the rule's time zone (default Asia/Shanghai):

- ``once``           one local date and time (``start`` + ``times=["07:00"]``);
- ``daily``          every day at each of ``times`` (e.g. ``["07:00", "12:00", "18:30"]``);
- ``weekly``         on ``weekdays`` (0 = Monday … 6 = Sunday) at each of ``times``;
- ``every_n_hours``  every ``every_hours`` hours from ``window[0]`` up to and including
                     ``window[1]`` each day (``08:00``–``18:00`` every 2 h: 08, 10, … 18).

Common: ``start`` (first local date), at most one end — ``until`` (last local date, inclusive) or
``count`` (total number of fires) — and ``timezone`` (a zoneinfo name).

Daylight saving time (only matters outside China; Asia/Shanghai has none):

- a local time that does not exist (the spring-forward gap) fires at the same wall time with the
  old offset, i.e. shifted forward by the gap (02:30 in Europe/Berlin → 03:30 CEST);
- a local time that happens twice (fall back) fires once, at its first occurrence;
- two local times that land on the same instant fire once.

Fire times are aware UTC datetimes. :func:`fires_between` is half-open ``[start, end)`` so
consecutive windows tile without duplicates; :func:`next_fire_after` is strictly after.

APScheduler's role: :func:`apscheduler_trigger` builds an APScheduler 3.11 trigger that produces the
same instants, but APScheduler only *wakes* the worker. APScheduler drops runs missed while the
process was down (misfire grace 1 s) and advances a job before running it, so a crash mid-job loses
that run: our own tables (schedule, fire with UNIQUE(schedule, fire_at), play log, outbox) own the
truth, the worker re-computes due fires with this module, and :mod:`schedules.catchup` decides.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone as dt_timezone
from typing import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outreach.errors import N_, UserError

UTC = dt_timezone.utc
DEFAULT_TIMEZONE = "Asia/Shanghai"

ONCE = "once"  # a single local date and time
DAILY = "daily"  # every day at a list of local times
WEEKLY = "weekly"  # chosen weekdays at a list of local times
EVERY_N_HOURS = "every_n_hours"  # every N hours between two local times, each day
KINDS = (ONCE, DAILY, WEEKLY, EVERY_N_HOURS)

MAX_COUNT = 100_000  # a bound so a typo cannot make planning walk centuries
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_KEYS = {"kind", "start", "times", "weekdays", "every_hours", "window", "until", "count", "timezone"}


def parse_time(value) -> time:
    """``"7:05"`` or ``"07:05"`` → ``time(7, 5)``; anything else raises ValueError."""
    if not isinstance(value, str) or not _TIME_RE.match(value.strip()):
        raise UserError(N_("bad time %(value)r: use 24-hour HH:MM, e.g. 07:00 or 18:30"), value=value)
    hours, minutes = _TIME_RE.match(value.strip()).groups()
    return time(int(hours), int(minutes))


def format_time(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def zone(name: str) -> ZoneInfo:
    """The zoneinfo time zone called ``name``; ValueError for an unknown name."""
    if not isinstance(name, str) or not name:
        raise ValueError("time zone must be a name such as Asia/Shanghai")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def require_aware(value: datetime, name: str = "time") -> datetime:
    """``value`` converted to UTC; a naive datetime is refused (its zone would be a guess)."""
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _to_date(value, name: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        raise ValueError(f"{name} must be a date, not a datetime")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"bad {name} date {value!r}: use YYYY-MM-DD") from None
    raise ValueError(f"{name} must be a date (YYYY-MM-DD)")


def _int(value, name: str) -> int:
    # bool is an int subclass; True as "every 1 hour" would be a bug upstream.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return value


@dataclass(frozen=True)
class Rule:
    """A validated recurrence rule; construct directly or with :meth:`once`, :meth:`daily` …"""

    kind: str
    start: date
    times: tuple[str, ...] = ()
    weekdays: tuple[int, ...] = ()
    every_hours: int | None = None
    window: tuple[str, str] | None = None
    until: date | None = None
    count: int | None = None
    timezone: str = DEFAULT_TIMEZONE
    _local_times: tuple[time, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self):
        set_ = object.__setattr__  # frozen: normalise in place once, here
        if self.kind not in KINDS:
            raise ValueError(f"unknown schedule kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        start = _to_date(self.start, "start")
        if start is None:
            raise ValueError("a schedule needs a start date")
        set_(self, "start", start)
        set_(self, "until", _to_date(self.until, "until"))
        zone(self.timezone)
        if isinstance(self.times, str) or isinstance(self.weekdays, (str, int)):
            raise ValueError("times and weekdays must be lists")
        times = sorted({parse_time(t) for t in self.times})
        set_(self, "times", tuple(format_time(t) for t in times))
        weekdays = sorted({_int(d, "weekday") for d in self.weekdays})
        if any(d < 0 or d > 6 for d in weekdays):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        set_(self, "weekdays", tuple(weekdays))

        if self.kind != WEEKLY and weekdays:
            raise ValueError(f"weekdays only apply to weekly schedules, not {self.kind}")
        if self.kind != EVERY_N_HOURS and (self.every_hours is not None or self.window is not None):
            raise ValueError(f"every_hours and window only apply to every_n_hours, not {self.kind}")
        if self.kind == ONCE:
            if len(times) != 1:
                raise UserError(N_("a one-off schedule needs exactly one time"))
            if self.until is not None or self.count is not None:
                raise ValueError("a one-off schedule cannot have until or count")
        elif self.kind in (DAILY, WEEKLY):
            if not times:
                raise UserError(N_("a daily schedule needs at least one time") if self.kind == DAILY
                                else N_("a weekly schedule needs at least one time"))
            if self.kind == WEEKLY and not weekdays:
                raise UserError(N_("a weekly schedule needs at least one weekday"))
        else:
            times = self._hourly_times()
        set_(self, "_local_times", tuple(times))

        if self.until is not None and self.count is not None:
            raise ValueError("give either until (a last date) or count (a number of fires), not both")
        if self.until is not None and self.until < start:
            raise UserError(N_("until %(until)s is before the start date %(start)s"), until=self.until, start=start)
        if self.count is not None:
            count = _int(self.count, "count")
            if not 1 <= count <= MAX_COUNT:
                raise ValueError(f"count must be between 1 and {MAX_COUNT}, got {count}")

    def _hourly_times(self) -> list[time]:
        if self.times:
            raise ValueError("every_n_hours takes window and every_hours, not times")
        hours = _int(self.every_hours, "every_hours") if self.every_hours is not None else None
        if hours is None or not 1 <= hours <= 23:
            raise ValueError(f"every_hours must be between 1 and 23, got {self.every_hours!r}")
        if self.window is None or isinstance(self.window, str) or len(self.window) != 2:
            raise ValueError("every_n_hours needs a window of two times, e.g. ['08:00', '18:00']")
        first, last = parse_time(self.window[0]), parse_time(self.window[1])
        if last < first:
            raise UserError(N_("window end %(end)s is before its start %(start)s "
                               "(windows across midnight are not supported; split into two schedules)"),
                            end=format_time(last), start=format_time(first))
        object.__setattr__(self, "window", (format_time(first), format_time(last)))
        minutes, end = first.hour * 60 + first.minute, last.hour * 60 + last.minute
        return [time(m // 60, m % 60) for m in range(minutes, end + 1, hours * 60)]

    # -- constructors --------------------------------------------------------------------------
    @classmethod
    def once(cls, on: date, at: str, *, timezone: str = DEFAULT_TIMEZONE) -> "Rule":
        return cls(ONCE, on, times=(at,), timezone=timezone)

    @classmethod
    def daily(cls, times, *, start: date, until: date | None = None, count: int | None = None,
              timezone: str = DEFAULT_TIMEZONE) -> "Rule":
        return cls(DAILY, start, times=tuple(times), until=until, count=count, timezone=timezone)

    @classmethod
    def weekly(cls, weekdays, times, *, start: date, until: date | None = None,
               count: int | None = None, timezone: str = DEFAULT_TIMEZONE) -> "Rule":
        return cls(WEEKLY, start, times=tuple(times), weekdays=tuple(weekdays), until=until,
                   count=count, timezone=timezone)

    @classmethod
    def every_n_hours(cls, n: int, between: tuple[str, str], *, start: date,
                      until: date | None = None, count: int | None = None,
                      timezone: str = DEFAULT_TIMEZONE) -> "Rule":
        return cls(EVERY_N_HOURS, start, every_hours=n, window=tuple(between), until=until,
                   count=count, timezone=timezone)

    # -- storage -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("_local_times")
        data["start"] = self.start.isoformat()
        data["until"] = self.until.isoformat() if self.until else None
        data["times"], data["weekdays"] = list(self.times), list(self.weekdays)
        data["window"] = list(self.window) if self.window else None
        return {k: v for k, v in data.items() if v not in (None, [])}

    def to_json(self) -> str:
        """Compact, key-sorted JSON for a TEXT column (equal rules give equal text)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, value: str | dict) -> "Rule":
        """Inverse of :meth:`to_json`; accepts the JSON text or the decoded dict."""
        if isinstance(value, (str, bytes)):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"schedule rule is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError("schedule rule must be a JSON object")
        unknown = set(value) - _KEYS
        if unknown:
            raise ValueError(f"unknown schedule rule field(s): {', '.join(sorted(unknown))}")
        if "kind" not in value or "start" not in value:
            raise ValueError("schedule rule needs kind and start")
        data = dict(value)
        for key in ("times", "weekdays", "window"):
            if isinstance(data.get(key), list):
                data[key] = tuple(data[key])
        return cls(**data)

    # -- helpers -------------------------------------------------------------------------------
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_times(self) -> tuple[time, ...]:
        """The local times of day this rule fires at, on a day it fires."""
        return self._local_times

    def fires_on(self, day: date) -> bool:
        """Whether ``day`` (a local date) is one this rule fires on (ignoring ``count``)."""
        if day < self.start or (self.until is not None and day > self.until):
            return False
        if self.kind == ONCE:
            return day == self.start
        return self.kind != WEEKLY or day.weekday() in self.weekdays


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A local wall time as a UTC instant: a gap time shifts forward, a repeated time is the first."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)  # fold=0 gives both rules


def iter_fires(rule: Rule, from_utc: datetime) -> Iterator[datetime]:
    """Every fire at or after ``from_utc``, in order (endless for an open-ended rule)."""
    from_utc = require_aware(from_utc, "from_utc")
    tz = rule.tz
    if rule.count is None:
        # One day of margin: a local date's fires can start before its UTC date does.
        day = max(rule.start, from_utc.astimezone(tz).date() - timedelta(days=1))
    else:
        day = rule.start  # count is over the whole series, so it has to be walked from the start
    emitted, last = 0, None
    while rule.until is None or day <= rule.until:
        if rule.kind == ONCE and day > rule.start:
            return
        if rule.fires_on(day):
            for instant in sorted({local_to_utc(day, t, tz) for t in rule.local_times()}):
                if last is not None and instant <= last:
                    continue  # two local times on one instant (DST gap) fire once
                last = instant
                emitted += 1
                if instant >= from_utc:
                    yield instant
                if rule.count is not None and emitted >= rule.count:
                    return
        day += timedelta(days=1)


def fires_between(rule: Rule, start_utc: datetime, end_utc: datetime) -> list[datetime]:
    """Fire instants ``t`` with ``start_utc <= t < end_utc``, as aware UTC datetimes."""
    end_utc = require_aware(end_utc, "end_utc")
    out = []
    for instant in iter_fires(rule, start_utc):
        if instant >= end_utc:
            break
        out.append(instant)
    return out


def next_fire_after(rule: Rule, after_utc: datetime) -> datetime | None:
    """The first fire strictly after ``after_utc``, or None when the rule has ended."""
    after_utc = require_aware(after_utc, "after_utc")
    return next(iter_fires(rule, after_utc + timedelta(microseconds=1)), None)


def last_fire(rule: Rule) -> datetime | None:
    """The final fire of a bounded rule (once, until, count); None for an open-ended one."""
    if rule.kind != ONCE and rule.until is None and rule.count is None:
        return None
    final = None
    for final in iter_fires(rule, datetime.combine(rule.start, time(), tzinfo=UTC) - timedelta(days=2)):
        pass
    return final


def apscheduler_trigger(rule: Rule):
    """An APScheduler 3.11 trigger that fires at the same instants (see :mod:`schedules.triggers`)."""
    from .triggers import apscheduler_trigger as build  # apscheduler is only needed by the worker

    return build(rule)
