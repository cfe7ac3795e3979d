"""The phone network for delivery tests: the app served by a real HTTP server, the simulator
calling its webhooks (signed), and a dispatcher sending through the real twilio client."""
from __future__ import annotations

import logging
import time

import pytest

from outreach.db import connect
from outreach.delivery import campaigns
from outreach.delivery.dispatcher import Dispatcher
from outreach.delivery.gateway import Gateway, GatewayConfig
from outreach.delivery.outbox import now_utc
from phonesim import SimServer

ACCOUNT_SID = "AC" + "7" * 32
AUTH_TOKEN = "delivery-test-token"
VILLAGE_NUMBER = "+8657100000001"
logging.getLogger("werkzeug").setLevel(logging.WARNING)

# Waits of zero make retries immediate; the calling window spans the whole day.
FAST = dict(retry_waits={"busy": 0, "no-answer": 0, "failed": 0, "canceled": 0, "machine": 0},
            window="00:00-24:00", throttle_per_s=50)


class Network:
    def __init__(self, app, sim: SimServer, web_url: str):
        self.app, self.sim, self.url = app, sim, web_url
        self.db = connect(app.config["DATABASE"])
        self.config = GatewayConfig(ACCOUNT_SID, AUTH_TOKEN, "+15005550006", None, web_url, sim.url)
        self.dispatcher = Dispatcher(app.config["DATABASE"], Gateway(self.config), workers=8)

    def campaign(self, notice_id: int, village_id: int, channel: str, audience=None, **options) -> int:
        settings = {**FAST, **options}
        audience = audience or campaigns.Audience(village_id=village_id)
        campaign_id = campaigns.create(self.db, village_id=village_id, notice_id=notice_id, name="测试外呼",
                                       channel=channel, audience=audience, **settings)
        campaigns.start(self.db, campaign_id, now_utc())
        return campaign_id

    def run_until_done(self, campaign_id: int, timeout_s: float = 60.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.dispatcher.tick()
            status = self.db.execute("SELECT status FROM campaigns WHERE id = ?", [campaign_id]).fetchone()[0]
            if status == "done":
                self.sim.sim.wait_idle(10)  # late callbacks (e.g. delivered after done) still land
                return status
            time.sleep(0.05)
        raise AssertionError(f"campaign {campaign_id} not done after {timeout_s} s: "
                             f"{campaigns.progress(self.db, campaign_id)}")

    def close(self):
        self.dispatcher.drain(10)
        self.dispatcher.close()
        self.db.close()


@pytest.fixture
def network(app, live_url):
    web_url = live_url
    app.config.update(PUBLIC_BASE_URL=web_url, TWILIO_AUTH_TOKEN=AUTH_TOKEN)
    sim = SimServer(ACCOUNT_SID, AUTH_TOKEN, seed="dalaba", step_ms=5, phone_number=VILLAGE_NUMBER,
                    sms_url=f"{web_url}/twilio/inbound/sms", voice_url=f"{web_url}/twilio/inbound/voice").start()
    net = Network(app, sim, web_url)
    yield net
    net.close()
    sim.stop()


@pytest.fixture
def notice(app, db, ids):
    """A ready notice of 杨家坪村 with Mandarin audio (a real upload through the pipeline)."""
    import pathlib

    from audio.process import process_upload
    from outreach.notices import store

    notice_id = store.create(db, ids["yang"], "暂停举办宴席", "即日起暂停举办各类宴席。")
    store.update(db, notice_id, title="暂停举办宴席", text="即日起暂停举办各类宴席。", status="ready",
                 append_reply_hint=True)
    media = app.config["MEDIA_DIR"]
    folder, absolute = store.new_asset_folder(media)
    src = pathlib.Path(__file__).parent.parent / "audio" / "corpus" / "speech.m4a"
    original = pathlib.Path(absolute) / "original"
    original.write_bytes(src.read_bytes())
    processed = process_upload(str(original), absolute)
    store.add_audio(db, media, notice_id, "mandarin", "upload", folder, str(original), processed)
    return notice_id
