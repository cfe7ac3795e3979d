"""The runner with a controlled clock: restart policy (played once within grace, recorded missed
outside it, never twice), two runners on one database, scheduled campaigns, and the play log."""
from __future__ import annotations

import shutil
import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schedules import planner, plays, store
from schedules.outputs import PlayResult
from schedules.recurrence import Rule

SH = ZoneInfo("Asia/Shanghai")


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def fire_rows(db):
    return [dict(r) for r in db.execute("SELECT * FROM fires ORDER BY fire_at")]


def play_rows(db):
    return [dict(r) for r in db.execute("SELECT * FROM plays ORDER BY id")]


@pytest.fixture
def daily(db, ids, notice, speaker, no_quiet):
    """07:00 and 12:00 every day from 2 March 2026, saved at 06:00 that day."""
    return store.create(db, village_id=ids["yang"], kind="broadcast", name="早晚广播", notice_id=notice,
                        rule=Rule.daily(["07:00", "12:00"], start=date(2026, 3, 2)), now=sh(2026, 3, 2, 6, 0))


def test_worker_down_across_a_fire_inside_grace_plays_it_once(db, daily, fake, make_runner):
    make_runner(make=fake.make).run_once(sh(2026, 3, 2, 6, 0))
    # Down from 06:00 to 07:10: a new process starts, 10 minutes after the fire.
    restarted = make_runner(make=fake.make)
    result = restarted.run_once(sh(2026, 3, 2, 7, 10), wait=True)
    restarted.run_once(sh(2026, 3, 2, 7, 11), wait=True)
    make_runner(make=fake.make).run_once(sh(2026, 3, 2, 7, 12), wait=True)  # and yet another restart

    assert len(result["fired"]) == 1
    assert len(fake.calls) == 1
    first = fire_rows(db)[0]
    assert first["status"] == "fired"
    assert [(p["status"], p["played_s"], p["attempts"]) for p in play_rows(db)] == [("finished", 2.0, 1)]


def test_worker_down_past_grace_records_the_fire_as_missed(db, daily, fake, make_runner):
    make_runner(make=fake.make).run_once(sh(2026, 3, 2, 6, 0))
    make_runner(make=fake.make).run_once(sh(2026, 3, 2, 7, 16), wait=True)  # grace is 15 minutes

    first = fire_rows(db)[0]
    assert first["status"] == "missed" and "late" in first["note"]
    assert fake.calls == [] and play_rows(db) == []


def test_a_long_outage_plays_only_the_latest_fire(db, daily, fake, make_runner):
    make_runner(make=fake.make).run_once(sh(2026, 3, 2, 6, 0))
    make_runner(make=fake.make).run_once(sh(2026, 3, 2, 12, 5), wait=True)

    assert [(f["status"], f["note"]) for f in fire_rows(db)[:2]] == [
        ("missed", "superseded by a later fire"), ("fired", "")]
    assert len(fake.calls) == 1


def test_two_runners_on_one_database_execute_each_fire_once(db, daily, fake, make_runner):
    runners = [make_runner(make=fake.make), make_runner(make=fake.make)]
    moments = [sh(2026, 3, 2, 6, 0) + timedelta(minutes=m) for m in range(0, 24 * 60, 17)]
    barrier = threading.Barrier(2)
    errors = []

    def run(runner):
        try:
            for moment in moments:
                barrier.wait(5)
                runner.run_once(moment, wait=True)
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    fired = [f for f in fire_rows(db) if f["status"] == "fired"]
    assert len(fired) == 2  # 07:00 and 12:00 of the day
    assert len(play_rows(db)) == 2
    assert len(fake.calls) == 2


def test_a_retryable_failure_is_retried_within_grace_then_recorded(db, daily, fake_output, make_runner):
    out = fake_output([PlayResult.failed("busy", "device busy", retryable=True),
                       PlayResult.failed("busy", "device busy", retryable=True)])
    runner = make_runner(make=out.make)
    runner.run_once(sh(2026, 3, 2, 6, 0))
    runner.run_once(sh(2026, 3, 2, 7, 0), wait=True)
    play = play_rows(db)[0]
    assert (play["status"], play["attempts"], play["error"]) == ("retry", 1, "device busy")

    retry_at = store.parse(play["next_attempt_at"])
    runner.run_once(retry_at, wait=True)  # second failure
    runner.run_once(store.parse(play_rows(db)[0]["next_attempt_at"]), wait=True)  # third attempt plays
    play = play_rows(db)[0]
    assert (play["status"], play["attempts"], play["played_s"]) == ("finished", 3, 2.0)
    assert play["started_at"] is not None and play["expected_s"] == 2.0


def test_failures_past_the_deadline_are_not_retried(db, daily, fake_output, make_runner):
    out = fake_output([PlayResult.failed("busy", "device busy", retryable=True)] * 10)
    runner = make_runner(make=out.make)
    runner.run_once(sh(2026, 3, 2, 6, 0))
    runner.run_once(sh(2026, 3, 2, 7, 14, 40), wait=True)  # a retry 30 s later would pass 07:15

    assert [(p["status"], p["attempts"]) for p in play_rows(db)] == [("failed", 1)]


def test_a_worker_killed_mid_play_never_plays_it_again(db, daily, fake, make_runner):
    runner = make_runner(make=fake.make)
    runner.run_once(sh(2026, 3, 2, 6, 0))
    planner.settle(db, sh(2026, 3, 2, 7, 0))
    [claimed] = plays.claim_due(db, sh(2026, 3, 2, 7, 0))
    plays.mark_started(db, claimed["id"], sh(2026, 3, 2, 7, 0, 1))
    # The process dies here; the next one recovers before playing anything.
    plays.recover(db, sh(2026, 3, 2, 7, 2))
    make_runner(make=fake.make).run_once(sh(2026, 3, 2, 7, 3), wait=True)

    assert [p["status"] for p in play_rows(db)] == ["failed"]
    assert "not repeated" in play_rows(db)[0]["error"]
    assert fake.calls == []


def test_real_alsa_output_plays_every_loop_into_the_capture_device(db, ids, notice, no_quiet, make_runner,
                                                                   tmp_path, monkeypatch):
    if not shutil.which("aplay"):
        pytest.skip("aplay not installed (apt-get install alsa-utils)")
    captured = tmp_path / "captured.raw"
    rc = tmp_path / "asoundrc"
    # A pipe that appends, so every loop is kept (a plain file is truncated each time the device opens).
    rc.write_text(f'pcm.capture {{ type file slave.pcm "null" file "| cat >> {captured}" format "raw" }}\n')
    monkeypatch.setenv("ALSA_CONFIG_PATH", f"/usr/share/alsa/alsa.conf:{rc}")
    card = store.save_loudspeaker(db, ids["yang"], name="广播室功放", kind="alsa", config={"device": "capture"})
    store.create(db, village_id=ids["yang"], kind="broadcast", name="循环两遍", notice_id=notice, loudspeaker_id=card,
                 loops=2, rule=Rule.once(date(2026, 3, 2), "07:00"), now=sh(2026, 3, 2, 6, 0))
    runner = make_runner()
    runner.run_once(sh(2026, 3, 2, 6, 0))
    runner.run_once(sh(2026, 3, 2, 7, 0), wait=True)

    [play] = play_rows(db)
    assert play["status"] == "finished", play["error"]
    assert play["expected_s"] == pytest.approx(4.0)
    assert play["played_s"] > 0 and play["started_at"] is not None
    audio_bytes = len(captured.read_bytes().rstrip(b"\0"))
    assert audio_bytes / (44100 * 2 * 2) == pytest.approx(4.0, abs=0.3)  # both loops reached the card


def test_a_scheduled_health_check_starts_one_campaign_within_its_two_hour_grace(db, ids, notice, make_runner, fake):
    from outreach.registry.residents import ResidentInput, upsert

    upsert(db, ids["yang"], ResidentInput(name="孙玉珍", phones=["+8613900005555"], house_number="3组002号",
                                          birth_year=1938, sex="F", tags={"home_monitoring"}))
    store.set_quiet_hours(db, ids["yang"], ["21:00-07:30"], now=sh(2026, 3, 1))
    sid = store.create(db, village_id=ids["yang"], kind="campaign", name="每日健康打卡", notice_id=notice,
                       rule=Rule.daily(["09:00"], start=date(2026, 3, 2)), now=sh(2026, 3, 2, 6, 0),
                       campaign_options={"kind": "health_check", "channel": "voice",
                                         "audience": {"tags": ["home_monitoring"]}})
    make_runner(make=fake.make).run_once(sh(2026, 3, 2, 6, 0))
    make_runner(make=fake.make).run_once(sh(2026, 3, 2, 10, 30))  # down 09:00-10:30: inside 2 h
    make_runner(make=fake.make).run_once(sh(2026, 3, 2, 10, 31))
    make_runner(make=fake.make).run_once(sh(2026, 3, 3, 11, 30))  # down across the next day's 09:00

    camps = [dict(r) for r in db.execute("SELECT * FROM campaigns")]
    assert len(camps) == 1
    assert (camps[0]["kind"], camps[0]["status"]) == ("health_check", "running")
    assert db.execute("SELECT COUNT(*) FROM outbox WHERE campaign_id = ?", [camps[0]["id"]]).fetchone()[0] == 1
    statuses = [(f["status"], f["campaign_id"]) for f in fire_rows(db) if f["schedule_id"] == sid][:2]
    assert statuses == [("fired", camps[0]["id"]), ("missed", None)]


def test_the_running_loop_plays_on_time_and_apscheduler_jobs_carry_only_ids(db, ids, notice, speaker, no_quiet,
                                                                            fake, make_runner):
    import time as clock_time
    from datetime import timezone

    # A clock one second before a minute mark, so the loop has a fire to wait for without a real minute.
    target = sh(2026, 3, 2, 7, 0)
    offset = target - timedelta(seconds=1) - datetime.now(timezone.utc)
    runner = make_runner(make=fake.make, clock=lambda: datetime.now(timezone.utc) + offset, poll_s=0.5)
    sid = store.create(db, village_id=ids["yang"], kind="broadcast", name="整点广播", notice_id=notice,
                       rule=Rule.daily(["07:00", "12:00"], start=date(2026, 3, 2)), now=runner.clock())
    runner.start()
    try:
        deadline = clock_time.monotonic() + 10
        while clock_time.monotonic() < deadline and not fake.calls:
            clock_time.sleep(0.05)
        job = runner.scheduler.get_job(f"schedule-{sid}")
    finally:
        runner._stop.set()
        runner.wake_event.set()
        runner._thread.join(5)
        runner.scheduler.shutdown(wait=False)

    assert len(fake.calls) == 1
    [play] = play_rows(db)
    delay = (store.parse(play["started_at"]) - target).total_seconds()
    assert 0 <= delay < 1.0
    assert job is not None and job.args == (sid,)  # an id, never a row or an object
    runner.wake(sid)
    assert runner.wake_event.is_set() and runner.woken_by == [sid]
