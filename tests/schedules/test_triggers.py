"""APScheduler 3.11 triggers fire at exactly the instants our rules plan (14 days, every kind)."""
import pickle
from datetime import date, datetime, timedelta, timezone

import pytest
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from schedules.recurrence import Rule, apscheduler_trigger, fires_between

UTC = timezone.utc


def aps_fires(trigger, start, end):
    """Walk a trigger the way APScheduler's scheduler does: previous fire, then 'now' just after."""
    fires, previous, now = [], None, start
    while True:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None or fire >= end:
            return fires
        fires.append(fire.astimezone(UTC))
        assert len(fires) < 1000, "trigger does not advance"
        previous, now = fire, fire.astimezone(UTC) + timedelta(microseconds=1)


def rules(tz, first):
    return {
        "once": Rule.once(first + timedelta(days=6), "02:30", timezone=tz),
        "daily": Rule.daily(["02:30", "03:30", "07:00", "12:00", "18:30"], start=first, timezone=tz),
        "daily-until": Rule.daily(["07:00", "18:30"], start=first, until=first + timedelta(days=9),
                                  timezone=tz),
        "weekly": Rule.weekly([0, 3, 6], ["02:30", "09:15"], start=first, timezone=tz),
        "weekly-count": Rule.weekly([1, 5], ["08:00"], start=first, count=3, timezone=tz),
        "every_n_hours": Rule.every_n_hours(1, ("00:00", "23:00"), start=first, timezone=tz),
        "every_n_hours-count": Rule.every_n_hours(5, ("06:30", "22:00"), start=first, count=11,
                                                  timezone=tz),
    }


# Asia/Shanghai (the default, no DST) and Europe/Berlin across both 2024 DST changes.
CASES = [(tz, first, name) for tz, first in [("Asia/Shanghai", date(2024, 2, 20)),
                                            ("Europe/Berlin", date(2024, 3, 25)),
                                            ("Europe/Berlin", date(2024, 10, 21))]
         for name in rules(tz, first)]


@pytest.mark.parametrize("tz, first, name", CASES)
def test_trigger_matches_rule_over_14_days(tz, first, name):
    rule = rules(tz, first)[name]
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC) - timedelta(days=1)
    end = start + timedelta(days=15)  # the rule's first 14 local days, with margin either side
    expected = fires_between(rule, start, end)
    assert expected, "the case must exercise some fires"
    assert aps_fires(apscheduler_trigger(rule), start, end) == expected


def test_trigger_resumes_mid_series_like_a_restarted_scheduler():
    rule = Rule.daily(["07:00", "12:00", "18:30"], start=date(2024, 5, 1), count=9)
    trigger = apscheduler_trigger(rule)
    now = datetime(2024, 5, 2, 5, 0, tzinfo=UTC)  # 13:00 Shanghai on day 2
    assert trigger.get_next_fire_time(None, now) == fires_between(rule, now, now + timedelta(days=9))[0]
    assert aps_fires(trigger, now, now + timedelta(days=30)) == \
        fires_between(rule, now, now + timedelta(days=30))


def test_trigger_types_and_pickling():
    once = apscheduler_trigger(Rule.once(date(2024, 5, 1), "07:00"))
    assert isinstance(once, DateTrigger)
    one_minute = apscheduler_trigger(Rule.daily(["07:00", "12:00"], start=date(2024, 5, 1)))
    assert isinstance(one_minute, CronTrigger)
    mixed = apscheduler_trigger(Rule.daily(["07:00", "18:30"], start=date(2024, 5, 1)))
    assert isinstance(mixed, OrTrigger)
    assert str(mixed.triggers[0].timezone) == "Asia/Shanghai"
    # APScheduler pickles triggers into its job store.
    revived = pickle.loads(pickle.dumps(mixed))
    now = datetime(2024, 5, 1, tzinfo=UTC)
    assert revived.get_next_fire_time(None, now) == mixed.get_next_fire_time(None, now)


def test_plain_cron_would_fire_the_repeated_hour_twice():
    # Why SingleFoldCronTrigger exists: without it APScheduler wakes twice at 02:30 on fall-back day.
    from zoneinfo import ZoneInfo
    plain = CronTrigger(hour=2, minute=30, timezone=ZoneInfo("Europe/Berlin"))
    start, end = datetime(2024, 10, 26, 12, tzinfo=UTC), datetime(2024, 10, 27, 12, tzinfo=UTC)
    assert len(aps_fires(plain, start, end)) == 2
    rule = Rule.daily(["02:30"], start=date(2024, 10, 1), timezone="Europe/Berlin")
    assert len(aps_fires(apscheduler_trigger(rule), start, end)) == 1
