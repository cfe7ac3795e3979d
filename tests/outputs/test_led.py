"""LED sign text push against a tiny real HTTP server on 127.0.0.1."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from schedules.outputs.led import push_led_text


class Sign(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # see design notes: avoids ~40 ms per request on loopback
    received: list = []
    answer = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Sign.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(Sign.answer)
        self.send_header("Content-Length", "8")
        self.end_headers()
        self.wfile.write(b"sign says"[:8])

    def log_message(self, *args):
        pass


@pytest.fixture
def sign():
    Sign.received, Sign.answer = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sign)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_sign_receives_the_notice_text_as_json(sign):
    result = push_led_text(sign + "/api/text?zone=1", "今晚8点停水，请提前储水", timeout_s=5)

    assert result.ok and result.status == 200
    path, ctype, body = Sign.received[0]
    assert path == "/api/text?zone=1"
    assert ctype.startswith("application/json")
    assert json.loads(body.decode("utf-8")) == {"text": "今晚8点停水，请提前储水"}


@pytest.mark.parametrize("status, retryable", [(500, True), (503, True), (429, True),
                                               (400, False), (404, False), (301, False)])
def test_a_sign_that_refuses_says_whether_to_try_again(sign, status, retryable):
    Sign.answer = status
    result = push_led_text(sign + "/text", "通知", timeout_s=5)

    assert not result.ok
    assert result.status == status and result.retryable is retryable
    assert str(status) in result.error


def test_a_sign_that_is_off_is_retryable():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = push_led_text(f"http://127.0.0.1:{port}/text", "通知", timeout_s=2)
    assert not result.ok and result.retryable and result.status is None


@pytest.mark.parametrize("url, text", [("ftp://127.0.0.1/x", "a"), ("127.0.0.1:80", "a"),
                                       ("http://127.0.0.1/x", ""), ("http://127.0.0.1/x", "a" * 3000)])
def test_bad_requests_are_refused_before_sending(url, text):
    with pytest.raises(ValueError):
        push_led_text(url, text, timeout_s=1)
