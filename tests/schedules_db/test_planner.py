"""Planning fires into the fires table with a controlled clock: recurrence kinds, quiet-hour
carry-over, month ends, edits that leave the past alone, pause and cancel."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schedules import planner, store
from schedules.recurrence import Rule

SH = ZoneInfo("Asia/Shanghai")


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def fires(db, schedule_id):
    return [(store.parse(r["fire_at"]).astimezone(SH).strftime("%m-%d %H:%M"),
             store.parse(r["due_at"]).astimezone(SH).strftime("%m-%d %H:%M"), r["status"])
            for r in db.execute("SELECT * FROM fires WHERE schedule_id = ? ORDER BY fire_at", [schedule_id])]


def broadcast(db, ids, notice, rule, now, **kw):
    return store.create(db, village_id=ids["yang"], kind="broadcast", name="宴席通知", notice_id=notice,
                        rule=rule, now=now, **kw)


def test_daily_times_for_a_week_plan_21_fires_at_village_wall_clock_times(db, ids, notice, speaker, no_quiet):
    now = sh(2026, 3, 2, 6, 0)
    rule = Rule.daily(["07:00", "12:00", "18:30"], start=date(2026, 3, 2), until=date(2026, 3, 8))
    sid = broadcast(db, ids, notice, rule, now, loops=3)

    assert planner.plan(db, now) == 21
    planned = fires(db, sid)
    assert len(planned) == 21
    assert planned[:3] == [("03-02 07:00", "03-02 07:00", "planned"), ("03-02 12:00", "03-02 12:00", "planned"),
                           ("03-02 18:30", "03-02 18:30", "planned")]
    assert planned[-1][0] == "03-08 18:30"
    assert planner.plan(db, now + timedelta(minutes=5)) == 0  # planning again adds nothing


def test_fires_in_quiet_hours_wait_for_the_next_allowed_time(db, ids, notice, speaker):
    store.set_quiet_hours(db, ids["yang"], ["21:00-07:30", "12:00-13:30"], now=sh(2026, 3, 1))
    now = sh(2026, 3, 2, 6, 0)
    sid = broadcast(db, ids, notice, Rule.daily(["07:00", "12:00", "18:30"], start=date(2026, 3, 2), count=3), now)
    planner.plan(db, now)

    assert fires(db, sid) == [("03-02 07:00", "03-02 07:30", "planned"), ("03-02 12:00", "03-02 13:30", "planned"),
                              ("03-02 18:30", "03-02 18:30", "planned")]


def test_emergency_override_plays_on_time_and_is_audited(db, ids, notice, speaker):
    store.set_quiet_hours(db, ids["yang"], ["21:00-07:30"], now=sh(2026, 3, 1))
    now = sh(2026, 3, 2, 22, 0)
    rule = Rule.once(date(2026, 3, 2), "22:30")
    with pytest.raises(ValueError, match="reason"):
        broadcast(db, ids, notice, rule, now, override_quiet=True, override_reason="")
    sid = broadcast(db, ids, notice, rule, now, override_quiet=True, override_reason="山洪预警，立即转移")
    planner.plan(db, now)

    assert fires(db, sid) == [("03-02 22:30", "03-02 22:30", "planned")]
    logged = db.execute("SELECT detail FROM audit_log WHERE action = 'quiet_hours_override'").fetchall()
    assert len(logged) == 1 and "山洪预警" in logged[0][0]


def test_weekdays_and_every_n_hours(db, ids, notice, speaker, no_quiet):
    now = sh(2026, 3, 2, 0, 0)  # a Monday
    weekly = broadcast(db, ids, notice, Rule.weekly([0, 2, 4], ["09:00"], start=date(2026, 3, 2)), now)
    hourly = broadcast(db, ids, notice, Rule.every_n_hours(4, ("08:00", "18:00"), start=date(2026, 3, 2),
                                                           until=date(2026, 3, 3)), now)
    planner.plan(db, now)

    assert [f[0] for f in fires(db, weekly)] == ["03-02 09:00", "03-04 09:00", "03-06 09:00"]  # 7 days ahead
    assert [f[0] for f in fires(db, hourly)] == ["03-02 08:00", "03-02 12:00", "03-02 16:00",
                                                 "03-03 08:00", "03-03 12:00", "03-03 16:00"]


def test_month_end_rolls_into_the_next_month_and_the_horizon_moves_on(db, ids, notice, speaker, no_quiet):
    now = sh(2026, 1, 29, 12, 0)
    sid = broadcast(db, ids, notice, Rule.daily(["18:00"], start=date(2026, 1, 30), count=5), now)
    planner.plan(db, now, horizon=timedelta(days=3))
    assert [f[0] for f in fires(db, sid)] == ["01-30 18:00", "01-31 18:00"]

    planner.plan(db, now + timedelta(days=5))
    assert [f[0] for f in fires(db, sid)] == ["01-30 18:00", "01-31 18:00", "02-01 18:00", "02-02 18:00",
                                              "02-03 18:00"]


def test_a_schedule_entirely_in_the_past_is_refused(db, ids, notice, speaker):
    with pytest.raises(store.ScheduleInPast):
        broadcast(db, ids, notice, Rule.once(date(2026, 3, 1), "07:00"), sh(2026, 3, 2, 8, 0))
    assert db.execute("SELECT COUNT(*) FROM schedules").fetchone()[0] == 0


def test_editing_replans_future_fires_and_leaves_past_ones_alone(db, ids, notice, speaker, no_quiet, fake,
                                                                  make_runner):
    start = sh(2026, 3, 2, 6, 0)
    sid = broadcast(db, ids, notice, Rule.daily(["07:00", "18:00"], start=date(2026, 3, 2), count=4), start)
    runner = make_runner(make=fake.make)
    runner.run_once(start)
    runner.run_once(sh(2026, 3, 2, 7, 0, 5), wait=True)  # the 07:00 fire runs
    edit_at = sh(2026, 3, 2, 9, 0)
    store.update(db, sid, now=edit_at, name="宴席通知（改）", notice_id=notice,
                 rule=Rule.daily(["08:00", "19:00"], start=date(2026, 3, 2), count=4))
    runner.run_once(edit_at)

    assert fires(db, sid) == [("03-02 07:00", "03-02 07:00", "fired"), ("03-02 19:00", "03-02 19:00", "planned"),
                              ("03-03 08:00", "03-03 08:00", "planned"), ("03-03 19:00", "03-03 19:00", "planned")]
    # The play of the past fire is still there with its outcome.
    assert [tuple(r) for r in db.execute("SELECT status, played_s FROM plays")] == [("finished", 2.0)]


def test_pause_skips_due_fires_and_cancel_closes_the_future(db, ids, notice, speaker, no_quiet):
    now = sh(2026, 3, 2, 6, 0)
    sid = broadcast(db, ids, notice, Rule.daily(["07:00"], start=date(2026, 3, 2)), now)
    planner.plan(db, now)
    store.set_status(db, sid, "pause", now=now)
    planner.settle(db, sh(2026, 3, 2, 7, 1))
    store.set_status(db, sid, "resume", now=sh(2026, 3, 2, 8, 0))
    store.set_status(db, sid, "cancel", now=sh(2026, 3, 2, 8, 0))
    with pytest.raises(ValueError):
        store.set_status(db, sid, "resume", now=sh(2026, 3, 2, 8, 0))

    statuses = [f[2] for f in fires(db, sid)]
    assert statuses[0] == "skipped"
    assert set(statuses[1:]) == {"cancelled"}
    assert planner.plan(db, sh(2026, 3, 3)) == 0  # nothing new for a cancelled schedule
