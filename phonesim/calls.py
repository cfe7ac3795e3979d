"""Voice calls on Twilio's side: the outbound lifecycle, status callbacks, inbound calls.

Outbound (REST status in brackets where it differs from the callback's CallStatus)::

    queued ─► initiated ─┬─► ringing ─┬─► in-progress ─► TwiML runs ─► completed (CallDuration)
           [queued]      │            ├─► busy
                         │            └─► no-answer
                         └─► failed   (no working phone)
    a hang-up through the API before the answer ─► canceled

Callbacks go to StatusCallback for the events listed in StatusCallbackEvent (initiated, ringing,
answered, completed); when none are listed only ``completed`` is sent — and ``completed`` also covers
busy, no-answer, failed and canceled — as Twilio does. With MachineDetection (Enable or
DetectMessageEnd) the answer carries AnsweredBy (human, machine_start or machine_end_beep) in the
TwiML fetch and the callbacks.

Inbound: a resident calls the account's number; the app's voice URL is fetched (CallStatus ringing,
Direction inbound) and its TwiML runs; ``voice_status_callback`` gets ``completed``.
"""
import datetime as dt
import math
import time

from .residents import BUSY, E164, FAILED, HUMAN, MACHINE, NO_ANSWER, draw_call
from .store import call_json, new_sid, rfc2822
from .twiml import CallSession

EVENT_OF_STATUS = {"initiated": "initiated", "ringing": "ringing", "in-progress": "answered"}
SIP_CODES = {"busy": 486, "no-answer": 487, "failed": 404, "canceled": 487, "completed": 200}
LIVE = ("queued", "ringing", "in-progress")


def create_outbound(sim, to: str, from_: str, url, method, twiml, status_callback,
                    status_callback_method, events, machine_detection) -> dict:
    """Accept a call (REST create has validated it) and start its lifecycle on the pool."""
    now = sim.now()
    record = call_json(sim.config.account_sid, new_sid("CA"), now, to, from_, "outbound-api",
                       "queued")
    attempt = sim.store.next_attempt(to, "call")
    outcome = draw_call(sim.resident(to), sim.rng(to, "call", attempt), sim.local_hour())
    record["_plan"] = {"outcome": outcome, "attempt": attempt}
    record["_cfg"] = {
        "url": url, "method": method or "POST", "twiml": twiml,
        "status_callback": status_callback or None,
        "status_callback_method": status_callback_method or "POST",
        "events": set(events) if events else {"completed"},
        "machine_detection": machine_detection or None,
    }
    record["_seq"] = 0
    record["_entry"] = _phone_entry(sim, record, to, now)
    sim.store.add("call", record)
    sim.dispatcher.later(sim.step(), run_outbound, sim, record["sid"])
    return record


def _phone_entry(sim, record, number, now) -> dict:
    entry = {"sid": record["sid"], "direction": record["direction"], "from": record["from"],
             "to": record["to"], "status": record["status"], "answered_by": None,
             "duration": None, "ended_by": None, "at": now.isoformat(), "events": []}
    sim.store.phone(number)["calls"].append(entry)
    return entry


def run_outbound(sim, sid: str) -> None:
    call = sim.store.get("call", sid)
    if call is None:
        return
    step = sim.step()
    _status(sim, call, "initiated")
    time.sleep(step)
    if call.get("_hangup"):
        return _final(sim, call, "canceled")
    outcome = call["_plan"]["outcome"]
    if outcome == FAILED:
        return _final(sim, call, "failed")
    _status(sim, call, "ringing")
    time.sleep(step)
    if call.get("_hangup"):
        return _final(sim, call, "canceled")
    if outcome in (BUSY, NO_ANSWER):
        return _final(sim, call, outcome)
    detection = call["_cfg"]["machine_detection"]
    answered_by = None
    if detection:
        if outcome == HUMAN:
            answered_by = "human"
        else:
            answered_by = "machine_end_beep" if detection == "DetectMessageEnd" else "machine_start"
    _answer(sim, call, answered_by)
    session = CallSession(sim, call, "human" if outcome == HUMAN else MACHINE, call["to"],
                          call["_entry"]["events"])
    cfg = call["_cfg"]
    duration = session.run(cfg["url"], cfg["method"], cfg["twiml"])
    _final(sim, call, "completed", duration=duration, ended_by=session.ended_by)


def _answer(sim, call, answered_by) -> None:
    now = sim.now()
    sim.store.update("call", call["sid"], now, start_time=rfc2822(now), _start=now,
                     answered_by=answered_by)
    call["_entry"]["answered_by"] = answered_by
    _status(sim, call, "in-progress")


def _status(sim, call: dict, status: str) -> None:
    """Move the call on and send the callback if its event was asked for."""
    now = sim.now()
    rest_status = "queued" if status == "initiated" else status
    sim.store.update("call", call["sid"], now, status=rest_status)
    call["_entry"]["status"] = rest_status
    event = EVENT_OF_STATUS.get(status, "completed")
    cfg = call["_cfg"]
    if not cfg["status_callback"] or event not in cfg["events"]:
        return
    params = {
        "AccountSid": call["account_sid"], "ApiVersion": call["api_version"],
        "CallSid": call["sid"], "CallStatus": status, "Called": call["to"],
        "Caller": call["from"], "Direction": call["direction"], "From": call["from"],
        "To": call["to"], "CallbackSource": "call-progress-events",
        "SequenceNumber": call["_seq"], "Timestamp": rfc2822(now),
        "AnsweredBy": call.get("answered_by"),
    }
    call["_seq"] += 1
    if event == "completed":
        params["SipResponseCode"] = SIP_CODES.get(status)
        params["CallDuration"] = call.get("duration") or "0"
        params["Duration"] = str(math.ceil(int(params["CallDuration"]) / 60))
    sim.dispatcher.request(cfg["status_callback_method"], cfg["status_callback"], params,
                           kind="call-status")


def _final(sim, call: dict, status: str, duration: int = 0, ended_by=None) -> None:
    now = sim.now()
    fields = {"duration": str(duration)}
    if call.get("_start") is not None:
        end = call["_start"] + dt.timedelta(seconds=duration)
        fields["end_time"] = rfc2822(end)
    else:
        fields["end_time"] = rfc2822(now)
    sim.store.update("call", call["sid"], now, _ended_by=ended_by, **fields)
    call["_entry"].update(duration=duration, ended_by=ended_by)
    _status(sim, call, status)


def inbound_call(sim, from_: str, to: str) -> str:
    """A resident calls the account's number; returns the call sid."""
    if not E164.match(from_ or ""):
        raise ValueError(f"not an E.164 number: {from_!r}")
    now = sim.now()
    record = call_json(sim.config.account_sid, new_sid("CA"), now, to, from_, "inbound", "ringing")
    record["_plan"] = {"outcome": HUMAN, "attempt": None}
    record["_cfg"] = {
        "url": sim.config.voice_url, "method": "POST", "twiml": None,
        "status_callback": sim.config.voice_status_callback, "status_callback_method": "POST",
        "events": {"completed"}, "machine_detection": None,
    }
    record["_seq"] = 0
    record["_entry"] = _phone_entry(sim, record, from_, now)
    sim.store.add("call", record)
    sim.dispatcher.later(0, _run_inbound, sim, record["sid"])
    return record["sid"]


def _run_inbound(sim, sid: str) -> None:
    call = sim.store.get("call", sid)
    if call is None:
        return
    if not call["_cfg"]["url"]:  # no voice URL configured: Twilio cannot connect the call
        return _final(sim, call, "failed")
    now = sim.now()
    sim.store.update("call", sid, now, start_time=rfc2822(now), _start=now)
    session = CallSession(sim, call, "human", call["from"], call["_entry"]["events"],
                          first_status="ringing")
    call["status"] = "in-progress"
    call["_entry"]["status"] = "in-progress"
    duration = session.run(call["_cfg"]["url"], "POST")
    _final(sim, call, "completed", duration=duration, ended_by=session.ended_by)
