"""Helpers for bench_play_delay.py (P6): the village's notice audio and loudspeakers, the fires, the P2
load borrowed from bench_callbacks.py, and the probes that time each step of the real fire path.

Nothing here changes the app: the probes wrap module functions of ``schedules.planner`` and
``schedules.plays`` (the runner calls them through the module, so a wrapper sees every call) and the
output through the Runner's own ``make`` hook. Each wrapper only reads the clock and calls the original.
"""
from __future__ import annotations

import importlib.util
import math
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

from _common import ROOT, free_port, wait_for

UTC = timezone.utc
NOTICE_TEXT = "暂停举办宴席"  # ~2.5 s of speech from espeak-ng: a short loudspeaker notice


# ---- the village: notice with real audio, loudspeakers ---------------------------------------------

def make_notice(db, media_dir: str, village_id: int) -> tuple[int, float]:
    """A ready notice whose current Mandarin audio went through the real upload processing;
    returns (notice id, loudspeaker rendition seconds)."""
    from audio.process import process_upload
    from outreach.notices import store as notices

    notice_id = notices.create(db, village_id, "暂停举办宴席的通知", NOTICE_TEXT)
    notices.update(db, notice_id, title="暂停举办宴席的通知", text=NOTICE_TEXT, status=notices.READY,
                   append_reply_hint=False)
    folder, absolute = notices.new_asset_folder(media_dir)
    original = os.path.join(absolute, "upload.wav")
    try:
        from audio import tts

        tts.synthesize(NOTICE_TEXT, original)
    except Exception:  # no espeak-ng: a 2.5 s tone is as good for timing
        import imageio_ffmpeg

        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi",
                        "-i", "sine=frequency=440:duration=2.5", "-ac", "1", "-ar", "44100", "-y", original],
                       check=True, timeout=60)
    processed = process_upload(original, absolute)
    notices.add_audio(db, media_dir, notice_id, "mandarin", "upload", folder, original, processed)
    return notice_id, processed.renditions["loudspeaker"].duration_s


def make_speakers(db, village_id: int, n: int) -> list[int]:
    """n ALSA loudspeakers on the null device (aplay runs for real; nothing needs a sound card)."""
    from schedules import store

    return [store.save_loudspeaker(db, village_id, name=f"{i + 1}号大喇叭", kind="alsa", config={"device": "null"})
            for i in range(n)]


# ---- fires --------------------------------------------------------------------------------------------

def timed_schedules(db, village_id: int, notice_id: int, speakers: list[int], instants: list[datetime],
                    now: datetime) -> list[int]:
    """One schedule per instant, round-robin over the loudspeakers, fired at sub-minute instants.

    Rules only know HH:MM, so a fire every second cannot come from a rule. Each schedule gets a real
    one-off rule (tomorrow), the real planner plans its fire, then only that fire's ``fire_at``/``due_at``
    are moved to the wanted instant. From the fires table on, everything is the product's path."""
    from outreach.db import write
    from schedules import planner, store
    from schedules.recurrence import Rule

    tomorrow = (now + timedelta(days=1)).astimezone(_village_tz(db, village_id)).date()
    ids = [store.create(db, village_id=village_id, kind="broadcast", name=f"测试广播{i + 1}", notice_id=notice_id,
                        rule=Rule.once(tomorrow, "09:00"), now=now, loudspeaker_id=speakers[i % len(speakers)])
           for i in range(len(instants))]
    planner.plan(db, now, schedule_ids=ids)
    with write(db):
        for schedule_id, at in zip(ids, instants):
            db.execute("UPDATE fires SET fire_at = ?, due_at = ? WHERE schedule_id = ?",
                       [store.iso(at), store.iso(at), schedule_id])
    return ids


def _village_tz(db, village_id: int):
    from zoneinfo import ZoneInfo

    from outreach.db import scalar

    return ZoneInfo(scalar(db, "SELECT timezone FROM villages WHERE id = ?", [village_id]))


def village_minute_schedule(db, village_id: int, notice_id: int, at: datetime, now: datetime) -> int:
    """A village-wide broadcast (every loudspeaker) with a real one-off rule at ``at``, a whole minute: the
    planner computes its fire time and sync_jobs gives APScheduler a DateTrigger job for it."""
    from schedules import store
    from schedules.recurrence import Rule

    local = at.astimezone(_village_tz(db, village_id))
    return store.create(db, village_id=village_id, kind="broadcast", name="整点广播", notice_id=notice_id,
                        rule=Rule.once(local.date(), f"{local:%H:%M}"), now=now)


# ---- P2 load: bench_callbacks' server and clients ------------------------------------------------------

def p2_attempts(db, village_id: int, n: int) -> list[int]:
    """n SMS attempts claimed as sent, so every status callback moves a real row (as bench_callbacks)."""
    from outreach.delivery import campaigns, outbox
    from outreach.notices import store as notices

    notice = notices.create(db, village_id, "基准通知", "基准")
    campaign = campaigns.create(db, village_id=village_id, notice_id=notice, name="bench", channel="sms",
                                audience=campaigns.Audience(village_id=village_id), window="00:00-24:00")
    campaigns.start(db, campaign, outbox.now_utc())
    ids = [r["id"] for r in outbox.due(db, outbox.now_utc(), n)]
    return [row["attempt_id"] for row in outbox.claim(db, ids, "bench", outbox.now_utc())]


class P2Load:
    """The app under waitress in its own process (bench_callbacks.SERVER) and ``clients`` processes
    posting signed status callbacks as fast as it answers (bench_callbacks.client)."""

    def __init__(self, work: str, db_path: str, *, threads: int = 8):
        from bench_callbacks import SERVER, TOKEN

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, DALABA_INSTANCE=work, DALABA_DATABASE=db_path, SECRET_KEY="bench",
                   TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=self.url, DALABA_ENV="dev")
        self.server = subprocess.Popen([sys.executable, "-c", SERVER.format(root=ROOT, port=port, threads=threads)],
                                       cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.url + "/login")
        self.procs, self.queue, self.seconds = [], None, 0.0

    def start(self, attempt_ids: list[int], seconds: float, clients: int) -> None:
        from bench_callbacks import client

        # spawn, not fork: this process is about to run the scheduler's threads.
        ctx = multiprocessing.get_context("spawn")
        self.queue, self.seconds = ctx.Queue(), seconds
        chunks = [attempt_ids[k::clients] for k in range(clients)]
        self.procs = [ctx.Process(target=client, args=(self.url, "/twilio/status/{}", chunk, seconds, self.queue, False))
                      for chunk in chunks]
        for p in self.procs:
            p.start()

    def finish(self) -> tuple[int, float]:
        """(callbacks answered, p99 ms); exits if a callback was refused."""
        latencies = []
        for _ in self.procs:
            kind, value = self.queue.get(timeout=self.seconds + 60)
            if kind == "error":
                sys.exit(f"P2 load: a status callback answered HTTP {value}")
            latencies += value
        for p in self.procs:
            p.join()
        latencies.sort()
        return len(latencies), (latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000 if latencies else 0.0)

    def stop(self) -> None:
        for p in self.procs:
            if p.is_alive():
                p.kill()
        self.server.terminate()
        self.server.wait(10)


class BusyLoad:
    """``n`` processes spinning on the CPU (the old stand-in's load), for comparison runs."""

    def __init__(self, n: int):
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]

    def stop(self) -> None:
        for p in self.procs:
            p.kill()
            p.wait()


# ---- probes on the fire path -----------------------------------------------------------------------------

class Probe:
    """Wall-clock marks per play id and per pass, taken by thin wrappers around the real functions."""

    def __init__(self):
        self.lock = threading.Lock()
        self.play: dict[int, dict[str, float]] = {}  # play id → {step: time.time()}
        self.calls: dict[str, list[tuple[float, float]]] = {}  # function → [(start, seconds)]
        self.wakes: list[tuple[float, int]] = []  # APScheduler job runs: (time, schedule id)
        self.sleeps: list[tuple[float, float, float]] = []  # the loop's waits: (start, timeout, slept)

    def mark(self, play_id: int, step: str) -> None:
        with self.lock:
            self.play.setdefault(play_id, {}).setdefault(step, time.time())

    def timed(self, name: str, fn):
        def wrapper(*args, **kwargs):
            t0 = time.time()
            try:
                return fn(*args, **kwargs)
            finally:
                with self.lock:
                    self.calls.setdefault(name, []).append((t0, time.time() - t0))
        return wrapper

    def install(self, runner) -> list:
        """Wrap the steps the runner takes; returns what to undo."""
        from schedules import planner, plays

        undo = []

        def patch(module, name, new):
            undo.append((module, name, getattr(module, name)))
            setattr(module, name, new)

        for name in ("plan", "settle"):
            patch(planner, name, self.timed(f"planner.{name}", getattr(planner, name)))
        claim, execute, started = plays.claim_due, plays.execute, plays.mark_started

        def claim_due(db, now, **kw):
            claimed = self.timed("plays.claim_due", claim)(db, now, **kw)
            for p in claimed:
                self.mark(p["id"], "claimed")
            return claimed

        def execute_(db, play, *args, **kw):
            self.mark(play["id"], "thread")
            return execute(db, play, *args, **kw)

        def mark_started(db, play_id, at):
            self.timed("plays.mark_started (write)", started)(db, play_id, at)

        patch(plays, "claim_due", claim_due)
        patch(plays, "execute", execute_)
        patch(plays, "mark_started", mark_started)
        from schedules.outputs import alsa

        undo.append((alsa, "subprocess", alsa.subprocess))
        alsa.subprocess = _TimedSubprocess(self)  # only alsa's Popen calls (aplay, ffmpeg) are timed
        for name in ("sync_jobs", "seconds_to_next", "run_once"):
            setattr(runner, name, self.timed(f"Runner.{name}", getattr(runner, name)))
        wake = runner.wake

        def wake_(schedule_id=None):
            with self.lock:
                self.wakes.append((time.time(), schedule_id))
            wake(schedule_id)
        runner.wake = wake_  # sync_jobs hands self.wake to APScheduler: this one
        runner.wake_event = _TimedEvent(self)  # only the scheduler loop waits on it
        return undo

    @staticmethod
    def uninstall(undo: list) -> None:
        for module, name, original in reversed(undo):
            setattr(module, name, original)


class _TimedEvent(threading.Event):
    """The runner's wake event, noting how long the loop meant to sleep and how long it slept."""

    def __init__(self, probe: Probe):
        super().__init__()
        self._probe = probe

    def wait(self, timeout=None):
        t0 = time.time()
        woken = super().wait(timeout)
        with self._probe.lock:
            self._probe.sleeps.append((t0, timeout if timeout is not None else math.inf, time.time() - t0))
        return woken


class _TimedSubprocess:
    """Stands in for the ``subprocess`` module inside ``schedules.outputs.alsa``: Popen is timed."""

    def __init__(self, probe: Probe):
        self._probe = probe

    def __getattr__(self, name):
        return getattr(subprocess, name)

    def Popen(self, args, **kwargs):  # noqa: N802 (the name it replaces)
        name = os.path.basename(args[0]).split("-")[0]
        return self._probe.timed(f"alsa: Popen {name}", subprocess.Popen)(args, **kwargs)


class TimedOutput:
    """The real output, with two marks: when the worker asks it to play and when audio flows."""

    def __init__(self, output, play_id: int, probe: Probe):
        self.output, self.play_id, self.probe = output, play_id, probe
        self.kind, self.rendition = output.kind, output.rendition

    def describe(self) -> str:
        return self.output.describe()

    def play(self, audio_path, *, expected_s, timeout_s, on_started):
        self.probe.mark(self.play_id, "output")

        def started():
            self.probe.mark(self.play_id, "audio")
            on_started()

        return self.output.play(audio_path, expected_s=expected_s, timeout_s=timeout_s, on_started=started)


def timed_make(probe: Probe, make):
    """A Runner ``make`` that wraps the real output (``schedules.runner.default_make``)."""
    def build(speaker, play):
        return TimedOutput(make(speaker, play), play["id"], probe)
    return build


def load_runner(path: str | None):
    """schedules.runner's Runner, or the Runner of a scratch copy of runner.py (to try a fix)."""
    if not path:
        from schedules import runner

        return runner
    spec = importlib.util.spec_from_file_location("schedules._scratch_runner", os.path.abspath(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# ---- figures ---------------------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile: with fewer than 100 samples p99 is the largest one."""
    if not values:
        return float("inf")
    ordered = sorted(values)
    rank = math.ceil(q * len(ordered) - 1e-9)
    return ordered[min(len(ordered), max(1, rank)) - 1]


def summary(label: str, values: list[float]) -> str:
    if not values:
        return f"{label:<34} (none)"
    return (f"{label:<34} p50 {pct(values, .5) * 1000:7.0f}  p95 {pct(values, .95) * 1000:7.0f}  "
            f"p99 {pct(values, .99) * 1000:7.0f}  max {max(values) * 1000:7.0f} ms  (n={len(values)})")


def parse_iso(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def aplay_available() -> bool:
    return shutil.which("aplay") is not None
