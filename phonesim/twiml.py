"""Voice TwiML, run the way Twilio runs an answered call.

Documents are fetched (signed) from the call's Url, a <Redirect> or a <Gather> action. Supported verbs:
<Say> <Play> <Pause> <Gather> (with nested Say/Play/Pause) <Redirect> <Hangup> <Reject>; others are
logged as unsupported and skipped. Time is simulated (nothing sleeps except an interactive phone
waiting for a person): ``t`` counts seconds since the answer and becomes CallDuration.

Who listens decides what happens at a <Gather>: a scripted resident presses the next entry of
``profile.keys`` ("" = nothing), an interactive one waits for POST /sim/phones/{n}/press, voicemail never
presses. A resident with ``patience_s`` hangs up once that much of the call has passed — mid-<Play>
too, so each play records whether it was heard to the end. A loop guard ends calls that fetch more
than ``max_fetches`` documents.
"""
import math
import time
import xml.etree.ElementTree as ET
from urllib.parse import urljoin

from .audio import probe
from .store import Waiter

KEYPRESS_S = 2.0  # a person takes about two seconds to press after the prompt
VOICEMAIL_MAX_S = 120.0  # a voicemail box records at most this long
MAX_CALL_S = 4 * 3600.0  # Twilio's own limit on a call
LOOP_FOREVER = 20  # loop="0" means "until hang-up": bounded here


class _Stop(Exception):
    """The call ends; args[0] says why."""


def speech_seconds(text: str) -> float:
    """About four Chinese characters or fifteen Latin letters a second."""
    wide = sum(1 for c in text if ord(c) > 0x2E80)
    return 0.5 + wide * 0.25 + (len(text) - wide) * 0.07


class CallSession:
    def __init__(self, sim, call: dict, listener: str, resident_number: str, events: list,
                 first_status: str = "in-progress"):
        self.sim, self.call, self.listener = sim, call, listener
        self.number = resident_number
        self.profile = sim.resident(resident_number)
        self.events = events
        self.t = 0.0
        self.keys = list(self.profile.keys) if listener == "human" else []
        self.fetches = 0
        self.call_status = first_status
        self.ended_by = None
        self._audio = {}

    # -- time and leaving -------------------------------------------------------------------------
    def budget(self) -> float:
        """Seconds of call left before the listener leaves."""
        limit = MAX_CALL_S
        if self.listener == "machine":
            limit = VOICEMAIL_MAX_S
        elif self.profile.patience_s is not None and not self.profile.interactive:
            limit = min(limit, self.profile.patience_s)
        return max(0.0, limit - self.t)

    def check(self) -> None:
        if self.call.get("_hangup"):
            raise _Stop("api")
        if self.budget() <= 0:
            raise _Stop("machine" if self.listener == "machine" else "resident")

    def spend(self, seconds: float) -> None:
        """Let time pass; the listener may leave before it is over."""
        left = self.budget()
        self.t += min(seconds, left)
        if seconds > left:
            raise _Stop("machine" if self.listener == "machine" else "resident")

    def log(self, **event) -> dict:
        event["t"] = round(self.t, 1)
        self.events.append(event)
        return event

    # -- documents --------------------------------------------------------------------------------
    def params(self) -> dict:
        c = self.call
        return {
            "AccountSid": c["account_sid"], "ApiVersion": c["api_version"], "CallSid": c["sid"],
            "CallStatus": self.call_status, "Called": c["to"], "Caller": c["from"],
            "Direction": c["direction"], "From": c["from"], "To": c["to"],
            "AnsweredBy": c.get("answered_by"),
        }

    def run(self, url, method="POST", twiml=None) -> float:
        """Run the call to its end; returns the simulated duration in whole seconds."""
        try:
            if twiml:
                root, doc_url = self._parse(twiml, None), url
            else:
                root, doc_url = self._fetch(method, url, {}), url
            while root is not None:
                nxt = self._execute(root, doc_url)
                if nxt is None:
                    self.ended_by = self.ended_by or "end-of-twiml"
                    break
                method, doc_url, extra = nxt
                root = self._fetch(method, doc_url, extra)
        except _Stop as stop:
            self.ended_by = stop.args[0]
            if stop.args[0] in ("resident", "machine", "api"):
                self.log(verb="hangup", by=stop.args[0])
        return max(1, math.ceil(self.t))

    def _fetch(self, method: str, url: str, extra: dict):
        self.check()
        self.fetches += 1
        if self.fetches > self.sim.config.max_fetches:
            self.log(verb="loop-guard", url=url, fetches=self.fetches - 1)
            raise _Stop("loop-guard")
        delivery = self.sim.dispatcher.request(method, url, {**self.params(), **extra}, kind="twiml")
        self.call_status = "in-progress"
        if not delivery.ok:
            self.log(verb="error", code=11200, url=url, http_status=delivery.status)
            raise _Stop("error")
        return self._parse(delivery.text, url)

    def _parse(self, text: str, url):
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            root = None
        if root is None or root.tag != "Response":
            self.log(verb="error", code=12100, url=url)  # document parse failure
            raise _Stop("error")
        return root

    def _execute(self, root, doc_url):
        for verb in root:
            self.check()
            tag = verb.tag
            if tag in ("Say", "Play", "Pause"):
                self._media(verb, doc_url)
            elif tag == "Gather":
                nxt = self._gather(verb, doc_url)
                if nxt is not None:
                    return nxt
            elif tag == "Redirect":
                target = _resolve(doc_url, verb.text)
                self.log(verb="redirect", url=target)
                if target is None:
                    raise _Stop("error")
                return verb.get("method", "POST"), target, {}
            elif tag in ("Hangup", "Reject"):
                self.log(verb=tag.lower())
                self.ended_by = "twiml"
                return None
            else:
                self.log(verb=tag.lower(), unsupported=True)
        return None

    # -- verbs ------------------------------------------------------------------------------------
    def _media(self, verb, doc_url, in_gather=False) -> None:
        loops = _int(verb.get("loop"), 1)
        loops = LOOP_FOREVER if loops == 0 else max(1, loops)
        if verb.tag == "Pause":
            event = self.log(verb="pause", length=_int(verb.get("length"), 1))
            self.spend(event["length"])
        elif verb.tag == "Say":
            text = (verb.text or "").strip()
            self.log(verb="say", text=text, language=verb.get("language"), voice=verb.get("voice"),
                     loop=loops, in_gather=in_gather)
            self.spend(speech_seconds(text) * loops)
        else:
            self._play(verb, doc_url, loops, in_gather)

    def _play(self, verb, doc_url, loops, in_gather) -> None:
        url = _resolve(doc_url, verb.text)
        if url not in self._audio:
            if url is None:
                self._audio[url] = (False, None, None, None)
            else:
                got = self.sim.dispatcher.request("GET", url, kind="media", retries=1)
                fmt, seconds = probe(got.content) if got.ok else (None, None)
                self._audio[url] = (got.ok, got.status, fmt, seconds)
        fetched, status, fmt, seconds = self._audio[url]
        event = self.log(verb="play", url=url, fetched=fetched, http_status=status, format=fmt,
                         duration_s=None if seconds is None else round(seconds, 2), loop=loops,
                         played_s=0.0, complete=False, in_gather=in_gather)
        if seconds is None:  # Twilio skips audio it cannot fetch or decode
            return
        total = seconds * loops
        played = min(total, self.budget())
        event["played_s"] = round(played, 2)
        event["complete"] = played >= total
        self.spend(total)

    def _gather(self, verb, doc_url):
        num_digits = _int(verb.get("numDigits"), None)
        timeout = float(verb.get("timeout", 5))
        finish = verb.get("finishOnKey", "#")
        action = _resolve(doc_url, verb.get("action")) if verb.get("action") else doc_url
        method = verb.get("method", "POST")
        prompt_start = len(self.events)
        for child in verb:
            self.check()
            if child.tag in ("Say", "Play", "Pause"):
                self._media(child, doc_url, in_gather=True)
        prompt = self.events[prompt_start:]
        self.check()
        digits, finished_on = self._listen(num_digits, finish, timeout, prompt)
        if digits:
            self.log(verb="gather", digits=digits, action=action)
            if action is None:
                return None
            return method, action, {"Digits": digits, "FinishedOnKey": finished_on,
                                    "msg": "Gather End"}
        self.log(verb="gather", digits=None, timeout=timeout, action=action)
        self.spend(timeout)
        if verb.get("actionOnEmptyResult") == "true" and action is not None:
            return method, action, {"Digits": "", "FinishedOnKey": "", "msg": "Gather End"}
        return None  # no input: fall through to the next verb

    def _listen(self, num_digits, finish, timeout, prompt):
        """(digits, key that finished them) pressed by whoever listens; ("", "") for none."""
        if self.listener != "human":
            return "", ""
        if self.profile.interactive:
            raw = self._wait_for_person(num_digits, finish, timeout, prompt)
        else:
            raw = self.keys.pop(0) if self.keys else ""
            if raw:
                self.spend(KEYPRESS_S)
        raw = raw or ""
        finished_on = ""
        if finish and finish in raw:
            raw, finished_on = raw.split(finish, 1)[0], finish
        if num_digits:
            raw = raw[:num_digits]
        return raw, finished_on

    def _wait_for_person(self, num_digits, finish, timeout, prompt) -> str:
        waiter = Waiter(self.call["sid"], num_digits, finish, timeout, list(prompt))
        store = self.sim.store
        with store.lock:
            store.waiters[self.number] = waiter
        started = time.monotonic()
        waiter.event.wait(self.sim.config.interactive_timeout_s)
        with store.lock:
            if store.waiters.get(self.number) is waiter:
                del store.waiters[self.number]
        if waiter.hangup:
            self.call["_hangup"] = True
            raise _Stop("api")
        if waiter.digits:
            self.t += min(time.monotonic() - started, timeout)
        return waiter.digits or ""


def _resolve(doc_url, target):
    target = (target or "").strip()
    if not target:
        return None
    if doc_url is None:
        return target if target.startswith(("http://", "https://")) else None
    return urljoin(doc_url, target)


def _int(value, default):
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default
