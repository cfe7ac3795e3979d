"""Overlapping plays on the same loudspeaker, flagged before saving."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schedules.overlap import PlannedPlay, find_overlaps, planned_plays
from schedules.recurrence import Rule

SH = ZoneInfo("Asia/Shanghai")


def sh(*args):
    return datetime(*args, tzinfo=SH)


def test_overlap_on_the_same_endpoint_is_flagged_with_its_length():
    morning = PlannedPlay(sh(2024, 5, 1, 7, 0), 180, "east-square", "notice-17")
    clash = PlannedPlay(sh(2024, 5, 1, 7, 2), 300, "east-square", "draft")
    (overlap,) = find_overlaps([clash, morning])
    assert overlap.endpoint_id == "east-square"
    assert (overlap.first.ref, overlap.second.ref) == ("notice-17", "draft")
    assert overlap.seconds == 60


def test_back_to_back_and_other_endpoints_do_not_clash():
    plays = [(sh(2024, 5, 1, 7, 0), 120, 1), (sh(2024, 5, 1, 7, 2), 120, 1),  # touching
             (sh(2024, 5, 1, 7, 1), 600, 2)]  # same time, another loudspeaker
    assert find_overlaps(plays) == []


def test_a_long_play_overlapping_several_short_ones():
    long_play = PlannedPlay(sh(2024, 5, 1, 7, 0), 1800, 1, "long")
    shorts = [PlannedPlay(sh(2024, 5, 1, 7, m), 60, 1, f"s{m}") for m in (5, 10, 40)]
    found = find_overlaps([long_play, *shorts])
    assert [(o.first.ref, o.second.ref, o.seconds) for o in found] == [
        ("long", "s5", 60), ("long", "s10", 60)]


def test_a_draft_schedule_against_a_saved_one_over_seven_days():
    start = sh(2024, 5, 1)
    end = start + timedelta(days=7)
    saved = planned_plays(Rule.daily(["07:00", "12:00", "18:30"], start=date(2024, 5, 1)), 3 * 180,
                          "east-square", start, end, ref="saved")
    draft = planned_plays(Rule.weekly([2], ["07:05"], start=date(2024, 5, 1)), 120, "east-square",
                          start, end, ref="draft")
    found = find_overlaps(saved + draft)
    assert [o.second.start_utc.astimezone(SH).strftime("%a %d %H:%M") for o in found] == ["Wed 01 07:05"]
    assert found[0].first.ref == "saved" and found[0].seconds == 120
    assert find_overlaps(saved + planned_plays(Rule.weekly([2], ["07:05"], start=date(2024, 5, 1)),
                                               120, "west-gate", start, end)) == []


def test_bad_plays():
    with pytest.raises(ValueError, match="positive number of seconds"):
        find_overlaps([(sh(2024, 5, 1, 7), 0, 1)])
    with pytest.raises(ValueError, match="timezone-aware"):
        find_overlaps([(datetime(2024, 5, 1, 7), 60, 1)])
    assert find_overlaps([]) == []
    assert PlannedPlay(sh(2024, 5, 1, 7), 90, 1).end_utc == sh(2024, 5, 1, 7, 1, 30)
