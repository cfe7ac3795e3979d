"""Twilio's outgoing HTTP: a timer, a small worker pool, and signed requests to the app.

Nothing here runs inside a REST request: the API answers 201 at once and the lifecycle of each
message or call continues as jobs on the pool (``later`` schedules one after a delay). Every request
carries ``X-Twilio-Signature`` computed exactly as Twilio does — ``RequestValidator(auth_token)
.compute_signature(url, params)`` over the full URL and the POST parameters (none for a GET, whose
parameters are already in the URL).

A request that fails to connect or answers 5xx is retried a few times with backoff; a 4xx (the app
refused it, e.g. 403 for a bad signature) is final and is logged like every attempt.
"""
import heapq
import itertools
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from requests.utils import requote_uri
from twilio.request_validator import RequestValidator

log = logging.getLogger("phonesim")

USER_AGENT = "TwilioProxy/1.1"


class Delivery:
    """The outcome of one outgoing request after its retries."""

    def __init__(self, url: str, status: Optional[int], text: str, content: bytes,
                 content_type: str, attempts: int, error: Optional[str]):
        self.url, self.status, self.text, self.content = url, status, text, content
        self.content_type, self.attempts, self.error = content_type, attempts, error

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Dispatcher:
    def __init__(self, auth_token: str, workers: int = 16, retries: int = 3,
                 backoff_s: float = 0.1, timeout_s: float = 10.0,
                 on_request: Optional[Callable[[dict], None]] = None):
        self.validator = RequestValidator(auth_token)
        self.retries, self.backoff_s, self.timeout_s = retries, backoff_s, timeout_s
        self.on_request = on_request
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="phonesim-job")
        self._heap: list = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._pending = 0
        self._stopped = False
        self._local = threading.local()
        self._timer = threading.Thread(target=self._timer_loop, name="phonesim-timer", daemon=True)
        self._timer.start()

    # -- jobs -------------------------------------------------------------------------------------
    def later(self, delay_s: float, fn: Callable, *args) -> None:
        """Run fn(*args) on the pool after delay_s seconds."""
        with self._cv:
            if self._stopped:
                return
            self._pending += 1
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay_s), next(self._seq), fn, args))
            self._cv.notify_all()

    def pending(self) -> int:
        """Jobs scheduled or running (a lifecycle in progress counts as one)."""
        with self._cv:
            return self._pending

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Block until no job is scheduled or running; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(min(left, 0.05))
            return True

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._pending -= len(self._heap)
            self._heap.clear()
            self._cv.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _timer_loop(self) -> None:
        with self._cv:
            while not self._stopped:
                if not self._heap:
                    self._cv.wait()
                    continue
                due, _, fn, args = self._heap[0]
                left = due - time.monotonic()
                if left > 0:
                    self._cv.wait(left)
                    continue
                heapq.heappop(self._heap)
                try:
                    self._pool.submit(self._run, fn, args)
                except RuntimeError:  # pool shut down while stopping
                    self._pending -= 1

    def _run(self, fn: Callable, args: tuple) -> None:
        try:
            fn(*args)
        except Exception:  # a bug in one lifecycle must not kill the worker
            log.exception("phonesim job %s failed", getattr(fn, "__name__", fn))
        finally:
            with self._cv:
                self._pending -= 1
                self._cv.notify_all()

    # -- signed HTTP ------------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def sign(self, url: str, params: dict) -> str:
        return self.validator.compute_signature(url, params)

    def request(self, method: str, url: str, params: Optional[dict] = None, kind: str = "callback",
                retries: Optional[int] = None) -> Delivery:
        """A signed request as Twilio makes it: POST form, or GET with the params in the query."""
        params = {k: str(v) for k, v in (params or {}).items() if v is not None}
        method = method.upper()
        url = requote_uri(url)  # sign exactly what goes on the wire (non-ASCII percent-encoded)
        if method == "GET" and params:
            parts = urlsplit(url)
            query = "&".join(q for q in (parts.query, urlencode(params)) if q)
            url, body_params = urlunsplit(parts._replace(query=query)), {}
        else:
            body_params = params
        headers = {
            "X-Twilio-Signature": self.sign(url, body_params),
            "User-Agent": USER_AGENT,
            "I-Twilio-Idempotency-Token": uuid.uuid4().hex,
            "Accept": "*/*",
        }
        retries = self.retries if retries is None else retries
        attempt, status, error, response = 0, None, None, None
        while True:
            attempt += 1
            try:
                response = self._session().request(
                    method, url, data=body_params if method != "GET" else None,
                    headers=headers, timeout=self.timeout_s, allow_redirects=False,
                )
                status, error = response.status_code, None
            except requests.RequestException as exc:
                response, status, error = None, None, f"{type(exc).__name__}: {exc}"
            if status is not None and status < 500:
                break
            if attempt > retries:
                break
            time.sleep(self.backoff_s * (3 ** (attempt - 1)))
        delivery = Delivery(
            url, status,
            response.text if response is not None and kind != "media" else "",
            response.content if response is not None else b"",
            response.headers.get("Content-Type", "") if response is not None else "",
            attempt, error,
        )
        if self.on_request:
            self.on_request({
                "kind": kind, "method": method, "url": url, "params": body_params,
                "status": status, "attempts": attempt, "error": error, "at": time.time(),
            })
        return delivery
