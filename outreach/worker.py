"""The worker process: the only place where sends (and, later, scheduled plays) happen.

Started by ``flask --app wsgi worker``. A second copy started by mistake finds the lock taken,
says who holds it, and stays idle until the holder goes away — it never sends.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from schedules.lock import SingleInstanceLock

from .db import connect
from .delivery.dispatcher import Dispatcher
from .delivery.gateway import Gateway, GatewayConfig
from .migrations import apply

log = logging.getLogger("dalaba.worker")


def run(db_path: str, lock_path: str, gateway_config: GatewayConfig, *, stop: threading.Event | None = None,
        interval_s: float = 0.25, say=print) -> None:
    stop = stop or threading.Event()
    lock = SingleInstanceLock(lock_path)
    announced = False
    while not lock.acquire():
        if not announced:
            say(lock.idle_message())
            announced = True
        if stop.wait(2.0):
            return
    apply(connect(db_path))
    dispatcher = Dispatcher(db_path, Gateway(gateway_config))
    say(f"worker {dispatcher.worker_id} running (lock {lock_path})")
    # Rows a dead worker left in flight are reconciled at once, before anything new is sent.
    dispatcher.reconcile(dispatcher_now(), stale_after=None)
    try:
        while not stop.is_set():
            try:
                dispatcher.tick()
            except Exception:  # one bad pass must not stop the worker; the next pass retries
                log.exception("dispatcher pass failed")
            stop.wait(interval_s)
    finally:
        dispatcher.drain(30)
        dispatcher.close()
        lock.release()


def dispatcher_now():
    from .delivery.outbox import now_utc

    return now_utc()
