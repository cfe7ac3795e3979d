"""Through the phone-network simulator: a phone-dialled loudspeaker terminal plays the notice in a real
(simulated) call with signed webhooks, and a portable unit's operator confirms by texting "PLAYED 17"."""
from __future__ import annotations

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

from outreach.delivery.gateway import Gateway
from schedules import store
from schedules.recurrence import Rule
from schedules.runner import maker
from schedules.terminal import TerminalCaller

SH = ZoneInfo("Asia/Shanghai")
TERMINAL = "+8613900009999"


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def terminal_runner(app, make_runner, config, web_url):
    caller = TerminalCaller(app.config["DATABASE"], Gateway(config), web_url)
    return make_runner(make=maker(caller, web_url))


def schedule_terminal(db, ids, notice, loops=2):
    store.set_quiet_hours(db, ids["yang"], [], now=sh(2026, 3, 1))
    terminal = store.save_loudspeaker(db, ids["yang"], name="村口电话广播", kind="phone_terminal",
                                      config={"number": TERMINAL})
    store.create(db, village_id=ids["yang"], kind="broadcast", name="电话广播", notice_id=notice, loops=loops,
                 loudspeaker_id=terminal, rule=Rule.once(date(2026, 3, 2), "07:00"), now=sh(2026, 3, 2, 6, 0))


def test_a_phone_terminal_plays_the_telephone_rendition_in_a_call(app, db, ids, notice, network, make_runner):
    sim, config, web_url = network
    sim.sim.put_resident(TERMINAL, answer_probability=1.0, busy_probability=0.0, has_working_phone=True,
                         keys=[], patience_s=None)
    schedule_terminal(db, ids, notice, loops=2)
    runner = terminal_runner(app, make_runner, config, web_url)
    runner.run_once(sh(2026, 3, 2, 6, 0))
    runner.run_once(sh(2026, 3, 2, 7, 0), wait=True)

    play = dict(db.execute("SELECT * FROM plays").fetchone())
    assert play["status"] == "finished", play["error"]
    assert (play["call_status"], play["expected_s"]) == ("completed", 4.0)
    assert play["played_s"] >= 4.0 and play["started_at"] is not None
    [call] = sim.sim.phone(TERMINAL)["calls"]
    [heard] = [e for e in call["events"] if e["verb"] == "play"]
    token = db.execute("SELECT public_token FROM audio_assets").fetchone()[0]
    assert heard["url"] == f"{web_url}/media/t/{token}.wav"
    assert (heard["fetched"], heard["loop"], heard["complete"]) == (True, 2, True)


def test_a_terminal_that_hangs_up_early_is_retried_within_grace(app, db, ids, notice, network, make_runner):
    sim, config, web_url = network
    sim.sim.put_resident(TERMINAL, answer_probability=1.0, busy_probability=0.0, has_working_phone=True,
                         keys=[], patience_s=1.0)
    schedule_terminal(db, ids, notice)
    runner = terminal_runner(app, make_runner, config, web_url)
    runner.run_once(sh(2026, 3, 2, 6, 0))
    runner.run_once(sh(2026, 3, 2, 7, 0), wait=True)

    play = dict(db.execute("SELECT * FROM plays").fetchone())
    assert (play["status"], play["attempts"]) == ("retry", 1)
    assert "hung up" in play["error"]


def test_a_portable_play_is_confirmed_by_an_sms_through_the_simulator(app, db, ids, notice, network, make_runner,
                                                                       fake):
    sim, _config, _web = network
    store.set_quiet_hours(db, ids["yang"], [], now=sh(2026, 3, 1))
    van = store.save_loudspeaker(db, ids["yang"], name="宣传车", kind="portable", config={"name": "1号车"})
    store.create(db, village_id=ids["yang"], kind="broadcast", name="宣传车播放", notice_id=notice, loudspeaker_id=van,
                 rule=Rule.once(date(2026, 3, 2), "09:00"), now=sh(2026, 3, 2, 6, 0))
    runner = make_runner()  # the real portable output: it answers "manual"
    runner.run_once(sh(2026, 3, 2, 6, 0))
    runner.run_once(sh(2026, 3, 2, 9, 0), wait=True)
    play_id, status = db.execute("SELECT id, status FROM plays").fetchone()
    assert status == "awaiting_confirmation"

    operator = "+8613700001234"
    sim.sim.inbound_sms(operator, f"PLAYED {play_id}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not sim.sim.phone(operator)["texts"]:
        time.sleep(0.02)

    assert [t["body"] for t in sim.sim.phone(operator)["texts"]] == [f"已确认播放 {play_id}"]
    assert db.execute("SELECT status, confirmed_by FROM plays").fetchone()[:] == ("confirmed", f"sms:{operator}")
    assert db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == 0  # not mistaken for a resident's message
