"""Schedules: when things happen (issue 5). Pure time logic, no Flask and no database.

Modules, each small and named for what it holds:

- :mod:`schedules.recurrence` — a schedule's :class:`~schedules.recurrence.Rule` (once, daily,
  weekly, every N hours; until a date or N times; in the village's time zone), its fire times, and
  the equivalent APScheduler 3.11 trigger.
- :mod:`schedules.quiet_hours` — quiet hours (and campaign calling windows) per village: is this
  instant quiet, and when is the next allowed one.
- :mod:`schedules.catchup` — the downtime policy: fire once within grace, otherwise record a miss,
  never twice.
- :mod:`schedules.overlap` — overlapping plays on the same loudspeaker endpoint.
- :mod:`schedules.lock` — the single-instance lock that keeps a second scheduler process idle.

APScheduler only wakes the worker; our own tables (schedule, fire, play log, outbox) hold the truth.
Every function here takes the clock as an argument, so tests pass times explicitly.
"""
