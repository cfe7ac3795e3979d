"""Kill -9 the worker at random points of a campaign, restart it, and compare with the network.

The web app (webhooks) and the simulator run in this process; the worker is a real
``flask --app wsgi worker`` child process killed with SIGKILL again and again. At the end every
planned resident has exactly one text at the simulator: none twice, none missing.
"""
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from outreach.db import connect
from outreach.delivery import campaigns
from outreach.delivery.outbox import now_utc
from outreach.notices import store
from outreach.registry.residents import ResidentInput, upsert
from phonesim import SimServer

SID, TOKEN = "AC" + "9" * 32, "kill-test-token"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def stack(app, live_url):
    url = live_url
    app.config.update(PUBLIC_BASE_URL=url, TWILIO_AUTH_TOKEN=TOKEN)
    # Slow callbacks (3 s per step): the provider look-up, not a callback, must stop the resends.
    sim = SimServer(SID, TOKEN, seed="kill", step_ms=3000, latency_ms=100, workers=64).start()
    yield app, url, sim
    sim.stop()


def start_worker(app, url, sim):
    env = dict(os.environ, DALABA_INSTANCE=app.instance_path, DALABA_DATABASE=app.config["DATABASE"],
               DALABA_ENV="dev", SECRET_KEY="x", TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN,
               TWILIO_FROM_NUMBER="+15005550006", TWILIO_API_BASE_URL=sim.url, PUBLIC_BASE_URL=url,
               DALABA_ORPHAN_AFTER_S="1.5")
    return subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "wsgi", "worker"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run_with_kills(app, url, sim, residents: int, kills: int, seed: int):
    db = connect(app.config["DATABASE"])
    village = db.execute("SELECT id FROM villages WHERE name = '杨家坪村'").fetchone()[0]
    for i in range(residents):
        upsert(db, village, ResidentInput(name=f"村民{i}", phones=[f"+86139200{i:05d}"], house_number=f"K{i}"))
    notice = store.create(db, village, "通知", "请注意防疫。")
    campaign = campaigns.create(db, village_id=village, notice_id=notice, name="kill test", channel="sms",
                                audience=campaigns.Audience(village_id=village), window="00:00-24:00",
                                throttle_per_s=150)
    campaigns.start(db, campaign, now_utc())
    rng = random.Random(seed)

    def accepted():
        return db.execute("SELECT COUNT(*) FROM outbox WHERE campaign_id = ? AND status NOT IN ('pending', 'retry', "
                          "'sending', 'unknown')", [campaign]).fetchone()[0]

    for _ in range(kills):
        before = accepted()
        worker = start_worker(app, url, sim)
        waited = time.monotonic() + 30
        while accepted() == before and worker.poll() is None and time.monotonic() < waited:
            time.sleep(0.02)  # kill only once this worker is really sending: requests are in flight
        time.sleep(rng.uniform(0.0, 0.3))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    sent_before_last_start = len([m for m in sim.sim.record()["messages"] if m.get("direction") == "outbound-api"])
    in_flight = db.execute("SELECT COUNT(*) FROM outbox WHERE status IN ('sending', 'unknown')").fetchone()[0]
    worker = start_worker(app, url, sim)
    try:
        deadline = time.monotonic() + 60 + residents / 50
        while time.monotonic() < deadline:
            status = db.execute("SELECT status FROM campaigns WHERE id = ?", [campaign]).fetchone()[0]
            if status == "done":
                break
            time.sleep(0.3)
        assert status == "done", campaigns.progress(db, campaign)
    finally:
        worker.terminate()
        worker.wait(30)
    sim.sim.wait_idle(20)
    planned = {r[0] for r in db.execute("SELECT to_e164 FROM outbox WHERE campaign_id = ?", [campaign])}
    counts = {}
    for m in sim.sim.record()["messages"]:
        if m.get("direction") == "outbound-api":
            counts[m["to"]] = counts.get(m["to"], 0) + 1
    twice = {n: c for n, c in counts.items() if c > 1}
    missing = planned - set(counts)
    assert twice == {} and missing == set()
    assert set(counts) == planned
    # The kills really interrupted the campaign: part of it was sent by workers that were killed.
    assert 0 < sent_before_last_start < residents
    return in_flight


def test_kill_9_during_a_campaign_sends_everyone_exactly_once(stack):
    app, url, sim = stack
    run_with_kills(app, url, sim, residents=300, kills=4, seed=1)


@pytest.mark.slow
def test_kill_9_many_times_during_a_5000_recipient_campaign(stack):
    app, url, sim = stack
    run_with_kills(app, url, sim, residents=5000, kills=30, seed=2)
