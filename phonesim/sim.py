"""The simulator's core: configuration, clock, random draws, and the Python API tests drive.

``Simulator`` is what the HTTP layer (``server.py``) and the tests share; it holds no sockets.
"""
import datetime as dt
import random
import threading
from dataclasses import asdict, dataclass
from typing import Optional
from zoneinfo import ZoneInfo

from . import calls, messages
from .callbacks import Dispatcher
from .residents import Directory, Profile
from .store import Store


@dataclass
class SimConfig:
    account_sid: str
    auth_token: str
    seed: str = "0"
    latency_ms: float = 0.0  # added to every REST API call
    error_429: float = 0.0  # share of REST calls answered 429 / 20429
    error_500: float = 0.0  # share of REST calls answered 500 / 20500
    phone_number: str = "+15005550006"  # the account's number: the To of inbound traffic
    sms_url: Optional[str] = None  # the app's inbound SMS webhook
    voice_url: Optional[str] = None  # the app's inbound voice webhook
    voice_status_callback: Optional[str] = None  # status callback for inbound calls
    step_ms: float = 20.0  # real time between lifecycle steps (sent → delivered, ringing → …)
    interactive_timeout_s: float = 60.0  # how long an interactive phone waits at <Gather>
    workers: int = 16  # callback / call worker threads
    callback_retries: int = 3  # extra tries on connection errors and 5xx
    timezone: str = "Asia/Shanghai"  # the residents' clock, for answer rates by hour
    max_fetches: int = 30  # TwiML documents per call before the loop guard hangs up

    def __post_init__(self):
        self.seed = str(self.seed)
        for name in ("error_429", "error_500"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.error_429 + self.error_500 > 1:
            raise ValueError("error_429 + error_500 must not exceed 1")


# Settings that may change while running (POST /sim/config).
RUNTIME_FIELDS = {
    "latency_ms", "error_429", "error_500", "phone_number", "sms_url", "voice_url",
    "voice_status_callback", "step_ms", "interactive_timeout_s",
}


class Simulator:
    def __init__(self, config: SimConfig):
        self.config = config
        self.store = Store()
        self.directory = Directory(config.seed)
        self.dispatcher = Dispatcher(
            config.auth_token, workers=config.workers, retries=config.callback_retries,
            on_request=self.store.log_callback,
        )
        self._errors = random.Random(f"{config.seed}:errors")
        self._lock = threading.Lock()
        self._fixed_now: Optional[dt.datetime] = None

    # -- clock and draws --------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        with self._lock:
            fixed = self._fixed_now
        return fixed or dt.datetime.now(dt.timezone.utc)

    def set_clock(self, when: Optional[dt.datetime]) -> None:
        """Freeze the residents' clock (answer rates depend on the hour); None = real time."""
        if when is not None and when.tzinfo is None:
            raise ValueError("clock time needs a UTC offset")
        with self._lock:
            self._fixed_now = when

    def local_hour(self) -> int:
        return self.now().astimezone(ZoneInfo(self.config.timezone)).hour

    def rng(self, number: str, channel: str, attempt: int) -> random.Random:
        return random.Random(f"{self.config.seed}:{number}:{channel}:{attempt}")

    def step(self) -> float:
        return self.config.step_ms / 1000.0

    def injected_error(self) -> Optional[int]:
        """429 or 500 for this REST call, or None (drawn in request order from the seed)."""
        with self._lock:
            r = self._errors.random()
        if r < self.config.error_429:
            return 429
        if r < self.config.error_429 + self.config.error_500:
            return 500
        return None

    def configure(self, **values) -> dict:
        unknown = set(values) - RUNTIME_FIELDS
        if unknown:
            raise ValueError(f"cannot change: {', '.join(sorted(unknown))}")
        candidate = asdict(self.config)
        candidate.update(values)
        SimConfig(**candidate)  # validates
        for name, value in values.items():
            setattr(self.config, name, value)
        return self.settings()

    def settings(self) -> dict:
        data = asdict(self.config)
        data.pop("auth_token")
        return data

    # -- residents and traffic --------------------------------------------------------------------
    def put_resident(self, number: str, **values) -> Profile:
        return self.directory.put(number, values)

    def resident(self, number: str) -> Profile:
        return self.directory.get(number)

    def inbound_sms(self, from_: str, body: str, to: Optional[str] = None) -> str:
        """A resident texts the account's number; returns the message sid."""
        return messages.inbound_sms(self, from_, body, to or self.config.phone_number)

    def inbound_call(self, from_: str, to: Optional[str] = None) -> str:
        """A resident calls the account's number; returns the call sid."""
        return calls.inbound_call(self, from_, to or self.config.phone_number)

    def press(self, number: str, digits: str) -> bool:
        """Keys pressed on an interactive phone waiting at <Gather>; False if none is waiting."""
        with self.store.lock:
            waiter = self.store.waiters.get(number)
            if waiter is None or waiter.event.is_set():
                return False
            waiter.digits = digits
            waiter.event.set()
            return True

    def hangup(self, number: str) -> bool:
        """The resident hangs up the call in progress on this phone."""
        with self.store.lock:
            found = False
            for call in self.store.calls.values():
                if call["status"] in ("queued", "ringing", "in-progress") and number in (
                        call["to"], call["from"]):
                    call["_hangup"] = True
                    found = True
            waiter = self.store.waiters.get(number)
            if waiter is not None:
                waiter.hangup = True
                waiter.event.set()
            return found

    # -- what happened ----------------------------------------------------------------------------
    def record(self) -> dict:
        """Every message and call (oldest first) with its current status, for comparing with a DB."""
        msgs = [_record_row(m, "message") for m in self.store.snapshot("message")]
        cls = [_record_row(c, "call") for c in self.store.snapshot("call")]
        return {"messages": msgs, "calls": cls, "pending": self.dispatcher.pending()}

    def phone(self, number: str) -> dict:
        """What one phone received and did, plus its profile and any <Gather> waiting for keys."""
        with self.store.lock:
            data = self.store.phone(number)
            data = {k: (list(v) if isinstance(v, list) else v) for k, v in data.items()}
            waiter = self.store.waiters.get(number)
            data["waiting"] = None if waiter is None or waiter.event.is_set() else {
                "call_sid": waiter.call_sid, "num_digits": waiter.num_digits,
                "finish_on_key": waiter.finish_on_key, "prompt": waiter.prompt,
            }
        data["profile"] = self.resident(number).to_dict()
        return data

    def callbacks(self) -> list:
        with self.store.lock:
            return list(self.store.callbacks)

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        return self.dispatcher.wait_idle(timeout_s)

    def reset(self) -> None:
        """Forget all traffic and configured residents (settings stay)."""
        self.store.clear()
        self.directory.clear()
        with self._lock:
            self._errors = random.Random(f"{self.config.seed}:errors")

    def close(self) -> None:
        self.store.clear()  # wakes any waiting interactive call
        self.dispatcher.stop()


_RECORD_FIELDS = {
    "message": ("sid", "direction", "to", "from", "body", "status", "error_code", "date_created",
                "date_sent", "messaging_service_sid"),
    "call": ("sid", "direction", "to", "from", "status", "answered_by", "duration", "date_created",
             "start_time", "end_time"),
}


def _record_row(record: dict, kind: str) -> dict:
    row = {name: record.get(name) for name in _RECORD_FIELDS[kind]}
    row["outcome"] = dict(record.get("_plan") or {})
    if kind == "call":
        row["ended_by"] = record.get("_ended_by")
        row["status_callback"] = record["_cfg"]["status_callback"]
    else:
        row["status_callback"] = record.get("_callback")
    return row
