"""The control API under /sim/: residents, inbound traffic, the record, a resident's phone.

JSON in and out, protected by the same HTTP Basic credentials as the REST API (account sid and auth
token), except GET /sim/health. Errors answer ``{"error": "..."}`` with 400, 401, 404 or 409.

    GET  /sim/health                      {"ok": true}
    GET  /sim/config                      current settings (auth token left out)
    POST /sim/config                      change latency_ms, error_429, error_500, sms_url, voice_url, …
    POST /sim/clock                       {"now": "2025-01-10T09:00:00+08:00"} or {"now": null}
    GET  /sim/residents/{number}          the profile (a default one if never configured)
    PUT  /sim/residents/{number}          set some profile fields
    POST /sim/residents                   [{"number": …, …}, …] bulk set
    POST /sim/inbound/sms                 {"from", "body", "to"?}  → 201 {"sid"}
    POST /sim/inbound/call                {"from", "to"?}          → 201 {"sid"}
    GET  /sim/record                      {"messages": [...], "calls": [...], "pending": n}
    GET  /sim/callbacks                   every request the simulator made to the app
    GET  /sim/idle?timeout=5              waits for all lifecycles to finish: {"idle", "pending"}
    GET  /sim/phones/{number}             texts, sent texts, calls with their TwiML events, waiting
    POST /sim/phones/{number}/press       {"digits": "1"}  (409 when no <Gather> is waiting)
    POST /sim/phones/{number}/reply       {"body": "1"}    → 201 {"sid"}
    POST /sim/phones/{number}/hangup      {"ok": bool}
    POST /sim/reset                       forget traffic and configured residents
"""
import datetime as dt
import re
from urllib.parse import unquote

from .residents import E164

_PHONE = re.compile(r"^/sim/phones/(?P<number>[^/]+)(?:/(?P<action>press|reply|hangup))?$")
_RESIDENT = re.compile(r"^/sim/residents/(?P<number>[^/]+)$")


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def handle(sim, method: str, path: str, query: dict, body, authorized: bool):
    """(HTTP status, JSON payload) for one control request."""
    if path == "/sim/health" and method == "GET":
        return 200, {"ok": True}
    if not authorized:
        return 401, {"error": "authenticate with the account sid and auth token"}
    try:
        return _route(sim, method, path, query, body)
    except ControlError as err:
        return err.status, {"error": str(err)}
    except (ValueError, TypeError) as err:
        return 400, {"error": str(err)}


def _route(sim, method, path, query, body):
    if path == "/sim/config":
        if method == "GET":
            return 200, sim.settings()
        if method == "POST":
            return 200, sim.configure(**_obj(body))
    elif path == "/sim/clock" and method == "POST":
        now = _obj(body).get("now")
        sim.set_clock(dt.datetime.fromisoformat(now.replace("Z", "+00:00")) if now else None)
        return 200, {"now": sim.now().isoformat()}
    elif path == "/sim/residents" and method == "POST":
        if not isinstance(body, list):
            raise ValueError("expected a JSON list of profiles")
        for item in body:
            values = dict(_obj(item))
            sim.put_resident(values.pop("number", None), **values)
        return 200, {"count": len(body)}
    elif path == "/sim/inbound/sms" and method == "POST":
        data = _obj(body)
        return 201, {"sid": sim.inbound_sms(data.get("from"), data.get("body"), data.get("to"))}
    elif path == "/sim/inbound/call" and method == "POST":
        data = _obj(body)
        return 201, {"sid": sim.inbound_call(data.get("from"), data.get("to"))}
    elif path == "/sim/record" and method == "GET":
        return 200, sim.record()
    elif path == "/sim/callbacks" and method == "GET":
        return 200, {"callbacks": sim.callbacks()}
    elif path == "/sim/idle" and method == "GET":
        idle = sim.wait_idle(float((query.get("timeout") or ["5"])[0]))
        return 200, {"idle": idle, "pending": sim.dispatcher.pending()}
    elif path == "/sim/reset" and method == "POST":
        sim.reset()
        return 200, {"ok": True}
    else:
        match = _RESIDENT.match(path)
        if match:
            number = _number(match["number"])
            if method == "GET":
                return 200, sim.resident(number).to_dict()
            if method == "PUT":
                return 200, sim.put_resident(number, **_obj(body)).to_dict()
        match = _PHONE.match(path)
        if match:
            return _phone(sim, method, _number(match["number"]), match["action"], body)
    raise ControlError(404, f"no such control endpoint: {method} {path}")


def _phone(sim, method, number, action, body):
    if action is None and method == "GET":
        return 200, sim.phone(number)
    if action == "press" and method == "POST":
        digits = str(_obj(body).get("digits") or "")
        if not re.fullmatch(r"[0-9*#]+", digits):
            raise ValueError("digits must be 0-9, * or #")
        if not sim.press(number, digits):
            raise ControlError(409, "no call on this phone is waiting for keys")
        return 200, {"ok": True}
    if action == "reply" and method == "POST":
        return 201, {"sid": sim.inbound_sms(number, _obj(body).get("body"))}
    if action == "hangup" and method == "POST":
        return 200, {"ok": sim.hangup(number)}
    raise ControlError(404, f"no such control endpoint: {method} /sim/phones/{number}/{action}")


def _number(raw: str) -> str:
    number = unquote(raw)
    if number.startswith(" "):  # a '+' decoded as a space by some clients
        number = "+" + number[1:]
    number = number.strip()
    if not E164.match(number):
        raise ValueError(f"not an E.164 number: {number!r}")
    return number


def _obj(body) -> dict:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body
