"""The worker process: the only place where sends and scheduled loudspeaker plays happen.

Started by ``flask --app wsgi worker``. A second copy started by mistake finds the lock taken,
says who holds it, and stays idle until the holder goes away — it never sends nor plays.
Once it holds the lock it runs the dispatcher loop in this thread and the scheduler
(:class:`schedules.runner.Runner`: APScheduler wakes, fires planned, plays claimed) in its own.
"""
from __future__ import annotations

import logging
import os
import threading

from schedules.lock import SingleInstanceLock

from .db import connect
from .delivery.dispatcher import Dispatcher
from .delivery.gateway import Gateway, GatewayConfig
from .migrations import apply

log = logging.getLogger("dalaba.worker")


def run(db_path: str, lock_path: str, gateway_config: GatewayConfig, *, stop: threading.Event | None = None,
        interval_s: float = 0.25, say=print, media_dir: str | None = None) -> None:
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
    gateway = Gateway(gateway_config)
    dispatcher = Dispatcher(db_path, gateway)
    say(f"worker {dispatcher.worker_id} running (lock {lock_path})")
    # Rows a dead worker left in flight are reconciled at once, before anything new is sent.
    dispatcher.reconcile(dispatcher_now(), stale_after=None)
    scheduler = _start_scheduler(db_path, media_dir or os.path.join(os.path.dirname(lock_path), "media"),
                                 gateway, gateway_config.public_base_url)
    say("scheduler running: plans fires 7 days ahead, plays loudspeakers, starts scheduled campaigns")
    try:
        while not stop.is_set():
            try:
                dispatcher.tick()
            except Exception:  # one bad pass must not stop the worker; the next pass retries
                log.exception("dispatcher pass failed")
            stop.wait(interval_s)
    finally:
        scheduler.stop()
        dispatcher.drain(30)
        dispatcher.close()
        lock.release()


def _start_scheduler(db_path: str, media_dir: str, gateway: Gateway, public_base_url: str):
    from schedules.runner import Runner, maker
    from schedules.terminal import TerminalCaller

    caller = TerminalCaller(db_path, gateway, public_base_url)
    return Runner(db_path, media_dir, make=maker(caller, public_base_url)).start()


def dispatcher_now():
    from .delivery.outbox import now_utc

    return now_utc()
