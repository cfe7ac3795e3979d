"""The dispatcher: claims due outbox rows and sends them through the gateway, paced and concurrent.

It runs in the worker process (``flask --app wsgi worker``), never in web workers. One pass
(:meth:`Dispatcher.tick`) does, in order:

1. cancelled/expired campaigns' due rows are closed;
2. in-flight rows this process does not own (a crash left them) are reconciled with the provider;
3. due rows inside their village's calling window are claimed (committed) and handed to a
   thread pool, each at its own time slot so a campaign never exceeds its throttle;
4. campaigns with nothing left to do are marked done.
"""
from __future__ import annotations

import math
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from schedules.quiet_hours import AllowedWindow

from ..db import connect, one, write
from ..notices import sms_text, store as notices, variants
from ..registry.places import today_label
from . import gateway as gw, interactions, notify, outbox, outcomes

REMINDER_CHECK = timedelta(minutes=5)
ORPHAN_MARGIN_S = 5.0  # beyond the API timeout: a request still in flight at the provider has landed by then


class RatePacer:
    """Hands out send times at most ``rate`` per second per key (a campaign)."""

    def __init__(self):
        self._next: dict[int, float] = {}
        self._lock = threading.Lock()

    def slot(self, key: int, rate: float, now: float) -> float:
        with self._lock:
            at = max(now, self._next.get(key, 0.0))
            self._next[key] = at + 1.0 / max(rate, 0.001)
            return at

    def backlog(self, key: int, now: float) -> float:
        with self._lock:
            return max(0.0, self._next.get(key, 0.0) - now)


class Dispatcher:
    def __init__(self, db_path: str, gateway: gw.Gateway, *, workers: int = 16, worker_id: str | None = None,
                 lookahead_s: float = 1.0, retry_after_429_s: float = 5.0, orphan_after_s: float | None = None):
        self.db_path = db_path
        self.db = connect(db_path)
        self.gateway = gateway
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="send")
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{time.time():.0f}"
        self.pacer = RatePacer()
        self.lookahead_s = lookahead_s
        self.retry_after_429_s = retry_after_429_s
        # In-flight rows older than this, not sent by this process, belong to a dead worker. It must
        # exceed the API timeout: a request the dead worker sent may still be landing at the provider.
        if orphan_after_s is None:
            orphan_after_s = float(os.environ.get("DALABA_ORPHAN_AFTER_S", gateway.config.timeout_s + ORPHAN_MARGIN_S))
        self.orphan_after = timedelta(seconds=orphan_after_s)
        self._local = threading.local()
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()
        self.sent = 0
        self._next_reminder_check = datetime.min.replace(tzinfo=outbox.now_utc().tzinfo)

    # -- one pass --------------------------------------------------------------------------
    def tick(self, now: datetime | None = None) -> int:
        now = now or outbox.now_utc()
        outbox.expire_and_cancel(self.db, now)
        self.reconcile(now)
        claimed = self.claim(now)
        if now >= self._next_reminder_check:  # pledge reminders: a cheap query, but not every pass
            notify.queue_pledge_reminders(self.db, now)
            self._next_reminder_check = now + REMINDER_CHECK
        for row in notify.claim(self.db, now):  # carers' alerts and reminders: few, sent at once
            self.pool.submit(lambda r=row: notify.send(self._thread_db(), self.gateway, r, outbox.now_utc()))
        self.finish_campaigns(now)
        return claimed

    def _thread_db(self):
        if not hasattr(self._local, "db"):
            self._local.db = connect(self.db_path)
        return self._local.db

    def claim(self, now: datetime) -> int:
        wall = time.monotonic()
        chosen, deferred = [], []
        room: dict[int, int] = {}  # sends each campaign may still book within the lookahead
        windows: dict[tuple, AllowedWindow] = {}
        for row in outbox.due(self.db, now, limit=2000):
            key = (row["window_start"], row["window_end"], row["timezone"])
            if key not in windows:
                windows[key] = AllowedWindow([f"{row['window_start']}-{row['window_end']}"], timezone=row["timezone"])
            allowed_at = windows[key].next_allowed(now)
            if allowed_at > now:
                deferred.append((row["id"], allowed_at))
                continue
            campaign_id, rate = row["campaign_id"], row["throttle_per_s"]
            if campaign_id not in room:
                free_s = self.lookahead_s - self.pacer.backlog(campaign_id, wall)
                room[campaign_id] = max(0, math.ceil(free_s * rate))
            if room[campaign_id] <= 0:
                continue  # the throttle is booked for now: claim later, never early
            room[campaign_id] -= 1
            chosen.append(row)
        for outbox_id, at in deferred:
            outbox.defer(self.db, outbox_id, at)
        claimed = outbox.claim(self.db, [r["id"] for r in chosen], self.worker_id, now)
        rates = {r["id"]: r["throttle_per_s"] for r in chosen}
        self._prepare_bodies(claimed)
        for row in claimed:
            with self._lock:
                self._in_flight.add(row["id"])
            start = self.pacer.slot(row["campaign_id"], rates[row["id"]], wall)
            self.pool.submit(self._send, row, start)
        return len(claimed)

    def _prepare_bodies(self, claimed: list[dict]) -> None:
        """Render each SMS once and keep it on the attempt: reconciliation compares bodies."""
        sms = [r for r in claimed if r["channel"] == "sms"]
        if not sms:
            return
        cache: dict[int, dict] = {}
        bodies = []
        for row in sms:
            camp = one(self.db, "SELECT notice_id FROM campaigns WHERE id = ?", [row["campaign_id"]])
            notice = cache.get(camp["notice_id"]) or cache.setdefault(camp["notice_id"],
                                                                        notices.get(self.db, camp["notice_id"]))
            resident = one(self.db, "SELECT name, language FROM residents WHERE id = ?", [row["resident_id"]])
            template = variants.sms_template(notice, resident["language"])
            try:
                body = sms_text.render(template, {"name": resident["name"], "village": notice["village_name"],
                                                  "date": today_label(self.db, notice["village_id"])})
            except ValueError:
                body = notice["text"] or notice["title"]
            row["body"] = body
            bodies.append((body, row["attempt_id"]))
        with write(self.db):
            self.db.conn.executemany("UPDATE attempts SET body = COALESCE(body, ?) WHERE id = ?", bodies)
        for row in sms:
            row["body"] = one(self.db, "SELECT body FROM attempts WHERE id = ?", [row["attempt_id"]])["body"]

    def _send(self, row: dict, start_at: float) -> None:
        db = self._thread_db()
        try:
            delay = start_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            attempt_id = row["attempt_id"]
            callback = self.gateway.url(f"/twilio/status/{attempt_id}")
            try:
                if row["channel"] == "sms":
                    sid = self.gateway.send_sms(row["to_e164"], row["body"], callback)
                else:
                    camp = outcomes.campaign(db, row["campaign_id"])
                    sid = self.gateway.place_call(row["to_e164"], self.gateway.url(f"/twilio/voice/a{attempt_id}/answer"),
                                                  callback, machine_detection=bool(camp["machine_detection"]))
            except gw.SendError as err:
                self._failed_send(db, row, err)
                return
            outbox.mark_wired(db, row["id"], attempt_id, sid, outbox.now_utc())
            with self._lock:
                self.sent += 1
        finally:
            with self._lock:
                self._in_flight.discard(row["id"])

    def _failed_send(self, db, row: dict, err: gw.SendError) -> None:
        now = outbox.now_utc()
        if err.kind == gw.RETRY:
            outbox.mark_retry(db, row["id"], now + timedelta(seconds=self.retry_after_429_s), err.message,
                              count_attempt=False)
        elif err.kind == gw.PERMANENT:
            if err.code == gw.OPTED_OUT:
                interactions.opt_out(db, row["to_e164"], "provider 21610")
            outbox.mark_failed(db, row["id"], err.message, err.code)
        else:
            outbox.mark_unknown(db, row["id"], err.message)

    # -- crash recovery ----------------------------------------------------------------------
    def reconcile(self, now: datetime, *, stale_after: timedelta | None = None) -> int:
        """Settle in-flight rows nobody is sending any more: found at the provider → wired, else resend.

        ``stale_after`` defaults to the orphan age; tests that simulate a finished crash pass 0.
        """
        stale_after = self.orphan_after if stale_after is None else stale_after
        fixed = 0
        notify.reconcile(self.db, self.gateway, now - stale_after)
        with self._lock:
            orphans = [r for r in outbox.stale_in_flight(self.db, now - stale_after) if r["id"] not in self._in_flight]

        def look_up(row):
            if row["attempt_sid"]:
                return row, row["attempt_sid"]  # a status callback with our id already named it
            try:
                return row, self.gateway.find_sent(row["channel"], row["to_e164"], outbox.parse(row["claimed_at"]),
                                                   body=row.get("body"))
            except gw.SendError:
                return row, gw.UNKNOWN  # provider unreachable: try again next pass, never resend blind

        # Look-ups are network round trips: run them side by side, write the answers from here.
        for row, sid in self.pool.map(look_up, orphans):
            if sid == gw.UNKNOWN:
                continue
            if sid:
                outbox.mark_wired(self.db, row["id"], row["attempt_id"], sid, now)
            else:
                outbox.mark_retry(self.db, row["id"], now, "reconciled: not found at the provider",
                                  count_attempt=False)
            fixed += 1
        return fixed

    def finish_campaigns(self, now: datetime) -> None:
        with write(self.db):
            self.db.execute("""UPDATE campaigns SET status = 'done', finished_at = ? WHERE status = 'running'
                               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.campaign_id = campaigns.id
                               AND o.status IN ('pending', 'retry', 'sending', 'unknown', 'wired'))
                               AND EXISTS (SELECT 1 FROM outbox o WHERE o.campaign_id = campaigns.id)""",
                            [outbox.iso(now)])

    def drain(self, timeout_s: float = 60.0) -> None:
        """Wait until nothing is in flight (tests and a clean shutdown)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._in_flight:
                    return
            time.sleep(0.02)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.db.close()
