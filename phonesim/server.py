"""The HTTP face of the simulator: a threaded server on 127.0.0.1 for the REST and control APIs.

    sim = SimServer(account_sid="AC…", auth_token="…", seed=7, sms_url=…, voice_url=…).start()
    client = make_client("AC…", "…", api_base_url=sim.url)
    …
    sim.stop()

Keep-alive (HTTP/1.1) and ``disable_nagle_algorithm`` matter: without them every request through
the twilio client pays a new connection or ~40 ms of Nagle plus delayed ACK on loopback.
"""
import base64
import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qs, urlsplit

from . import control, rest
from .sim import SimConfig, Simulator

log = logging.getLogger("phonesim")

MAX_BODY = 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "phonesim/1.0"
    sim: Simulator = None  # set on the per-server subclass

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _dispatch(self):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, {"error": "request too large"})
            self.close_connection = True
            return
        raw = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization")
        try:
            if parts.path.startswith("/sim/"):
                try:
                    body = json.loads(raw) if raw.strip() else None
                except ValueError:
                    self._send(400, {"error": "body is not JSON"})
                    return
                status, payload = control.handle(self.sim, self.command, parts.path, query, body,
                                                 self._authorized(auth))
            else:
                form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
                status, payload = rest.handle(self.sim, self.command, parts.path, query, form, auth)
        except Exception:  # never leave the client hanging on a simulator bug
            log.exception("phonesim request failed: %s %s", self.command, self.path)
            status, payload = 500, {"code": 20500, "message": "Internal Server Error",
                                    "more_info": "https://www.twilio.com/docs/errors/20500",
                                    "status": 500}
        self._send(status, payload)

    def _authorized(self, header: Optional[str]) -> bool:
        expected = f"{self.sim.config.account_sid}:{self.sim.config.auth_token}".encode()
        try:
            given = base64.b64decode((header or "")[6:].strip(), validate=True)
        except ValueError:
            return False
        return bool(header and header.startswith("Basic ")) and hmac.compare_digest(given, expected)

    def _send(self, status: int, payload) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):  # quiet by default; the CLI turns on debug logging
        log.debug("%s " + fmt, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of concurrent senders in benchmarks


class SimServer:
    """The simulator behind an HTTP server on 127.0.0.1; ``port=0`` picks a free port."""

    def __init__(self, account_sid: str, auth_token: str, port: int = 0, **settings):
        self.config = SimConfig(account_sid=account_sid, auth_token=auth_token, **settings)
        self.sim = Simulator(self.config)
        handler = type("Handler", (_Handler,), {"sim": self.sim})
        self._httpd = _Server(("127.0.0.1", port), handler)
        self._thread: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Origin to give ``make_client(..., api_base_url=...)``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "SimServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="phonesim-http",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Block serving requests (the CLI)."""
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        self.sim.close()

    def __enter__(self) -> "SimServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
