"""In-memory state of the simulated network: messages, calls, what each phone saw, callback log.

Messages and calls are kept as Twilio-shaped dicts (what the REST API returns) plus private keys that
start with ``_`` (python datetimes, the outcome plan, callback settings); ``public()`` strips them.
One lock guards everything: the simulator is a test and demo tool, not a carrier.
"""
import datetime as dt
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Deque, Dict, List, Optional

API_VERSION = "2010-04-01"
CALLBACK_LOG_SIZE = 200_000

# Characters of the GSM 03.38 basic set (plus the extension table, which costs two septets).
_GSM = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXT = set("^{}\\[~]|€\f")


def new_sid(prefix: str) -> str:
    """Twilio sids are two letters and 32 hex digits."""
    return prefix + uuid.uuid4().hex


def rfc2822(when: Optional[dt.datetime]) -> Optional[str]:
    """Twilio's REST dates: 'Mon, 16 Aug 2010 03:45:01 +0000'."""
    if when is None:
        return None
    return when.astimezone(dt.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")


def segments(body: str) -> int:
    """Number of SMS segments: GSM-7 160/153 septets, otherwise UCS-2 70/67 characters."""
    if all(c in _GSM or c in _GSM_EXT for c in body):
        size = sum(2 if c in _GSM_EXT else 1 for c in body)
        single, multi = 160, 153
    else:
        size = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if size <= single:
        return 1
    return -(-size // multi)


def public(record: dict) -> dict:
    return {k: v for k, v in record.items() if not k.startswith("_")}


@dataclass
class Waiter:
    """A call of an interactive resident waiting at <Gather> for a person to press keys."""

    call_sid: str
    num_digits: Optional[int]
    finish_on_key: str
    timeout_s: float
    prompt: List[dict]
    event: threading.Event = field(default_factory=threading.Event)
    digits: Optional[str] = None
    hangup: bool = False


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.messages: Dict[str, dict] = {}
        self.calls: Dict[str, dict] = {}
        self.phones: Dict[str, dict] = {}
        # Every request made to the app; bounded so a long benchmark cannot exhaust memory.
        self.callbacks: Deque[dict] = deque(maxlen=CALLBACK_LOG_SIZE)
        self.waiters: Dict[str, Waiter] = {}
        self._attempts: Dict[tuple, int] = {}

    def next_attempt(self, number: str, channel: str) -> int:
        """0 for the first call (or text) to a number, then 1, 2 … — the key of its random draw."""
        with self.lock:
            n = self._attempts.get((number, channel), 0)
            self._attempts[(number, channel)] = n + 1
            return n

    def phone(self, number: str) -> dict:
        """What one phone saw; created on first use. Caller holds no lock: entries are appended."""
        with self.lock:
            if number not in self.phones:
                self.phones[number] = {"number": number, "texts": [], "sent": [], "calls": []}
            return self.phones[number]

    def add(self, kind: str, record: dict) -> None:
        with self.lock:
            (self.messages if kind == "message" else self.calls)[record["sid"]] = record

    def get(self, kind: str, sid: str) -> Optional[dict]:
        with self.lock:
            return (self.messages if kind == "message" else self.calls).get(sid)

    def update(self, kind: str, sid: str, now: dt.datetime, **fields) -> dict:
        with self.lock:
            record = (self.messages if kind == "message" else self.calls)[sid]
            record.update(fields)
            record["date_updated"] = rfc2822(now)
            return record

    def snapshot(self, kind: str) -> List[dict]:
        """Records oldest first (creation order)."""
        with self.lock:
            source = self.messages if kind == "message" else self.calls
            return [dict(r) for r in source.values()]

    def log_callback(self, entry: dict) -> None:
        with self.lock:
            self.callbacks.append(entry)

    def clear(self) -> None:
        with self.lock:
            for waiter in self.waiters.values():
                waiter.hangup = True
                waiter.event.set()
            for table in (self.messages, self.calls, self.phones, self.waiters, self._attempts):
                table.clear()
            self.callbacks.clear()


def message_json(account_sid: str, sid: str, now: dt.datetime, to: str, from_: Optional[str],
                 body: str, direction: str, status: str,
                 messaging_service_sid: Optional[str] = None) -> dict:
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": body,
        "date_created": rfc2822(now),
        "date_sent": None,
        "date_updated": rfc2822(now),
        "direction": direction,
        "error_code": None,
        "error_message": None,
        "from": from_,
        "messaging_service_sid": messaging_service_sid,
        "num_media": "0",
        "num_segments": str(segments(body)),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": status,
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        "to": to,
        "uri": uri,
        "_created": now,
        "_sent": None,
    }


def call_json(account_sid: str, sid: str, now: dt.datetime, to: str, from_: str,
              direction: str, status: str) -> dict:
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{sid}.json"
    base = uri[: -len(".json")]
    return {
        "account_sid": account_sid,
        "annotation": None,
        "answered_by": None,
        "api_version": API_VERSION,
        "caller_name": None,
        "date_created": rfc2822(now),
        "date_updated": rfc2822(now),
        "direction": direction,
        "duration": None,
        "end_time": None,
        "forwarded_from": None,
        "from": from_,
        "from_formatted": from_,
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "price": None,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": sid,
        "start_time": None,
        "status": status,
        "subresource_uris": {
            "notifications": base + "/Notifications.json",
            "recordings": base + "/Recordings.json",
            "events": base + "/Events.json",
        },
        "to": to,
        "to_formatted": to,
        "trunk_sid": None,
        "uri": uri,
        "_created": now,
        "_start": None,
    }
