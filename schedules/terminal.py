"""Phone-dialled loudspeaker terminals (电话广播) through the Twilio gateway.

The output (:mod:`schedules.outputs.phone`) needs a blocking ``place_call``; this is it. The call is
placed with a TwiML URL and a status callback that both carry the play id and attempt number; the
web process answers them (``outreach/schedules_twilio.py``) and writes the call's status into the
play row, where this worker-side code waits for it::

    place_call ─▶ Twilio dials ─▶ POST /twilio/terminal/<play>?a=N ─▶ <Play> telephone rendition, <Hangup/>
                              └─▶ POST /twilio/terminal/<play>/status?a=N ─▶ plays.call_status, call_duration_s
    worker polls the row: in-progress ─▶ on_started(); final status ─▶ CallOutcome(status, CallDuration)
"""
from __future__ import annotations

import time
from typing import Callable

from outreach.db import connect, one, write

from .outputs.phone import NOT_PLACED, UNKNOWN, CallOutcome

FINAL = ("completed", "busy", "no-answer", "failed", "canceled")
STARTED = ("in-progress", "completed")
RING_S = 30  # how long the terminal may ring before the provider gives up


class TerminalCaller:
    def __init__(self, db_path: str, gateway, public_base_url: str, *, poll_s: float = 0.05):
        self.db_path, self.gateway, self.poll_s = db_path, gateway, poll_s
        self.base = public_base_url.rstrip("/")

    def for_play(self, play_id: int) -> Callable[..., CallOutcome]:
        """The ``place_call`` for one play (outputs are built per play, so the id rides along)."""
        def place_call(to: str, audio_url: str, *, timeout_s: float, on_started: Callable[[], None]):
            return self.call(play_id, to, timeout_s=timeout_s, on_started=on_started)
        return place_call

    def call(self, play_id: int, to: str, *, timeout_s: float, on_started: Callable[[], None]) -> CallOutcome:
        from outreach.delivery.gateway import PERMANENT, RETRY, SendError

        db = connect(self.db_path)
        try:
            with write(db):
                attempt = db.execute("UPDATE plays SET call_status = NULL, call_duration_s = NULL, provider_sid = NULL "
                                     "WHERE id = ? RETURNING attempts", [play_id]).fetchone()[0]
            query = f"?a={attempt}"
            try:
                sid = self.gateway.place_call(to, f"{self.base}/twilio/terminal/{play_id}{query}",
                                              f"{self.base}/twilio/terminal/{play_id}/status{query}",
                                              machine_detection=False, timeout_s=RING_S)
            except SendError as err:
                if err.kind == RETRY:
                    return CallOutcome(NOT_PLACED, error=err.message)
                if err.kind == PERMANENT:
                    return CallOutcome("failed", error=err.message)
                raise RuntimeError(err.message) from err  # unknown: it may have been placed
            with write(db):
                db.execute("UPDATE plays SET provider_sid = ? WHERE id = ?", [sid, play_id])
            deadline = time.monotonic() + timeout_s + RING_S
            while time.monotonic() < deadline:
                row = one(db, "SELECT call_status, call_duration_s FROM plays WHERE id = ?", [play_id])
                if row["call_status"] in STARTED:
                    on_started()
                if row["call_status"] in FINAL:
                    return CallOutcome(row["call_status"], float(row["call_duration_s"] or 0), sid)
                time.sleep(self.poll_s)
            self._hang_up(sid)
            return CallOutcome(UNKNOWN, 0.0, sid, "no final status from the provider in time")
        finally:
            db.close()

    def _hang_up(self, sid: str) -> None:
        try:
            self.gateway.client.calls(sid).update(status="completed")
        except Exception:  # best effort: the provider ends a call with no TwiML left anyway
            pass
