"""Webhooks duplicated (30 %) and shuffled on the way in: every final state still matches the network.

A reverse proxy stands where Twilio's callbacks arrive (``PUBLIC_BASE_URL`` points at it, as it
would at a real proxy): call-flow requests pass straight through, status callbacks are held
back, shuffled, and 30 % of them delivered twice.
"""
import http.client
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import logging

import pytest

from outreach.db import connect
from outreach.delivery import campaigns
from outreach.delivery.dispatcher import Dispatcher
from outreach.delivery.gateway import Gateway, GatewayConfig
from outreach.delivery.outbox import now_utc
from outreach.notices import store
from outreach.registry.residents import ResidentInput, upsert
from phonesim import SimServer

SID, TOKEN = "AC" + "6" * 32, "chaos-token"
logging.getLogger("werkzeug").setLevel(logging.WARNING)


class ChaosProxy:
    def __init__(self, target: str, seed: int, duplicate: float = 0.3):
        self.target = urlsplit(target)
        self.rng = random.Random(seed)
        self.duplicate = duplicate
        self.held, self.lock = [], threading.Lock()
        self.forwarded = self.duplicated = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "x-twilio-signature")}
                if self.path.startswith("/twilio/status/"):
                    with proxy.lock:
                        proxy.held.append((self.path, body, headers))
                    self.send_response(204)
                    self.end_headers()
                    return
                status, reply, ctype = proxy.forward(self.path, body, headers)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def do_GET(self):
                status, reply, ctype = proxy.forward(self.path, None, {}, method="GET")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self.server.serve_forever, daemon=True),
                        threading.Thread(target=self._release, daemon=True)]

    def forward(self, path, body, headers, method="POST"):
        conn = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=30)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, data, response.getheader("Content-Type", "text/plain")

    def _release(self):
        while not self.stop_event.wait(0.15):
            with self.lock:
                batch, self.held = self.held, []
            batch += [item for item in batch if self.rng.random() < self.duplicate]
            self.duplicated += len(batch) - len({id(b) for b in batch})
            self.rng.shuffle(batch)
            for path, body, headers in batch:
                status, _, _ = self.forward(path, body, headers)
                assert status < 300, (path, status)
                self.forwarded += 1

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_event.set()
        self.server.shutdown()


@pytest.fixture
def chaos(app, live_url):
    proxy = ChaosProxy(live_url, seed=7).start()
    app.config.update(PUBLIC_BASE_URL=proxy.url, TWILIO_AUTH_TOKEN=TOKEN)
    sim = SimServer(SID, TOKEN, seed="chaos", step_ms=5).start()
    yield app, proxy, sim
    sim.stop()
    proxy.stop()


def test_duplicated_and_shuffled_callbacks_end_in_the_right_states(chaos):
    app, proxy, sim = chaos
    db = connect(app.config["DATABASE"])
    village = db.execute("SELECT id FROM villages WHERE name = '杨家坪村'").fetchone()[0]
    rng = random.Random(3)
    for i in range(60):
        number = f"+86139400{i:05d}"
        upsert(db, village, ResidentInput(name=f"村民{i}", phones=[number], house_number=f"C{i}"))
        sim.sim.put_resident(number, answer_probability=rng.choice([0.0, 1.0, 1.0]), busy_probability=rng.choice([0, 0.5]),
                             voicemail_probability=0, keys=[rng.choice(["1", ""])], patience_s=300,
                             sms_fail_probability=0.2, reply_probability=0)
    notice = store.create(db, village, "混沌测试", "请按1。")
    dispatcher = Dispatcher(app.config["DATABASE"], Gateway(GatewayConfig(SID, TOKEN, "+15005550006", None, proxy.url,
                                                                          sim.url)))
    ids = {}
    for channel in ("sms", "voice"):
        ids[channel] = campaigns.create(db, village_id=village, notice_id=notice, name=channel, channel=channel,
                                        audience=campaigns.Audience(village_id=village), window="00:00-24:00",
                                        throttle_per_s=50, max_attempts=2,
                                        retry_waits={"busy": 0, "no-answer": 0, "failed": 0, "canceled": 0})
        campaigns.start(db, ids[channel], now_utc())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        dispatcher.tick()
        states = {r[0] for r in db.execute("SELECT status FROM campaigns")}
        if states == {"done"}:
            break
        time.sleep(0.1)
    sim.sim.wait_idle(10)
    time.sleep(0.5)  # the proxy's last held batch
    dispatcher.close()
    assert states == {"done"}
    assert proxy.duplicated > 10  # the chaos really happened

    record = sim.sim.record()
    sms_final = {m["to"]: m["status"] for m in record["messages"] if m.get("direction") == "outbound-api"}
    for to, status, outcome in db.execute("SELECT to_e164, status, outcome FROM outbox WHERE campaign_id = ?",
                                          [ids["sms"]]):
        assert (status == "done") == (sms_final[to] == "delivered"), (to, status, sms_final[to])
    calls: dict[str, list] = {}
    for c in record["calls"]:
        calls.setdefault(c["to"], []).append(c)
    for to, status, outcome, attempts in db.execute(
            "SELECT to_e164, status, outcome, attempts FROM outbox WHERE campaign_id = ?", [ids["voice"]]):
        made = calls[to]
        answered = any(c["status"] == "completed" for c in made)
        assert (status, outcome) == (("done", "answered") if answered else ("failed", made[-1]["status"])), to
        assert attempts == len(made) <= 2, (to, status, outcome, attempts, [(c["status"], c.get("answered_by"), c.get("ended_by")) for c in made], list(db.execute("SELECT a.number, a.status, a.provider_sid FROM attempts a JOIN outbox o ON o.id = a.outbox_id WHERE o.to_e164 = ? AND o.campaign_id = ?", [to, ids["voice"]])))
    answered = {to for to, made in calls.items() if any(c["status"] == "completed" for c in made)}
    acks = [r[0] for r in db.execute("SELECT from_e164 FROM responses WHERE kind = 'ack' AND channel = 'voice'")]
    assert acks and set(acks) <= answered and len(acks) == len(set(acks))  # one acknowledgement per person
