"""Twilio's REST API (2010-04-01): Messages and Calls — create, fetch, list, update.

Answers and errors have Twilio's JSON shapes, so the official client parses them: creates answer 201,
errors are ``{code, message, more_info, status}`` and surface as ``TwilioRestException``. Latency and
error injection apply to every call to this API after authentication.
"""
import base64
import datetime as dt
import hmac
import re
import time
from typing import Optional
from urllib.parse import urlencode

from . import calls, messages
from .residents import E164
from .store import public

ROUTE = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/(?P<kind>Messages|Calls)(?:/(?P<sid>[^/]+))?\.json$"
)
MAX_PAGE_SIZE = 1000


class ApiError(Exception):
    """An error answer in Twilio's shape."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def payload(self) -> dict:
        return {"code": self.code, "message": self.message,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
                "status": self.status}


def handle(sim, method: str, path: str, query: dict, form: dict, authorization: Optional[str]):
    """(HTTP status, JSON payload) for one REST request; query and form map names to lists."""
    try:
        match = ROUTE.match(path)
        if match is None:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        _authenticate(sim, authorization)
        if match["account"] != sim.config.account_sid:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        if sim.config.latency_ms:
            time.sleep(sim.config.latency_ms / 1000.0)
        injected = sim.injected_error()
        if injected == 429:
            raise ApiError(429, 20429, "Too Many Requests")
        if injected == 500:
            raise ApiError(500, 20500, "Internal Server Error")
        kind, sid = match["kind"], match["sid"]
        if sid is None and method == "POST":
            return 201, (_create_message if kind == "Messages" else _create_call)(sim, form)
        if sid is None and method == "GET":
            return 200, _list(sim, kind, query, path)
        if sid is not None and method in ("GET", "POST"):
            record = sim.store.get("message" if kind == "Messages" else "call", sid)
            if record is None:
                raise ApiError(404, 20404, f"The requested resource {path} was not found")
            if method == "POST":
                _update(sim, kind, record, form)
            return 200, public(record)
        raise ApiError(405, 20004, "Method not allowed")
    except ApiError as err:
        return err.status, err.payload()


def _authenticate(sim, authorization: Optional[str]) -> None:
    expected = f"{sim.config.account_sid}:{sim.config.auth_token}".encode()
    given = b""
    if authorization and authorization.startswith("Basic "):
        try:
            given = base64.b64decode(authorization[6:].strip(), validate=True)
        except ValueError:
            given = b""
    if not hmac.compare_digest(given, expected):
        raise ApiError(401, 20003, "Authenticate")


def _one(form: dict, name: str) -> Optional[str]:
    values = form.get(name)
    return values[0] if values else None


def _check_to(to: Optional[str]) -> str:
    if not to:
        raise ApiError(400, 21604, "A 'To' phone number is required.")
    if not E164.match(to):
        raise ApiError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    return to


def _create_message(sim, form: dict) -> dict:
    to = _check_to(_one(form, "To"))
    from_ = _one(form, "From")
    service = _one(form, "MessagingServiceSid")
    body = _one(form, "Body")
    if not from_ and not service:
        raise ApiError(400, 21603, "A 'From' phone number is required.")
    if not body and not form.get("MediaUrl"):
        raise ApiError(400, 21602, "Message body is required.")
    if len(body or "") > 1600:
        raise ApiError(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
    if sim.resident(to).opted_out:
        raise ApiError(400, 21610, "Attempt to send to unsubscribed recipient")
    record = messages.create_outbound(sim, to, from_, body or "", _one(form, "StatusCallback"),
                                      service)
    return public(record)


def _create_call(sim, form: dict) -> dict:
    to = _check_to(_one(form, "To"))
    from_ = _one(form, "From")
    if not from_:
        raise ApiError(400, 21603, "A 'From' phone number is required.")
    url, twiml = _one(form, "Url"), _one(form, "Twiml")
    if not url and not twiml and not _one(form, "ApplicationSid"):
        raise ApiError(400, 21205, "Url parameter is required.")
    if url and not url.startswith(("http://", "https://")):
        raise ApiError(400, 21205, f"Url is not a valid URL: {url}")
    detection = _one(form, "MachineDetection")
    if detection not in (None, "Enable", "DetectMessageEnd"):
        raise ApiError(400, 21626, "MachineDetection must be Enable or DetectMessageEnd.")
    events = []
    for value in form.get("StatusCallbackEvent", []):
        events.extend(value.split())  # the client sends repeated keys; curl users send spaces
    record = calls.create_outbound(
        sim, to, from_, url, _one(form, "Method"), twiml, _one(form, "StatusCallback"),
        _one(form, "StatusCallbackMethod"), events, detection,
    )
    return public(record)


def _update(sim, kind: str, record: dict, form: dict) -> None:
    """Calls: Status=canceled|completed hangs up. Messages: Body="" redacts."""
    status = _one(form, "Status")
    if kind == "Calls" and status in ("canceled", "completed"):
        if record["status"] in calls.LIVE:
            record["_hangup"] = True
            with sim.store.lock:
                for waiter in sim.store.waiters.values():
                    if waiter.call_sid == record["sid"]:
                        waiter.hangup = True
                        waiter.event.set()
    elif kind == "Messages" and _one(form, "Body") == "":
        record["body"] = ""


def _parse_when(value: str):
    """A filter value: 'YYYY-MM-DD' (a whole day) or an ISO datetime."""
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise ApiError(400, 20001, f"Invalid date filter: {value}") from None


def _time_filter(query: dict, name: str, get_time):
    """Predicate for Name=, Name< (on or before) and Name> (on or after)."""
    tests = []
    for suffix, op in (("", "eq"), ("<", "le"), (">", "ge")):
        raw = _one(query, name + suffix)
        if raw:
            tests.append((op, _parse_when(raw)))

    def keep(record) -> bool:
        when = get_time(record)
        for op, bound in tests:
            left = when.astimezone(dt.timezone.utc)
            if op == "eq" and isinstance(bound, dt.datetime):
                bound = bound.date()  # Name=… selects a day (the client sends midnight)
            if not isinstance(bound, dt.datetime):
                left = left.date()
            if (op == "eq" and left != bound) or (op == "le" and left > bound) or (
                    op == "ge" and left < bound):
                return False
        return True
    return keep


def _list(sim, kind: str, query: dict, path: str) -> dict:
    is_msg = kind == "Messages"
    records = sim.store.snapshot("message" if is_msg else "call")
    for field in ("To", "From"):
        wanted = _one(query, field)
        if wanted:
            records = [r for r in records if r[field.lower()] == wanted]
    if not is_msg and _one(query, "Status"):
        records = [r for r in records if r["status"] == _one(query, "Status")]
    if is_msg:
        keep = _time_filter(query, "DateSent", lambda r: r["_sent"] or r["_created"])
    else:
        keep = _time_filter(query, "StartTime", lambda r: r["_start"] or r["_created"])
    records = [r for r in records if keep(r)]
    records.reverse()  # newest first, like Twilio
    try:
        size = min(MAX_PAGE_SIZE, max(1, int(_one(query, "PageSize") or 50)))
        page = max(0, int(_one(query, "Page") or 0))
    except ValueError:
        raise ApiError(400, 20001, "Invalid paging parameters") from None
    chunk = records[page * size:(page + 1) * size]
    keep_params = {k: v[0] for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

    def page_uri(n: int) -> str:
        return f"{path}?{urlencode({**keep_params, 'PageSize': size, 'Page': n})}"

    has_next = (page + 1) * size < len(records)
    return {
        "messages" if is_msg else "calls": [public(r) for r in chunk],
        "end": page * size + max(len(chunk) - 1, 0),
        "first_page_uri": page_uri(0),
        "next_page_uri": page_uri(page + 1) if has_next else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        "start": page * size,
        "uri": page_uri(page),
    }

