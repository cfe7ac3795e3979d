"""The one road to the phone network: the official twilio client, configured from the environment.

With real credentials it talks to Twilio; with ``TWILIO_API_BASE_URL`` set (the demo and the tests)
the same client is pointed at the built-in simulator by a custom ``http_client``. Nothing here
knows which: there is no second, mocked path.

Errors are classified where they happen (RapidPro's habit):

    RETRY      429/20429 — the provider refused before doing anything; send again later
    PERMANENT  other 4xx with a Twilio code — will never work (21211 invalid, 21610 opted out)
    UNKNOWN    timeout, connection error, 5xx — it may or may not have been sent: reconcile first
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import requests
from twilio.base.exceptions import TwilioRestException

from .twilio_http import make_client

RETRY = "retry"          # provider refused without acting; safe to send again
PERMANENT = "permanent"  # will fail again the same way; record the reason
UNKNOWN = "unknown"      # outcome unknown; look it up before any re-send

OPTED_OUT = 21610
INVALID_NUMBER = 21211


@dataclass(frozen=True)
class GatewayConfig:
    account_sid: str
    auth_token: str
    from_number: str | None
    messaging_service_sid: str | None
    public_base_url: str
    api_base_url: str | None = None
    timeout_s: float = 15.0

    @classmethod
    def from_env(cls, env=os.environ, **overrides) -> "GatewayConfig":
        values = dict(
            account_sid=env.get("TWILIO_ACCOUNT_SID", ""), auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
            from_number=env.get("TWILIO_FROM_NUMBER") or None,
            messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
            public_base_url=(env.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
            api_base_url=env.get("TWILIO_API_BASE_URL") or None)
        values.update(overrides)
        return cls(**values)

    def check(self) -> None:
        missing = [name for name, value in (("TWILIO_ACCOUNT_SID", self.account_sid),
                                            ("TWILIO_AUTH_TOKEN", self.auth_token),
                                            ("PUBLIC_BASE_URL", self.public_base_url)) if not value]
        if not (self.from_number or self.messaging_service_sid):
            missing.append("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
        if missing:
            raise ValueError("phone gateway not configured: set " + ", ".join(missing))


class SendError(Exception):
    """A send that did not go through; ``kind`` is RETRY, PERMANENT or UNKNOWN."""

    def __init__(self, kind: str, message: str, code: int | None = None):
        super().__init__(message)
        self.kind, self.code, self.message = kind, code, message


def classify(exc: Exception) -> SendError:
    if isinstance(exc, TwilioRestException):
        code = exc.code if isinstance(exc.code, int) else None
        if exc.status == 429 or code == 20429:
            return SendError(RETRY, f"rate limited by the provider ({code or 429})", code)
        if exc.status and exc.status >= 500:
            return SendError(UNKNOWN, f"provider error {exc.status}: {exc.msg}", code)
        return SendError(PERMANENT, f"{code or exc.status}: {exc.msg}", code)
    if isinstance(exc, requests.exceptions.ConnectionError) and "Connection refused" in str(exc):
        return SendError(RETRY, "provider unreachable (connection refused)")
    if isinstance(exc, (requests.exceptions.RequestException, OSError)):
        return SendError(UNKNOWN, f"no answer from the provider: {type(exc).__name__}")
    return SendError(UNKNOWN, f"unexpected error: {exc!r}")


class Gateway:
    """Sends through the twilio client and looks sends up again; raises :class:`SendError`."""

    def __init__(self, config: GatewayConfig):
        config.check()
        self.config = config
        self.client = make_client(config.account_sid, config.auth_token, config.api_base_url,
                                  timeout=config.timeout_s)

    def url(self, path: str) -> str:
        return self.config.public_base_url + path

    def _sender(self) -> dict:
        if self.config.messaging_service_sid:
            return {"messaging_service_sid": self.config.messaging_service_sid}
        return {"from_": self.config.from_number}

    def send_sms(self, to: str, body: str, status_callback: str) -> str:
        try:
            return self.client.messages.create(to=to, body=body, status_callback=status_callback,
                                               **self._sender()).sid
        except Exception as exc:  # classified: every failure becomes a SendError
            raise classify(exc) from exc

    def place_call(self, to: str, twiml_url: str, status_callback: str, *, machine_detection: bool,
                   timeout_s: int = 30) -> str:
        options = {}
        if machine_detection:
            options["machine_detection"] = "Enable"
        try:
            return self.client.calls.create(
                to=to, from_=self.config.from_number, url=twiml_url, method="POST",
                status_callback=status_callback, status_callback_method="POST",
                status_callback_event=["initiated", "ringing", "answered", "completed"],
                timeout=timeout_s, **options).sid
        except Exception as exc:
            raise classify(exc) from exc

    def find_sent(self, channel: str, to: str, since: datetime, body: str | None = None) -> str | None:
        """The sid of a message or call to ``to`` created since ``since`` (reconciliation), or None."""
        since = since.astimezone(timezone.utc) - timedelta(minutes=1)
        try:
            # Filter on date_created ourselves: a queued message has no date_sent, a queued
            # call no start_time, and those are exactly the ones a crash leaves behind.
            if channel == "sms":
                found = [m for m in self.client.messages.list(to=to, limit=50)
                         if m.date_created and m.date_created >= since and (body is None or m.body == body)]
            else:
                found = [c for c in self.client.calls.list(to=to, limit=50)
                         if c.date_created and c.date_created >= since]
            return found[-1].sid if found else None  # lists are newest first: take the oldest match
        except Exception as exc:
            raise classify(exc) from exc
