"""The field simulation's machinery: a fast simulated clock and the phone network of one village.

The network is the one the delivery tests use, in one process: the app's webhooks served by a real
HTTP server on 127.0.0.1, the phone-network simulator (``phonesim``) calling them, signed, and a
dispatcher sending through the real twilio client.

Time: the product computes retry times from the real clock (``outcomes.on_status`` uses
``now_utc()``), so the simulated clock is the real one scaled — ``simulated = start + real * speed`` —
and everything given in simulated seconds (retry waits, the throttle) is divided (multiplied) by
``speed`` before it reaches the product. Between the day's events the clock jumps ahead.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from .db import connect
from .delivery import campaigns
from .delivery.dispatcher import Dispatcher
from .delivery.gateway import Gateway, GatewayConfig

ACCOUNT_SID = "AC" + "f1e1d" * 6 + "00"
AUTH_TOKEN = "fieldsim-token"
FROM_NUMBER = "+862388880001"  # the demo village's number
POLL_S = 0.05  # dispatcher pass interval (real seconds)


class SimClock:
    """Simulated time: runs ``speed`` times faster than the real clock and can jump ahead."""

    def __init__(self, start: datetime, speed: float):
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs an aware start time")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed, self.tz = float(speed), start.tzinfo
        self._anchor, self._real = start, time.monotonic()

    def now(self) -> datetime:
        """In the start time's zone (the village's), so it prints as local time."""
        return (self._anchor + timedelta(seconds=(time.monotonic() - self._real) * self.speed)).astimezone(self.tz)

    def jump(self, to: datetime) -> datetime:
        """Move on to ``to`` (never back: what happened has happened)."""
        if to > self.now():
            self._anchor, self._real = to, time.monotonic()
        return self.now()

    def real_seconds(self, simulated_s: float) -> int:
        """A simulated wait as the whole real seconds the product will wait."""
        return max(0, round(simulated_s / self.speed))


class PhoneNetwork:
    """Webhooks server + phone simulator + dispatcher for one app (one database). Use as a context."""

    def __init__(self, app, *, seed, workers: int = 16):
        from werkzeug.serving import make_server

        from phonesim import SimServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        app.config.update(PUBLIC_BASE_URL=self.url, TWILIO_AUTH_TOKEN=AUTH_TOKEN)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        self.sim_server = SimServer(ACCOUNT_SID, AUTH_TOKEN, seed=str(seed), step_ms=5, phone_number=FROM_NUMBER,
                                    workers=32, sms_url=f"{self.url}/twilio/inbound/sms",
                                    voice_url=f"{self.url}/twilio/inbound/voice").start()
        self.sim = self.sim_server.sim
        self.db_path = app.config["DATABASE"]
        self.db = connect(self.db_path)
        config = GatewayConfig(ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, None, self.url, self.sim_server.url)
        self.dispatcher = Dispatcher(self.db_path, Gateway(config), workers=workers)

    def __enter__(self) -> "PhoneNetwork":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add_residents(self, profiles: list[dict]) -> None:
        for profile in profiles:
            values = dict(profile)
            self.sim.put_resident(values.pop("number"), **values)

    def run_campaign(self, campaign_id: int, clock: SimClock, *, until: datetime) -> str:
        """Tick the dispatcher, keeping the residents' clock on simulated time, until the campaign is
        done (and the network idle) or the simulated clock reaches ``until``. Returns the status."""
        status = ""
        while clock.now() < until:
            self.sim.set_clock(clock.now())
            self.dispatcher.tick()
            status = self.db.execute("SELECT status FROM campaigns WHERE id = ?", [campaign_id]).fetchone()[0]
            if status in (campaigns.DONE, campaigns.CANCELLED):
                self.dispatcher.drain(30)
                self.sim.wait_idle(30)  # late callbacks and text replies still land
                return status
            time.sleep(POLL_S)
        return status

    def close(self) -> None:
        self.dispatcher.drain(10)
        self.dispatcher.close()
        self.db.close()
        self.sim_server.stop()
        self.server.shutdown()
        self.thread.join(5)
