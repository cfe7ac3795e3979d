"""The scheduler loop, run inside the worker process next to the dispatcher.

APScheduler 3.11 only *wakes* it: one job per active schedule (trigger from
:func:`schedules.triggers.apscheduler_trigger`) whose function sets a wake event with the schedule
id, never an object. Every wake — a job, the periodic poll, or the next known due time — runs one
pass over our own tables::

    plan (fires for the next 7 days) ─▶ settle (due fires: FIRE / MISSED / skipped, claimed once)
        ─▶ LED text for fired broadcasts ─▶ claim due plays ─▶ play them on a thread pool

APScheduler's misfire handling is irrelevant: a run it drops is still a planned fire in our table,
and :mod:`schedules.catchup` decides it on the next pass. Two runners on one database (which the
worker's lock prevents anyway) still execute each fire and each play once: every step is a claim.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Callable

from outreach.db import connect, one, rows, scalar, write

from . import planner, plays, store
from .outputs import make_output
from .recurrence import Rule, next_fire_after

log = logging.getLogger("dalaba.scheduler")
UTC = timezone.utc
POLL_S = 5.0  # edits made in the web process are seen within this
LED_TIMEOUT_S = 5.0
PLAN_SLACK = timedelta(hours=1)  # how far the planned week may lag behind before it is topped up


def now_utc() -> datetime:
    return datetime.now(UTC)


class Runner:
    """``run_once(now)`` is one pass (tests call it with a fixed clock); ``start()`` runs it forever."""

    def __init__(self, db_path: str, media_dir: str, *, make: Callable[[dict, dict], object] | None = None,
                 clock: Callable[[], datetime] = now_utc, horizon: timedelta = planner.HORIZON,
                 poll_s: float = POLL_S, workers: int = 8):
        self.db_path, self.media_dir = db_path, media_dir
        self.db = connect(db_path)
        self.make = make or default_make
        self.clock, self.horizon, self.poll_s = clock, horizon, poll_s
        # One thread per loudspeaker playing at once: a long play on one must not delay another.
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="play")
        self._busy: dict[int, Future] = {}  # loudspeaker id → its play in progress in this process
        self._lock = threading.Lock()
        self.wake_event = threading.Event()
        self.woken_by: list[int] = []  # schedule ids of jobs that fired since the last pass
        self._jobs: dict[int, str] = {}  # schedule id → updated_at its job was built from
        self.scheduler = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- one pass ------------------------------------------------------------------------------------
    def run_once(self, now: datetime | None = None, *, wait: bool = False) -> dict:
        now = now or self.clock()
        t0 = time.monotonic()  # the play clock runs from the pass's own start, not from the claim
        # A week is planned ahead: only schedules edited since (watermark reset) or whose watermark fell
        # more than PLAN_SLACK behind need a pass of their own — not one write transaction each, every pass.
        stale = [r["id"] for r in rows(self.db, """SELECT id FROM schedules WHERE status IN ('active', 'paused')
                                                   AND (planned_until IS NULL OR planned_until < ?)""",
                                       [store.iso(now + self.horizon - min(PLAN_SLACK, self.horizon / 4))])]
        planned = planner.plan(self.db, now, horizon=self.horizon, schedule_ids=stale) if stale else 0
        fired = planner.settle(self.db, now)
        for f in fired:
            if f.kind == store.BROADCAST:
                self._push_led(f.fire_id)
        started = self.dispatch_plays(now, t0)
        if wait:
            self.drain()
        return {"planned": planned, "fired": fired, "plays": started, "now": now}

    def dispatch_plays(self, now: datetime, t0: float | None = None) -> list[int]:
        with self._lock:
            self._busy = {k: v for k, v in self._busy.items() if not v.done()}
            busy = set(self._busy)
        t0 = time.monotonic() if t0 is None else t0
        claimed = plays.claim_due(self.db, now, busy=busy)

        def clock() -> datetime:  # the pass's clock moving on in real time (tests pass a fixed ``now``)
            return now + timedelta(seconds=time.monotonic() - t0)

        for play in claimed:
            future = self.pool.submit(self._play, play, clock)
            with self._lock:
                self._busy[play["loudspeaker_id"]] = future
        return [p["id"] for p in claimed]

    def _play(self, play: dict, clock: Callable[[], datetime]) -> None:
        db = connect(self.db_path)  # one connection per play thread
        try:
            plays.execute(db, play, self.make, self.media_dir, clock)
        except Exception:  # recorded as failed so the row never stays in flight
            log.exception("play %s failed unexpectedly", play["id"])
            from .outputs import PlayResult

            plays.record_result(db, play["id"], PlayResult.failed("unknown", "unexpected error in the worker",
                                                                  retryable=False), clock())
        finally:
            db.close()
            self.wake_event.set()  # the loudspeaker is free: a queued play may start now

    def drain(self, timeout_s: float = 60.0) -> None:
        with self._lock:
            futures = list(self._busy.values())
        for future in futures:
            future.result(timeout=timeout_s)

    def _push_led(self, fire_id: int) -> None:
        from .outputs.led import MAX_TEXT, push_led_text

        found = one(self.db, """SELECT v.led_url, n.text, n.title FROM fires f JOIN schedules s ON s.id = f.schedule_id
                                JOIN villages v ON v.id = f.village_id JOIN notices n ON n.id = s.notice_id
                                WHERE f.id = ?""", [fire_id])
        if not found or not found["led_url"]:
            return
        text = (found["text"] or found["title"]).strip()[:MAX_TEXT]
        result = push_led_text(found["led_url"], text, LED_TIMEOUT_S)
        note = "LED sign updated" if result.ok else f"LED sign: {result.error}"
        with write(self.db):
            self.db.execute("UPDATE fires SET note = TRIM(note || ' ' || ?) WHERE id = ?", [note, fire_id])

    # -- the loop ------------------------------------------------------------------------------------
    def start(self) -> "Runner":
        from apscheduler.schedulers.background import BackgroundScheduler

        plays.recover(self.db, self.clock())
        # Our catch-up decides late fires; APScheduler's own misfire logic only ever wakes us.
        self.scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1,
                                                                          "misfire_grace_time": None})
        self.scheduler.start()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self.wake_event.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        self.pool.shutdown(wait=True, cancel_futures=False)
        self.db.close()

    def wake(self, schedule_id: int | None = None) -> None:
        """An APScheduler job: it gets an id, sets the event, and the loop re-reads the rows."""
        if schedule_id is not None:
            self.woken_by.append(schedule_id)
        self.wake_event.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.wake_event.clear()
            self.woken_by.clear()
            wait = self.poll_s
            try:
                result = self.run_once()
                self.sync_jobs()
                wait = self.seconds_to_next(result["now"])
            except Exception:  # one bad pass must not stop the scheduler; the next pass retries
                log.exception("scheduler pass failed")
            self.wake_event.wait(wait)

    def seconds_to_next(self, after: datetime | None = None) -> float:
        """Sleep until the next fire or play due after the pass at ``after``, at most ``poll_s``. Plays
        already due then wait for a busy loudspeaker, whose end sets the wake event."""
        after = after or self.clock()
        at = scalar(self.db, """SELECT MIN(p.next_attempt_at) FROM plays p JOIN fires f ON f.id = p.fire_id
                                WHERE p.status IN ('intent', 'retry') AND p.next_attempt_at > ?
                                AND f.status = 'fired'""", [store.iso(after)])
        candidates = [t for t in (planner.next_due(self.db), store.parse(at) if at else None) if t is not None]
        if not candidates:
            return self.poll_s
        # A tiny floor only guards against spinning if a due fire were somehow left unsettled.
        return min(self.poll_s, max(0.005, (min(candidates) - self.clock()).total_seconds()))

    def sync_jobs(self) -> None:
        """One APScheduler job per active schedule with a fire ahead; rebuilt when the row changes."""
        if self.scheduler is None:
            return
        now = self.clock()
        active = {r["id"]: r for r in rows(self.db, "SELECT id, rule, updated_at FROM schedules WHERE status = 'active'")}
        for schedule_id in list(self._jobs):
            if schedule_id not in active:
                self._remove_job(schedule_id)
        for schedule_id, row in active.items():
            if self._jobs.get(schedule_id) == row["updated_at"]:
                continue
            rule = Rule.from_json(row["rule"])
            self._remove_job(schedule_id)
            if next_fire_after(rule, now) is None:
                continue
            from .triggers import apscheduler_trigger

            self.scheduler.add_job(self.wake, apscheduler_trigger(rule), args=[schedule_id],
                                   id=f"schedule-{schedule_id}", replace_existing=True)
            self._jobs[schedule_id] = row["updated_at"]

    def _remove_job(self, schedule_id: int) -> None:
        self._jobs.pop(schedule_id, None)
        job = self.scheduler.get_job(f"schedule-{schedule_id}")
        if job is not None:
            job.remove()


def default_make(speaker: dict, play: dict):
    """An output for a loudspeaker row, without a phone gateway (phone terminals need :func:`maker`)."""
    return make_output(speaker["kind"], json.loads(speaker["config"] or "{}"))


def maker(caller=None, public_base_url: str = "") -> Callable[[dict, dict], object]:
    """An output factory that gives phone terminals the gateway's call (``schedules.terminal``)."""
    def make(speaker: dict, play: dict):
        config = json.loads(speaker["config"] or "{}")
        if speaker["kind"] != "phone_terminal":
            return make_output(speaker["kind"], config)
        if caller is None:
            raise ValueError("the phone gateway is not configured")
        return make_output(speaker["kind"], config, place_call=caller.for_play(play["id"]),
                           audio_url=lambda path: f"{public_base_url}/twilio/terminal/{play['id']}")
    return make
