"""Fixtures: the simulator on 127.0.0.1, the real twilio client pointed at it, and a tiny receiver app
that plays the product's part — it validates every signature with RequestValidator and records what
the simulator sent it."""
import io
import logging
import threading
import wave

import pytest
from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from outreach.delivery.twilio_http import make_client
from phonesim import SimServer

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "receiver-test-token"
VILLAGE_NUMBER = "+8657112345678"
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per webhook drowns failures
NOTICE_SECONDS = 2.0


def wav_bytes(seconds: float, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return buf.getvalue()


def twiml(body: str) -> Response:
    return Response(f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>',
                    mimetype="text/xml")


class Receiver:
    """The app's side of Twilio: webhooks that check signatures and answer TwiML."""

    def __init__(self, token: str):
        self.validator = RequestValidator(token)
        self.hits = []  # (route, params dict, signature valid)
        self.lock = threading.Lock()
        self.flaky_seen = set()
        self.app = self._build()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)

    def of(self, route: str):
        with self.lock:
            return [h for h in self.hits if h[0] == route]

    def _check(self, route: str) -> dict:
        # Twilio signs the URL it requested: our origin plus the raw path and query.
        url = self.url + request.environ["RAW_URI"]
        params = request.form.to_dict() if request.method == "POST" else {}
        valid = self.validator.validate(url, params, request.headers.get("X-Twilio-Signature", ""))
        with self.lock:
            self.hits.append((route, {**request.args.to_dict(), **params}, valid))
        if not valid:
            abort(403)
        return params

    def _build(self) -> Flask:
        app = Flask("receiver")
        base = self

        @app.post("/status/<ref>")
        def status(ref):
            base._check("status")
            return "", 204

        @app.post("/flaky/<ref>")
        def flaky(ref):
            base._check("flaky")
            with base.lock:
                first = ref not in base.flaky_seen
                base.flaky_seen.add(ref)
            return ("down", 503) if first else ("", 204)

        @app.post("/sms")
        def sms():
            form = base._check("sms")
            return twiml(f"<Message>收到: {form['Body']}</Message>")

        @app.get("/audio/notice.wav")
        def audio():
            base._check("audio")
            return Response(wav_bytes(NOTICE_SECONDS), mimetype="audio/wav")

        @app.post("/voice/menu")
        def menu():
            base._check("voice")
            return twiml(
                '<Gather numDigits="1" action="/gather/menu" timeout="3">'
                '<Play>/audio/notice.wav</Play><Say language="cmn-CN">听到请按1</Say></Gather>'
                '<Say>no input</Say><Redirect>/voice/goodbye</Redirect>'
            )

        @app.post("/gather/menu")
        def gather():
            form = base._check("gather")
            if form.get("Digits") == "1":
                return twiml('<Say language="cmn-CN">谢谢</Say><Hangup/><Say>never said</Say>')
            return twiml("<Redirect>/voice/goodbye</Redirect>")

        @app.post("/voice/goodbye")
        def goodbye():
            base._check("goodbye")
            return twiml("<Say>goodbye</Say><Hangup/>")

        @app.post("/voice/broken-audio")
        def broken_audio():
            base._check("voice")
            return twiml("<Play>/audio/missing.wav</Play><Say>after</Say>")

        @app.post("/voice/loop")
        def loop():
            base._check("loop")
            return twiml("<Pause/><Redirect>/voice/loop</Redirect>")

        return app


@pytest.fixture
def receiver():
    r = Receiver(AUTH_TOKEN).start()
    yield r
    r.stop()


@pytest.fixture
def server(receiver):
    s = SimServer(ACCOUNT_SID, AUTH_TOKEN, seed="tests", step_ms=5, phone_number=VILLAGE_NUMBER,
                  sms_url=receiver.url + "/sms", voice_url=receiver.url + "/voice/menu",
                  interactive_timeout_s=3).start()
    yield s
    s.stop()


@pytest.fixture
def sim(server):
    """The simulator's Python API (residents, record, phones)."""
    return server.sim


@pytest.fixture
def client(server):
    return make_client(ACCOUNT_SID, AUTH_TOKEN, api_base_url=server.url)


@pytest.fixture
def reliable(sim):
    """reliable(number, **fields): a resident whose outcome does not depend on chance or the hour."""
    return lambda number, **values: _reliable(sim, number, **values)


def _reliable(sim, number: str, **values):
    settings = dict(answer_probability=1.0, busy_probability=0.0, voicemail_probability=0.0,
                    has_working_phone=True, patience_s=None, reply_probability=0.0)
    settings.update(values)
    return sim.put_resident(number, **settings)
