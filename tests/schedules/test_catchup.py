"""The downtime policy: fire once within grace, otherwise recorded missed, never twice."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from schedules.catchup import (CAMPAIGN_GRACE, LOUDSPEAKER_GRACE, Decision, decide, next_watermark,
                               plan_due_fires)
from schedules.quiet_hours import QuietHours
from schedules.recurrence import Rule, fires_between

SH = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc
FIRE, MISSED, WAIT, DONE = Decision.FIRE, Decision.MISSED, Decision.WAIT, Decision.ALREADY_DONE
PLAYS = Rule.daily(["07:00", "12:00", "18:30"], start=date(2024, 5, 1))


def sh(*args):
    return datetime(*args, tzinfo=SH)


def brief(plan):
    return [(item.fire_at.astimezone(SH).strftime("%d %H:%M"), item.decision) for item in plan]


@pytest.mark.parametrize("now, already_ran, expected", [
    (sh(2024, 5, 1, 6, 59), False, WAIT),       # not due yet
    (sh(2024, 5, 1, 7, 0), False, FIRE),        # on time
    (sh(2024, 5, 1, 7, 15), False, FIRE),       # exactly at the grace limit
    (sh(2024, 5, 1, 7, 15, 1), False, MISSED),  # one second past grace
    (sh(2024, 5, 1, 7, 5), True, DONE),         # ran already: never again
    (sh(2024, 5, 1, 9, 0), True, DONE),
])
def test_decide_table(now, already_ran, expected):
    assert decide(sh(2024, 5, 1, 7, 0), now, LOUDSPEAKER_GRACE, already_ran) is expected


def test_default_grace_periods():
    assert LOUDSPEAKER_GRACE == timedelta(minutes=15)
    assert CAMPAIGN_GRACE == timedelta(hours=2)


def test_down_across_a_fire_restart_inside_grace_fires_once():
    plan = plan_due_fires(PLAYS, sh(2024, 5, 1, 6, 50), sh(2024, 5, 1, 7, 10), LOUDSPEAKER_GRACE)
    assert brief(plan) == [("01 07:00", FIRE)]


def test_down_across_a_fire_restart_outside_grace_records_missed():
    plan = plan_due_fires(PLAYS, sh(2024, 5, 1, 6, 50), sh(2024, 5, 1, 7, 20), LOUDSPEAKER_GRACE)
    assert brief(plan) == [("01 07:00", MISSED)]


def test_long_downtime_misses_old_fires_and_fires_only_the_latest():
    plan = plan_due_fires(PLAYS, sh(2024, 4, 30, 20, 0), sh(2024, 5, 1, 12, 5), LOUDSPEAKER_GRACE)
    assert brief(plan) == [("01 07:00", MISSED), ("01 12:00", FIRE)]


def test_backlog_within_grace_still_plays_once():
    rule = Rule.every_n_hours(1, ("08:00", "20:00"), start=date(2024, 5, 1))
    plan = plan_due_fires(rule, sh(2024, 5, 1, 7, 0), sh(2024, 5, 1, 10, 30), CAMPAIGN_GRACE)
    assert brief(plan) == [("01 08:00", MISSED), ("01 09:00", MISSED), ("01 10:00", FIRE)]


def test_campaign_grace_is_two_hours():
    rule = Rule.daily(["09:00"], start=date(2024, 5, 1))
    inside = plan_due_fires(rule, sh(2024, 5, 1, 8, 0), sh(2024, 5, 1, 10, 59), CAMPAIGN_GRACE)
    outside = plan_due_fires(rule, sh(2024, 5, 1, 8, 0), sh(2024, 5, 1, 11, 1), CAMPAIGN_GRACE)
    assert brief(inside) == [("01 09:00", FIRE)]
    assert brief(outside) == [("01 09:00", MISSED)]


def test_planning_twice_fires_once():
    last, now = sh(2024, 5, 1, 6, 50), sh(2024, 5, 1, 7, 2)
    first = plan_due_fires(PLAYS, last, now, LOUDSPEAKER_GRACE)
    ran = [item.fire_at for item in first if item.decision is FIRE]
    assert len(ran) == 1
    # Crash before the watermark was saved: the same window again, with the run recorded.
    again = plan_due_fires(PLAYS, last, now + timedelta(minutes=1), LOUDSPEAKER_GRACE, already_done=ran)
    assert brief(again) == [("01 07:00", DONE)]
    # Watermark saved: nothing new at all.
    assert plan_due_fires(PLAYS, next_watermark(first, now), now, LOUDSPEAKER_GRACE) == []


def test_an_older_fire_never_plays_after_a_newer_one_ran():
    plan = plan_due_fires(PLAYS, sh(2024, 5, 1, 6, 0), sh(2024, 5, 1, 12, 5), LOUDSPEAKER_GRACE,
                          already_done=[sh(2024, 5, 1, 12, 0)])
    assert brief(plan) == [("01 07:00", MISSED), ("01 12:00", DONE)]


def test_fire_in_quiet_hours_waits_then_fires_at_the_end_of_them():
    quiet = QuietHours(["21:00-07:30"])
    rule = Rule.daily(["21:30"], start=date(2024, 5, 1))
    plan = plan_due_fires(rule, sh(2024, 5, 1, 21, 0), sh(2024, 5, 1, 21, 31), LOUDSPEAKER_GRACE,
                          quiet=quiet)
    assert brief(plan) == [("01 21:30", WAIT)]
    assert plan[0].due_at == sh(2024, 5, 2, 7, 30)
    mark = next_watermark(plan, sh(2024, 5, 1, 21, 31))
    assert mark < sh(2024, 5, 1, 21, 30)  # keeps the waiting fire ahead of the watermark
    morning = plan_due_fires(rule, mark, sh(2024, 5, 2, 7, 40), LOUDSPEAKER_GRACE, quiet=quiet)
    assert brief(morning) == [("01 21:30", FIRE)]
    late = plan_due_fires(rule, mark, sh(2024, 5, 2, 7, 50), LOUDSPEAKER_GRACE, quiet=quiet)
    assert brief(late) == [("01 21:30", MISSED)]


def test_several_fires_carried_to_one_morning_play_once():
    quiet = QuietHours(["21:00-07:30"])
    rule = Rule.daily(["21:30", "22:00", "06:00"], start=date(2024, 5, 1))
    plan = plan_due_fires(rule, sh(2024, 5, 1, 20, 0), sh(2024, 5, 2, 7, 31), LOUDSPEAKER_GRACE,
                          quiet=quiet)
    assert brief(plan) == [("01 21:30", MISSED), ("01 22:00", MISSED), ("02 06:00", FIRE)]


def test_new_schedule_does_not_report_fires_before_it_was_saved():
    saved = sh(2024, 5, 1, 10, 0)
    assert brief(plan_due_fires(PLAYS, saved, sh(2024, 5, 1, 10, 1), LOUDSPEAKER_GRACE)) == []


class Worker:
    """A worker driven by a controlled clock: what the scheduler process does on each wake."""

    def __init__(self, rule, since, grace):
        self.rule, self.watermark, self.grace = rule, since, grace
        self.played, self.missed = [], set()

    def tick(self, now, crash_before_saving_watermark=False):
        plan = plan_due_fires(self.rule, self.watermark, now, self.grace, already_done=self.played)
        for item in plan:
            if item.decision is FIRE:
                self.played.append(item.fire_at)
            elif item.decision is MISSED:
                self.missed.add(item.fire_at)
        if not crash_before_saving_watermark:
            self.watermark = next_watermark(plan, now)


def test_simulated_week_with_downtime_and_duplicate_ticks_never_doubles():
    worker = Worker(PLAYS, sh(2024, 5, 1, 0, 0), LOUDSPEAKER_GRACE)
    down = [(sh(2024, 5, 2, 6, 55), sh(2024, 5, 2, 7, 10)),    # across 07:00, back within grace
            (sh(2024, 5, 3, 11, 0), sh(2024, 5, 3, 19, 0)),    # across 12:00 and 18:30, back late
            (sh(2024, 5, 5, 17, 0), sh(2024, 5, 6, 12, 5))]    # overnight: only 12:00 plays
    now = sh(2024, 5, 1, 0, 0)
    while now < sh(2024, 5, 8, 0, 0):
        if not any(start <= now < end for start, end in down):
            worker.tick(now)
            worker.tick(now)  # a duplicate wake-up changes nothing
            if now.minute == 1:
                worker.tick(now + timedelta(seconds=30), crash_before_saving_watermark=True)
        now += timedelta(minutes=1)

    everything = fires_between(PLAYS, sh(2024, 5, 1), sh(2024, 5, 8))
    assert len(everything) == 21
    assert len(worker.played) == len(set(worker.played)), "a fire played twice"
    assert not set(worker.played) & worker.missed
    assert set(worker.played) | worker.missed == set(everything)  # none lost
    local = sorted(f.astimezone(SH).strftime("%d %H:%M") for f in worker.missed)
    assert local == ["03 12:00", "03 18:30", "05 18:30", "06 07:00"]
    assert sh(2024, 5, 2, 7, 0) in worker.played and sh(2024, 5, 6, 12, 0) in worker.played


def test_bad_arguments():
    with pytest.raises(ValueError, match="non-negative timedelta"):
        decide(sh(2024, 5, 1, 7), sh(2024, 5, 1, 7), timedelta(minutes=-1))
    with pytest.raises(ValueError, match="non-negative timedelta"):
        plan_due_fires(PLAYS, sh(2024, 5, 1), sh(2024, 5, 2), 900)
    with pytest.raises(ValueError, match="clock went backwards"):
        plan_due_fires(PLAYS, sh(2024, 5, 2), sh(2024, 5, 1), LOUDSPEAKER_GRACE)
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(datetime(2024, 5, 1, 7), sh(2024, 5, 1, 7), LOUDSPEAKER_GRACE)
