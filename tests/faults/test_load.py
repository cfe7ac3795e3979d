"""Load: status callbacks at a steady rate while a campaign dispatches and an official keeps
reloading the dashboard — no errors and never "database is locked".

Web (waitress) and worker run as their own processes, as deployed; the simulator and the load
run here. CI runs a short version; the 60-second version is in the slow tier.
"""
import os
import re
import subprocess
import sys
import threading
import time

import pytest
import requests
from twilio.request_validator import RequestValidator

from outreach.db import connect
from outreach.delivery import campaigns, outbox
from outreach.notices import store
from outreach.registry.residents import ResidentInput, upsert
from phonesim import SimServer

SID, TOKEN = "AC" + "8" * 32, "load-test-token"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not start")


def run_load(app, seconds: float, rate: float, residents: int):
    db = connect(app.config["DATABASE"])
    village = db.execute("SELECT id FROM villages WHERE name = '杨家坪村'").fetchone()[0]
    for i in range(residents):
        upsert(db, village, ResidentInput(name=f"村民{i}", phones=[f"+86139300{i:05d}"], house_number=f"L{i}",
                                          birth_year=1940 + i % 50))
    notice = store.create(db, village, "负载通知", "负载测试")
    # Attempts that the load's callbacks report on (claimed so they exist, never sent).
    fake = campaigns.create(db, village_id=village, notice_id=notice, name="callbacks", channel="sms",
                            audience=campaigns.Audience(village_id=village), window="00:00-24:00")
    campaigns.start(db, fake, outbox.now_utc())
    campaigns.set_status(db, fake, campaigns.PAUSED)
    attempts = [r["attempt_id"] for r in outbox.claim(db, [r[0] for r in db.execute(
        "SELECT id FROM outbox WHERE campaign_id = ?", [fake])], "load", outbox.now_utc())]
    real = campaigns.create(db, village_id=village, notice_id=notice, name="real", channel="sms",
                            audience=campaigns.Audience(village_id=village), window="00:00-24:00", throttle_per_s=50)

    web_port = free_port()
    web = f"http://127.0.0.1:{web_port}"
    sim = SimServer(SID, TOKEN, seed="load", step_ms=20, workers=32).start()
    env = dict(os.environ, DALABA_INSTANCE=app.instance_path, DALABA_DATABASE=app.config["DATABASE"],
               DALABA_ENV="dev", SECRET_KEY="load", TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN,
               TWILIO_FROM_NUMBER="+15005550006", TWILIO_API_BASE_URL=sim.url, PUBLIC_BASE_URL=web)
    procs = [subprocess.Popen([os.path.join(BIN, "waitress-serve"), f"--listen=127.0.0.1:{web_port}", "--threads=8",
                               "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE),
             subprocess.Popen([os.path.join(BIN, "flask"), "--app", "wsgi", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)]
    statuses, errors = [], []
    try:
        wait_up(web + "/login")
        campaigns.start(db, real, outbox.now_utc())
        validator = RequestValidator(TOKEN)
        stop_at = time.monotonic() + seconds

        def callbacks(share):
            session = requests.Session()
            i, interval = 0, 4 / rate
            next_at = time.monotonic()
            while time.monotonic() < stop_at:
                attempt = attempts[(i * 4 + share) // 2 % len(attempts)]
                params = {"MessageSid": f"SM{attempt:032d}", "MessageStatus": ("sent", "delivered")[i % 2]}
                path = f"/twilio/status/{attempt}"
                r = session.post(web + path, data=params,
                                 headers={"X-Twilio-Signature": validator.compute_signature(web + path, params)})
                statuses.append(r.status_code)
                i += 1
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))

        def official():
            session = requests.Session()
            page = session.get(web + "/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            session.post(web + "/login", data={"username": "official", "password": "password123", "csrf_token": token})
            while time.monotonic() < stop_at:
                r = session.get(web + "/reach/")
                statuses.append(r.status_code)
                if r.status_code != 200 or "login" in r.url:
                    errors.append(("dashboard", r.status_code, r.url))
                time.sleep(0.5)

        threads = [threading.Thread(target=callbacks, args=(k,)) for k in range(4)]
        threads.append(threading.Thread(target=official))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db.execute("SELECT status FROM campaigns WHERE id = ?", [real]).fetchone()[0] == "done":
                break
            time.sleep(0.3)
        done = db.execute("SELECT status FROM campaigns WHERE id = ?", [real]).fetchone()[0]
    finally:
        for p in procs:
            p.terminate()
        logs = [p.communicate(timeout=30)[1].decode("utf-8", "replace") for p in procs]
        sim.stop()
    assert errors == []
    assert [s for s in statuses if s >= 400] == []
    assert len(statuses) > rate * seconds * 0.5  # the load really ran
    assert done == "done"
    for log in logs:
        assert "database is locked" not in log
        assert "Traceback" not in log, log[-3000:]


def test_callbacks_dispatch_and_dashboard_together(app):
    run_load(app, seconds=8, rate=150, residents=300)


@pytest.mark.slow
def test_sixty_seconds_of_load(app):
    run_load(app, seconds=60, rate=300, residents=2000)
