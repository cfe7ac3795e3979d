"""Overlapping plays on one loudspeaker endpoint, flagged before a schedule is saved.

A play occupies ``[start_utc, start_utc + duration_s)`` on its endpoint; back-to-back plays
(one ends exactly when the next starts) do not overlap. Plays on different endpoints never clash.
:func:`planned_plays` expands a rule into plays so the calendar can check a draft schedule against
the saved ones for the next days.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Hashable, Iterable, NamedTuple

from .recurrence import Rule, fires_between, require_aware


class PlannedPlay(NamedTuple):
    start_utc: datetime
    duration_s: float  # the loudspeaker rendition's length times loops, plus gaps
    endpoint_id: Hashable
    ref: Hashable = None  # the caller's key (schedule id, fire id, "draft"), carried through

    @property
    def end_utc(self) -> datetime:
        return self.start_utc + timedelta(seconds=self.duration_s)


class Overlap(NamedTuple):
    endpoint_id: Hashable
    first: PlannedPlay  # the play that starts first
    second: PlannedPlay  # the play that starts while ``first`` is still playing
    seconds: float  # how long they play over each other


def _play(item) -> PlannedPlay:
    play = item if isinstance(item, PlannedPlay) else PlannedPlay(*item)
    start = require_aware(play.start_utc, "start_utc")
    if isinstance(play.duration_s, bool) or not isinstance(play.duration_s, (int, float)) \
            or play.duration_s <= 0:
        raise ValueError(f"play duration must be a positive number of seconds, got {play.duration_s!r}")
    return play._replace(start_utc=start)


def find_overlaps(plays: Iterable) -> list[Overlap]:
    """Every pair of plays on the same endpoint that overlap, ordered by time.

    ``plays`` holds :class:`PlannedPlay` or plain ``(start_utc, duration_s, endpoint_id[, ref])``
    tuples. A sweep per endpoint: O(n log n + pairs).
    """
    by_endpoint: dict[Hashable, list[PlannedPlay]] = defaultdict(list)
    for item in plays:
        play = _play(item)
        by_endpoint[play.endpoint_id].append(play)

    found: list[Overlap] = []
    for endpoint, items in by_endpoint.items():
        items.sort(key=lambda p: (p.start_utc, p.end_utc))
        active: list[PlannedPlay] = []  # plays still sounding at the current start
        for play in items:
            active = [a for a in active if a.end_utc > play.start_utc]
            for earlier in active:
                shared = min(earlier.end_utc, play.end_utc) - play.start_utc
                found.append(Overlap(endpoint, earlier, play, shared.total_seconds()))
            active.append(play)
    found.sort(key=lambda o: (o.second.start_utc, o.first.start_utc))
    return found


def planned_plays(rule: Rule, duration_s: float, endpoint_id: Hashable, start_utc: datetime,
                  end_utc: datetime, ref: Hashable = None) -> list[PlannedPlay]:
    """The plays ``rule`` makes on ``endpoint_id`` in ``[start_utc, end_utc)``."""
    return [_play(PlannedPlay(t, duration_s, endpoint_id, ref))
            for t in fires_between(rule, start_utc, end_utc)]
