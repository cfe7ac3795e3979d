"""Recurrence rules: every kind, until/count, month ends, leap day, DST, storage, validation."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from schedules.recurrence import Rule, fires_between, iter_fires, last_fire, next_fire_after

UTC = timezone.utc
SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def sh(*args):
    return datetime(*args, tzinfo=SH)


def local(fires, tz=SH):
    """Fires as local 'YYYY-MM-DD HH:MM' strings, what a secretary sees on the calendar."""
    return [f.astimezone(tz).strftime("%Y-%m-%d %H:%M") for f in fires]


def test_fires_are_aware_utc():
    rule = Rule.daily(["07:00"], start=date(2024, 5, 1))
    fire = next_fire_after(rule, sh(2024, 5, 1, 0, 0))
    assert fire.tzinfo is UTC
    assert fire == datetime(2024, 4, 30, 23, 0, tzinfo=UTC)  # 07:00 in Shanghai is 23:00 UTC


def test_once_fires_exactly_once():
    rule = Rule.once(date(2024, 5, 3), "09:30")
    assert local(fires_between(rule, sh(2024, 1, 1), sh(2025, 1, 1))) == ["2024-05-03 09:30"]
    assert next_fire_after(rule, sh(2024, 5, 3, 9, 30)) is None
    assert next_fire_after(rule, sh(2024, 5, 3, 9, 29)) == sh(2024, 5, 3, 9, 30)


def test_daily_at_several_times_for_a_week():
    rule = Rule.daily(["18:30", "07:00", "12:00"], start=date(2024, 5, 1), until=date(2024, 5, 7))
    fires = fires_between(rule, sh(2024, 4, 1), sh(2024, 6, 1))
    assert len(fires) == 21
    assert local(fires)[:4] == ["2024-05-01 07:00", "2024-05-01 12:00", "2024-05-01 18:30",
                                "2024-05-02 07:00"]
    assert local(fires)[-1] == "2024-05-07 18:30"  # until is inclusive


def test_window_is_half_open_and_tiles():
    rule = Rule.daily(["07:00", "12:00"], start=date(2024, 5, 1))
    first = fires_between(rule, sh(2024, 5, 1, 7, 0), sh(2024, 5, 2, 7, 0))
    second = fires_between(rule, sh(2024, 5, 2, 7, 0), sh(2024, 5, 3, 7, 0))
    assert local(first) == ["2024-05-01 07:00", "2024-05-01 12:00"]
    assert local(second) == ["2024-05-02 07:00", "2024-05-02 12:00"]
    assert next_fire_after(rule, sh(2024, 5, 1, 7, 0)) == sh(2024, 5, 1, 12, 0)


def test_weekly_on_chosen_weekdays():
    # Monday and Thursday 09:00, from Wednesday 2024-05-01.
    rule = Rule.weekly([3, 0], ["09:00"], start=date(2024, 5, 1))
    assert local(fires_between(rule, sh(2024, 5, 1), sh(2024, 5, 14))) == [
        "2024-05-02 09:00", "2024-05-06 09:00", "2024-05-09 09:00", "2024-05-13 09:00"]


def test_every_n_hours_between_two_times_inclusive():
    rule = Rule.every_n_hours(3, ("08:00", "20:00"), start=date(2024, 5, 1), until=date(2024, 5, 1))
    assert local(fires_between(rule, sh(2024, 5, 1), sh(2024, 5, 3))) == [
        "2024-05-01 08:00", "2024-05-01 11:00", "2024-05-01 14:00", "2024-05-01 17:00",
        "2024-05-01 20:00"]
    odd = Rule.every_n_hours(2, ("08:30", "13:00"), start=date(2024, 5, 1), count=3)
    assert local(fires_between(odd, sh(2024, 5, 1), sh(2024, 5, 3))) == [
        "2024-05-01 08:30", "2024-05-01 10:30", "2024-05-01 12:30"]


def test_count_counts_from_the_start_not_from_the_window():
    rule = Rule.daily(["07:00", "19:00"], start=date(2024, 5, 1), count=5)
    assert local(fires_between(rule, sh(2024, 5, 2, 12, 0), sh(2024, 6, 1))) == [
        "2024-05-02 19:00", "2024-05-03 07:00"]
    assert last_fire(rule) == sh(2024, 5, 3, 7, 0)
    assert next_fire_after(rule, sh(2024, 5, 3, 7, 0)) is None


def test_start_date_is_respected():
    rule = Rule.daily(["07:00"], start=date(2024, 5, 10))
    assert next_fire_after(rule, sh(2024, 5, 1)) == sh(2024, 5, 10, 7, 0)


def test_month_end_january_31_into_february():
    rule = Rule.daily(["23:30"], start=date(2023, 1, 30), count=4)
    assert local(fires_between(rule, sh(2023, 1, 1), sh(2023, 3, 1))) == [
        "2023-01-30 23:30", "2023-01-31 23:30", "2023-02-01 23:30", "2023-02-02 23:30"]
    weekly = Rule.weekly([1], ["08:00"], start=date(2023, 1, 31), count=2)  # Tuesdays
    assert local(fires_between(weekly, sh(2023, 1, 1), sh(2023, 3, 1))) == [
        "2023-01-31 08:00", "2023-02-07 08:00"]


def test_leap_day_and_year_end():
    rule = Rule.daily(["07:00"], start=date(2024, 2, 28), until=date(2024, 3, 1))
    assert local(fires_between(rule, sh(2024, 1, 1), sh(2024, 4, 1))) == [
        "2024-02-28 07:00", "2024-02-29 07:00", "2024-03-01 07:00"]
    assert local(fires_between(Rule.once(date(2024, 2, 29), "12:00"), sh(2024, 1, 1),
                               sh(2025, 1, 1))) == ["2024-02-29 12:00"]
    no_leap = Rule.daily(["07:00"], start=date(2023, 2, 28), count=2)
    assert local(fires_between(no_leap, sh(2023, 1, 1), sh(2024, 1, 1))) == [
        "2023-02-28 07:00", "2023-03-01 07:00"]
    new_year = Rule.daily(["00:00"], start=date(2024, 12, 31), count=2)
    assert local(fires_between(new_year, sh(2024, 1, 1), sh(2026, 1, 1))) == [
        "2024-12-31 00:00", "2025-01-01 00:00"]


def test_dst_nonexistent_local_time_shifts_forward():
    # 2024-03-31: Berlin clocks jump 02:00 CET → 03:00 CEST; 02:30 does not exist that day.
    rule = Rule.daily(["02:30"], start=date(2024, 3, 30), count=3, timezone="Europe/Berlin")
    fires = fires_between(rule, datetime(2024, 3, 29, tzinfo=UTC), datetime(2024, 4, 3, tzinfo=UTC))
    assert local(fires, BERLIN) == ["2024-03-30 02:30", "2024-03-31 03:30", "2024-04-01 02:30"]
    assert fires[1] == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)


def test_dst_gap_collision_fires_once():
    # 02:30 shifts onto 03:30, which is also in the list: one fire at that instant, not two.
    rule = Rule.daily(["02:30", "03:30"], start=date(2024, 3, 31), until=date(2024, 3, 31),
                      timezone="Europe/Berlin")
    assert local(fires_between(rule, datetime(2024, 3, 30, tzinfo=UTC),
                               datetime(2024, 4, 2, tzinfo=UTC)), BERLIN) == ["2024-03-31 03:30"]
    hourly = Rule.every_n_hours(1, ("00:00", "05:00"), start=date(2024, 3, 31), count=5,
                                timezone="Europe/Berlin")
    assert local(fires_between(hourly, datetime(2024, 3, 30, tzinfo=UTC),
                               datetime(2024, 4, 2, tzinfo=UTC)), BERLIN) == [
        "2024-03-31 00:00", "2024-03-31 01:00", "2024-03-31 03:00", "2024-03-31 04:00",
        "2024-03-31 05:00"]


def test_dst_ambiguous_local_time_fires_once_at_first_occurrence():
    # 2024-10-27: Berlin clocks go back 03:00 CEST → 02:00 CET; 02:30 happens twice.
    rule = Rule.daily(["02:30"], start=date(2024, 10, 26), until=date(2024, 10, 28),
                      timezone="Europe/Berlin")
    fires = fires_between(rule, datetime(2024, 10, 25, tzinfo=UTC), datetime(2024, 10, 30, tzinfo=UTC))
    assert fires == [datetime(2024, 10, 26, 0, 30, tzinfo=UTC),
                     datetime(2024, 10, 27, 0, 30, tzinfo=UTC),  # 02:30 CEST, not also 02:30 CET
                     datetime(2024, 10, 28, 1, 30, tzinfo=UTC)]


def test_iteration_from_any_point_agrees_with_one_long_window():
    rule = Rule.weekly([0, 2, 4], ["06:45", "21:15"], start=date(2024, 1, 1), count=40,
                       timezone="Europe/Berlin")
    everything = fires_between(rule, datetime(2023, 12, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    assert len(everything) == 40
    walked, at = [], datetime(2023, 12, 1, tzinfo=UTC)
    while (at := next_fire_after(rule, at)) is not None:
        walked.append(at)
    assert walked == everything
    assert list(iter_fires(rule, everything[10])) == everything[10:]


@pytest.mark.parametrize("rule", [
    Rule.once(date(2024, 2, 29), "7:05", timezone="Europe/Berlin"),
    Rule.daily(["07:00", "12:00", "18:30"], start=date(2024, 5, 1), until=date(2024, 5, 7)),
    Rule.weekly([0, 6], ["09:00"], start=date(2024, 5, 1), count=10),
    Rule.every_n_hours(2, ("08:00", "18:00"), start=date(2024, 5, 1)),
])
def test_json_round_trip(rule):
    text = rule.to_json()
    assert isinstance(text, str)
    again = Rule.from_json(text)
    assert again == rule
    assert again.to_json() == text
    assert fires_between(again, sh(2024, 1, 1), sh(2024, 6, 1)) == \
        fires_between(rule, sh(2024, 1, 1), sh(2024, 6, 1))
    assert Rule.from_json(rule.to_dict()) == rule


def test_times_are_normalised_sorted_and_deduplicated():
    rule = Rule.daily(["18:30", "7:00", "07:00"], start=date(2024, 5, 1))
    assert rule.times == ("07:00", "18:30")
    assert rule.to_dict() == {"kind": "daily", "start": "2024-05-01", "times": ["07:00", "18:30"],
                              "timezone": "Asia/Shanghai"}


@pytest.mark.parametrize("kwargs, message", [
    (dict(kind="daily", start=date(2024, 5, 1), times=("7:60",)), "bad time '7:60'"),
    (dict(kind="daily", start=date(2024, 5, 1), times=("24:00",)), "bad time"),
    (dict(kind="daily", start=date(2024, 5, 1), times=("0700",)), "bad time"),
    (dict(kind="daily", start=date(2024, 5, 1), times=(7,)), "bad time"),
    (dict(kind="daily", start=date(2024, 5, 1), times=()), "at least one time"),
    (dict(kind="daily", start=date(2024, 5, 1), times="07:00"), "must be lists"),
    (dict(kind="weekly", start=date(2024, 5, 1), times=("07:00",)), "at least one weekday"),
    (dict(kind="weekly", start=date(2024, 5, 1), times=("07:00",), weekdays=(7,)), "0 (Monday) to 6"),
    (dict(kind="daily", start=date(2024, 5, 1), times=("07:00",), weekdays=(1,)), "only apply to weekly"),
    (dict(kind="every_n_hours", start=date(2024, 5, 1), every_hours=0, window=("08:00", "18:00")),
     "between 1 and 23"),
    (dict(kind="every_n_hours", start=date(2024, 5, 1), every_hours=True, window=("08:00", "18:00")),
     "whole number"),
    (dict(kind="every_n_hours", start=date(2024, 5, 1), every_hours=2, window=("18:00", "08:00")),
     "before its start"),
    (dict(kind="every_n_hours", start=date(2024, 5, 1), every_hours=2), "needs a window"),
    (dict(kind="once", start=date(2024, 5, 1), times=("07:00", "08:00")), "exactly one time"),
    (dict(kind="once", start=date(2024, 5, 1), times=("07:00",), count=2), "cannot have until or count"),
    (dict(kind="daily", start=date(2024, 5, 3), times=("07:00",), until=date(2024, 5, 2)),
     "until 2024-05-02 is before the start date 2024-05-03"),
    (dict(kind="daily", start=date(2024, 5, 1), times=("07:00",), until=date(2024, 5, 9), count=3),
     "not both"),
    (dict(kind="daily", start=date(2024, 5, 1), times=("07:00",), count=0), "count must be between"),
    (dict(kind="daily", start=date(2024, 5, 1), times=("07:00",), timezone="Mars/Olympus"),
     "unknown time zone"),
    (dict(kind="hourly", start=date(2024, 5, 1)), "unknown schedule kind 'hourly'"),
    (dict(kind="daily", start="2024-13-01", times=("07:00",)), "bad start date"),
    (dict(kind="daily", start=datetime(2024, 5, 1), times=("07:00",)), "not a datetime"),
])
def test_validation_messages(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Rule(**kwargs)


def test_from_json_rejects_garbage():
    with pytest.raises(ValueError, match="not valid JSON"):
        Rule.from_json("{nope")
    with pytest.raises(ValueError, match="unknown schedule rule field"):
        Rule.from_json({"kind": "daily", "start": "2024-05-01", "times": ["07:00"], "tiems": []})
    with pytest.raises(ValueError, match="needs kind and start"):
        Rule.from_json('{"times": ["07:00"]}')


def test_naive_datetimes_are_refused():
    rule = Rule.daily(["07:00"], start=date(2024, 5, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        fires_between(rule, datetime(2024, 5, 1), sh(2024, 5, 2))
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_after(rule, datetime(2024, 5, 1))


def test_open_ended_rule_far_in_the_future_is_cheap():
    rule = Rule.daily(["07:00"], start=date(2024, 5, 1))
    start = sh(2090, 6, 1)
    assert local(fires_between(rule, start, start + timedelta(days=2))) == [
        "2090-06-01 07:00", "2090-06-02 07:00"]
