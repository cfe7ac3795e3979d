"""Fixtures for schedules against a real SQLite file: a notice with real audio files, loudspeakers,
a fake output that implements the Output protocol, and (for the phone terminal and SMS tests) the
app served by a real HTTP server with the phone-network simulator calling its webhooks."""
from __future__ import annotations

import logging
import os
import secrets
import subprocess
import threading
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import imageio_ffmpeg
import pytest

from outreach.db import write
from schedules import store
from schedules.outputs import PlayResult

SH = ZoneInfo("Asia/Shanghai")
ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "schedules-test-token"
VILLAGE_NUMBER = "+8657100000009"
AUDIO_S = 2.0
logging.getLogger("werkzeug").setLevel(logging.WARNING)


def sh(*args) -> datetime:
    """A moment given in Asia/Shanghai wall-clock time."""
    return datetime(*args, tzinfo=SH)


def _ffmpeg(*args):
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True, timeout=30)


@pytest.fixture(scope="session")
def audio_files(tmp_path_factory):
    """A 2-second loudspeaker MP3 and telephone μ-law WAV, made once with the real ffmpeg."""
    folder = tmp_path_factory.mktemp("renditions")
    tone = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={AUDIO_S}"]
    _ffmpeg(*tone, "-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "128k", str(folder / "loudspeaker.mp3"))
    _ffmpeg(*tone, "-ac", "1", "-ar", "8000", "-c:a", "pcm_mulaw", str(folder / "telephone.wav"))
    return folder


@pytest.fixture
def notice(app, db, ids, audio_files):
    """A ready notice of 杨家坪村 with current Mandarin audio (both renditions on disk)."""
    from outreach.notices import store as notices

    notice_id = notices.create(db, ids["yang"], "暂停举办宴席", "即日起暂停举办各类宴席。")
    notices.update(db, notice_id, title="暂停举办宴席", text="即日起暂停举办各类宴席。", status="ready",
                   append_reply_hint=False)
    folder = uuid.uuid4().hex
    os.makedirs(os.path.join(app.config["MEDIA_DIR"], folder))
    for name in ("loudspeaker.mp3", "telephone.wav"):
        data = (audio_files / name).read_bytes()
        with open(os.path.join(app.config["MEDIA_DIR"], folder, name), "wb") as fh:
            fh.write(data)
    with write(db):
        asset_id = db.execute("""INSERT INTO audio_assets (notice_id, village_id, language, origin, folder, original_file,
                                 original_format, duration_s, public_token) VALUES (?, ?, 'mandarin', 'upload', ?,
                                 'loudspeaker.mp3', 'mp3', ?, ?)""",
                              [notice_id, ids["yang"], folder, AUDIO_S, secrets.token_urlsafe(32)]).lastrowid
        for name, file in (("loudspeaker", "loudspeaker.mp3"), ("telephone", "telephone.wav")):
            db.execute("INSERT INTO audio_renditions (asset_id, name, file, size_bytes, duration_s) VALUES (?, ?, ?, 1, ?)",
                       [asset_id, name, file, AUDIO_S])
    return notice_id


@pytest.fixture
def speaker(db, ids):
    """The village's loudspeaker: an ALSA sound card (played through a fake output in most tests)."""
    return store.save_loudspeaker(db, ids["yang"], name="村委会大喇叭", kind="alsa", config={"device": "default"})


@pytest.fixture
def no_quiet(db, ids):
    store.set_quiet_hours(db, ids["yang"], [], now=sh(2026, 1, 1))


class FakeOutput:
    """Implements the Output protocol: records each play and answers with the next scripted result."""

    kind = "alsa"
    rendition = "loudspeaker"

    def __init__(self, results=None, played_s: float = AUDIO_S):
        self.results = list(results or [])
        self.played_s = played_s
        self.calls: list[dict] = []
        self.lock = threading.Lock()

    def describe(self) -> str:
        return "fake output"

    def play(self, audio_path, *, expected_s, timeout_s, on_started):
        with self.lock:
            self.calls.append({"path": audio_path, "expected_s": expected_s})
            result = self.results.pop(0) if self.results else PlayResult(True, self.played_s)
        if result.ok or result.played_s:
            on_started()
        return result

    def make(self, speaker: dict, play: dict):
        return self


@pytest.fixture
def fake():
    return FakeOutput()


@pytest.fixture
def fake_output():
    """The FakeOutput class, for tests that script results: ``fake_output([PlayResult.failed(...)])``."""
    return FakeOutput


@pytest.fixture
def make_runner(app):
    """``make_runner(make=fake.make)`` → a Runner on the test database (stopped at teardown)."""
    from schedules.runner import Runner

    made = []

    def build(**kw):
        runner = Runner(app.config["DATABASE"], app.config["MEDIA_DIR"], **kw)
        made.append(runner)
        return runner

    yield build
    for runner in made:
        runner.drain()
        runner.pool.shutdown()
        runner.db.close()


@pytest.fixture
def network(app, live_url):
    """The app on a real loopback HTTP server and the simulator calling its signed webhooks (the pattern of
    tests/delivery/conftest.py); yields (sim server, gateway config, web url)."""
    from outreach.delivery.gateway import GatewayConfig
    from phonesim import SimServer

    web_url = live_url
    app.config.update(PUBLIC_BASE_URL=web_url, TWILIO_AUTH_TOKEN=AUTH_TOKEN)
    sim = SimServer(ACCOUNT_SID, AUTH_TOKEN, seed="schedules", step_ms=5, phone_number=VILLAGE_NUMBER,
                    sms_url=f"{web_url}/twilio/inbound/sms", voice_url=f"{web_url}/twilio/inbound/voice").start()
    yield sim, GatewayConfig(ACCOUNT_SID, AUTH_TOKEN, "+15005550006", None, web_url, sim.url), web_url
    sim.stop()
