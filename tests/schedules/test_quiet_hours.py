"""Quiet hours and calling windows: carry-over, windows across midnight, touching windows, DST."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from schedules.quiet_hours import AllowedWindow, QuietHours, allowed_to_quiet

UTC = timezone.utc
SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
VILLAGE = QuietHours(["21:00-07:30", "12:00-13:30"])


def sh(*args):
    return datetime(*args, tzinfo=SH)


def test_evening_fire_carries_to_next_morning():
    fire = sh(2024, 5, 1, 21, 30)
    assert VILLAGE.is_quiet(fire)
    allowed = VILLAGE.next_allowed(fire)
    assert allowed == sh(2024, 5, 2, 7, 30)
    assert allowed.tzinfo is UTC


def test_after_midnight_part_of_a_window_ends_the_same_day():
    assert VILLAGE.next_allowed(sh(2024, 5, 2, 3, 15)) == sh(2024, 5, 2, 7, 30)


def test_midday_rest():
    assert VILLAGE.next_allowed(sh(2024, 5, 2, 12, 0)) == sh(2024, 5, 2, 13, 30)


def test_edges_start_is_quiet_end_is_allowed():
    assert VILLAGE.is_quiet(sh(2024, 5, 1, 21, 0))
    assert not VILLAGE.is_quiet(sh(2024, 5, 1, 20, 59, 59))
    assert not VILLAGE.is_quiet(sh(2024, 5, 2, 7, 30))
    assert VILLAGE.is_quiet(sh(2024, 5, 2, 7, 29, 59))


def test_allowed_time_is_returned_unchanged():
    at = sh(2024, 5, 2, 9, 17, 23)
    assert VILLAGE.next_allowed(at) == at


def test_month_and_year_end_carry_over():
    assert VILLAGE.next_allowed(sh(2024, 1, 31, 22, 0)) == sh(2024, 2, 1, 7, 30)
    assert VILLAGE.next_allowed(sh(2024, 2, 28, 23, 0)) == sh(2024, 2, 29, 7, 30)
    assert VILLAGE.next_allowed(sh(2024, 12, 31, 21, 0)) == sh(2025, 1, 1, 7, 30)


def test_touching_and_overlapping_windows_are_one_stretch():
    quiet = QuietHours(["21:00-23:00", "23:00-02:00", "01:00-07:30", "07:00-08:00"])
    assert quiet.windows == ["21:00-08:00"]
    assert quiet.next_allowed(sh(2024, 5, 1, 22, 0)) == sh(2024, 5, 2, 8, 0)


def test_window_ending_at_midnight_and_one_starting_at_midnight():
    quiet = QuietHours(["22:00-24:00", "00:00-06:00"])
    assert quiet.windows == ["22:00-06:00"]
    assert quiet.next_allowed(sh(2024, 5, 1, 23, 59)) == sh(2024, 5, 2, 6, 0)


def test_no_quiet_hours_is_never_quiet():
    assert QuietHours([]).next_allowed(sh(2024, 5, 1, 3, 0)) == sh(2024, 5, 1, 3, 0)


def test_calling_window_as_quiet_hours():
    window = AllowedWindow(["08:00-20:30"])
    assert window.windows == ["20:30-08:00"]
    assert window.allowed_windows() == ["08:00-20:30"]
    assert window.next_allowed(sh(2024, 5, 1, 20, 45)) == sh(2024, 5, 2, 8, 0)
    assert allowed_to_quiet(["08:00-12:00", "14:00-20:30"]) == ["12:00-14:00", "20:30-08:00"]
    assert QuietHours.from_allowed(["08:00-20:30"]) == window


def test_campaign_window_merged_with_village_quiet_hours():
    both = VILLAGE.merged(AllowedWindow(["08:00-20:30"]))
    assert both.windows == ["12:00-13:30", "20:30-08:00"]
    assert both.next_allowed(sh(2024, 5, 2, 7, 45)) == sh(2024, 5, 2, 8, 0)
    assert both.next_allowed(sh(2024, 5, 2, 12, 10)) == sh(2024, 5, 2, 13, 30)
    with pytest.raises(ValueError, match="cannot merge"):
        VILLAGE.merged(QuietHours([], timezone="Europe/Berlin"))


def test_time_zone_matters():
    # 13:30 UTC is 21:30 in Shanghai (quiet) but 15:30 in Berlin (summer, allowed).
    at = datetime(2024, 5, 1, 13, 30, tzinfo=UTC)
    assert QuietHours(["21:00-07:30"]).is_quiet(at)
    assert not QuietHours(["21:00-07:30"], timezone="Europe/Berlin").is_quiet(at)


def test_dst_window_ending_inside_the_spring_gap_ends_at_the_jump():
    quiet = QuietHours(["01:00-02:30"], timezone="Europe/Berlin")
    at = datetime(2024, 3, 31, 1, 10, tzinfo=BERLIN)  # 01:10 CET; at 02:00 clocks jump to 03:00
    assert quiet.next_allowed(at) == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)  # 03:00 CEST


def test_dst_repeated_hour_is_quiet_both_times():
    quiet = QuietHours(["01:00-02:30"], timezone="Europe/Berlin")
    first_pass = datetime(2024, 10, 26, 23, 10, tzinfo=UTC)  # 01:10 CEST
    assert quiet.next_allowed(first_pass) == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second_pass = datetime(2024, 10, 27, 1, 5, tzinfo=UTC)  # 02:05 CET, after clocks went back
    assert quiet.is_quiet(second_pass)
    assert quiet.next_allowed(second_pass) == datetime(2024, 10, 27, 1, 30, tzinfo=UTC)  # 02:30 CET


@pytest.mark.parametrize("windows, message", [
    (["21:00"], "bad window '21:00'"),
    (["21:00-7"], "bad window"),
    (["25:00-07:00"], "hours are 00-23"),
    (["21:00-07:60"], "minutes 00-59"),
    (["24:30-07:00"], "hours are 00-23"),
    (["08:00-08:00"], "starts and ends at the same time"),
    (["00:00-24:00"], "whole day"),
    (["07:00-19:00", "19:00-07:00"], "whole day"),
    ("21:00-07:30", "must be a list"),
    ([None], "bad window None"),
])
def test_bad_windows(windows, message):
    with pytest.raises(ValueError, match=message):
        QuietHours(windows)


def test_bad_allowed_windows_and_time_zone():
    with pytest.raises(ValueError, match="at least one allowed window"):
        AllowedWindow([])
    with pytest.raises(ValueError, match="unknown time zone"):
        QuietHours([], timezone="Asia/Nowhere")
    with pytest.raises(ValueError, match="timezone-aware"):
        VILLAGE.is_quiet(datetime(2024, 5, 1, 22, 0))
