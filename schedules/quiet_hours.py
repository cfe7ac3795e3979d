"""Quiet hours and calling windows, in a village's local wall-clock time.

Quiet hours are windows such as ``["21:00-07:30", "12:00-13:30"]`` (a window may cross midnight;
windows may touch or overlap). Calls and loudspeaker plays that fall inside wait for the next
allowed instant: :meth:`QuietHours.next_allowed`. A campaign's calling window is the same idea
turned around — "allowed 08:00-20:30" is "quiet 20:30-08:00" — so :meth:`QuietHours.from_allowed`
builds it, and :meth:`QuietHours.merged` combines it with the village's own quiet hours.

A window ``"HH:MM-HH:MM"`` covers local times ``start <= t < end``; ``24:00`` may end a window.
Internally the day is 1,440 minute slots, so touching and overlapping windows need no special case.
On DST days (not in China) the rules follow the wall clock: a window ending inside the spring-forward
gap ends at the jump; a repeated hour is quiet both times it occurs.
"""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Iterable

from outreach.errors import N_, UserError

from .recurrence import DEFAULT_TIMEZONE, UTC, require_aware, zone

MINUTES_PER_DAY = 24 * 60
_WINDOW_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~]\s*(\d{1,2}):(\d{2})\s*$")


def parse_window(text: str) -> tuple[int, int]:
    """``"21:00-07:30"`` → ``(1260, 450)`` minutes of the day (``24:00`` is 1440); else ValueError."""
    match = _WINDOW_RE.match(text) if isinstance(text, str) else None
    if not match:
        raise UserError(N_("bad window %(text)r: use HH:MM-HH:MM, e.g. 21:00-07:30"), text=text)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise UserError(N_("bad window %(text)r: hours are 00-23 (24:00 may end a window), minutes 00-59"),
                        text=text)
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end % MINUTES_PER_DAY and (start, end) != (0, MINUTES_PER_DAY):
        raise UserError(N_("window %(text)r starts and ends at the same time"), text=text)
    return start, end


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _runs(slots: bytearray) -> list[str]:
    """Marked minute slots as canonical windows (a run across midnight becomes one window)."""
    if all(slots) or not any(slots):
        return []
    first_clear = slots.index(0)
    windows, m = [], first_clear
    for _ in range(MINUTES_PER_DAY):  # walk one full turn starting at a clear slot
        if slots[m % MINUTES_PER_DAY] and not slots[(m - 1) % MINUTES_PER_DAY]:
            end = m
            while slots[end % MINUTES_PER_DAY]:
                end += 1
            windows.append(f"{_hhmm(m % MINUTES_PER_DAY)}-{_hhmm(end % MINUTES_PER_DAY)}")
        m += 1
    return sorted(windows)


def _slots(windows: Iterable[str]) -> bytearray:
    """Windows as 1,440 minute slots of the local day, 1 where a window covers the minute."""
    slots = bytearray(MINUTES_PER_DAY)
    for text in windows:
        start, end = parse_window(text)
        length = (end - start) % MINUTES_PER_DAY or MINUTES_PER_DAY  # only 00:00-24:00 gives 0
        for m in range(start, start + length):
            slots[m % MINUTES_PER_DAY] = 1
    return slots


def _first_instant_reaching(wall: datetime, tz, after: datetime) -> datetime:
    """The first UTC instant after ``after`` at which the local clock reads ``wall`` or later."""
    early = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    late = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if early == late:
        return early  # an ordinary wall time
    if early.astimezone(tz).replace(tzinfo=None) == wall:
        return early if early > after else late  # the repeated hour: whichever pass we are in
    # In the spring-forward gap: the answer is the jump itself, between ``late`` and ``early``.
    instant = late
    while instant.astimezone(tz).replace(tzinfo=None) < wall:
        instant += timedelta(minutes=1)
    return instant


class QuietHours:
    """Quiet windows of one village. ``QuietHours([])`` is never quiet."""

    def __init__(self, windows: Iterable[str] = (), timezone: str = DEFAULT_TIMEZONE):
        if isinstance(windows, str):
            raise ValueError("quiet hours must be a list of windows, e.g. ['21:00-07:30']")
        self.timezone = timezone
        self.tz = zone(timezone)
        self._slots = _slots(windows)  # 1 = this minute of the local day is quiet
        if all(self._slots):
            raise UserError(N_("quiet hours cover the whole day: nothing could ever be played or sent"))

    @staticmethod
    def _from_slots(slots: bytearray, timezone: str) -> "QuietHours":
        return QuietHours(_runs(slots), timezone)  # not cls: AllowedWindow reads its list inverted

    @staticmethod
    def from_allowed(allowed: Iterable[str], timezone: str = DEFAULT_TIMEZONE) -> "QuietHours":
        """A calling window such as ``["08:00-20:30"]`` as the quiet hours outside it."""
        allowed = list(allowed) if not isinstance(allowed, str) else [allowed]
        if not allowed:
            raise UserError(N_("give at least one allowed window, e.g. 08:00-20:30"))
        zone(timezone)
        open_ = _slots(allowed)
        return QuietHours._from_slots(bytearray(1 - s for s in open_), timezone)

    def merged(self, other: "QuietHours") -> "QuietHours":
        """Quiet when either is quiet (a village's quiet hours plus a campaign's calling window)."""
        if other.timezone != self.timezone:
            raise ValueError(f"cannot merge quiet hours in {self.timezone} and {other.timezone}")
        return self._from_slots(bytearray(a | b for a, b in zip(self._slots, other._slots)),
                                self.timezone)

    @property
    def windows(self) -> list[str]:
        """Canonical windows: merged, sorted, ``"HH:MM-HH:MM"`` (for storage and display)."""
        return _runs(self._slots)

    def allowed_windows(self) -> list[str]:
        """The complement: when work may run."""
        if not any(self._slots):
            return ["00:00-24:00"]
        return _runs(bytearray(1 - s for s in self._slots))

    def is_quiet(self, at_utc: datetime) -> bool:
        local = require_aware(at_utc, "at_utc").astimezone(self.tz)
        return bool(self._slots[local.hour * 60 + local.minute])

    def next_allowed(self, at_utc: datetime) -> datetime:
        """The first instant ``>= at_utc`` outside every quiet window (``at_utc`` itself if allowed)."""
        at = require_aware(at_utc, "at_utc")
        for _ in range(4):  # a DST repeat can re-enter a window once; more would be a bug
            local = at.astimezone(self.tz)
            minute = local.hour * 60 + local.minute
            if not self._slots[minute]:
                return at
            end = minute
            while self._slots[end % MINUTES_PER_DAY]:
                end += 1  # runs past midnight when the window crosses it
            wall = datetime.combine(local.date(), time()) + timedelta(minutes=end)
            at = _first_instant_reaching(wall, self.tz, at)
        raise RuntimeError(f"no allowed time found after {at_utc.isoformat()}")

    def __eq__(self, other):
        return (isinstance(other, QuietHours) and self.timezone == other.timezone
                and self._slots == other._slots)

    def __repr__(self):
        return f"QuietHours({self.windows!r}, timezone={self.timezone!r})"


def allowed_to_quiet(allowed: Iterable[str]) -> list[str]:
    """``["08:00-20:30"]`` → ``["20:30-08:00"]``: the quiet windows outside a calling window."""
    return QuietHours.from_allowed(allowed).windows


class AllowedWindow(QuietHours):
    """A campaign calling window, written the natural way: ``AllowedWindow(["08:00-20:30"])``."""

    def __init__(self, allowed: Iterable[str], timezone: str = DEFAULT_TIMEZONE):
        super().__init__(allowed_to_quiet(allowed), timezone)
