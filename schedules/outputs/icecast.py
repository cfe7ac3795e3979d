"""Icecast stream: push the loudspeaker MP3 to a mount that IP speakers listen to, live.

One play is one HTTP PUT source connection (Icecast ≥ 2.4)::

    connect ──refused/DNS/timeout──▶ failed, retryable (server down)
       │
    PUT /mount (Basic source:<password>, Content-Type audio/mpeg, Ice-Public: 0,
       │        Expect: 100-continue)
       ├─ 401 ─────────────────────▶ failed, not retryable (wrong password)
       ├─ 403 "Mountpoint in use" ─▶ failed, retryable (another source is on it)
       ├─ 100 Continue / 200 OK
       ▼
    send MP3 frames at real time ──send fails──▶ failed (partial), retryable
       │   on_started() after the first frames went out
       ▼
    hold the mount until the audio's end, close ──▶ ok, played_s = wall clock streamed

Why pace by frames: listeners hear a live source; sending faster would only overflow Icecast's
queue and drop listeners. Frame timing (see mp3frames) is exact for CBR and VBR. A short lead
(LEAD_S) is sent ahead so speakers start without a gap; Icecast's burst-on-connect covers late
joiners. Stdlib only: http.client opens the request, then the raw socket carries the stream
(http.client's response reader would wait past "100 Continue" for a final answer that never comes).
"""
from __future__ import annotations

import base64
import http.client
import socket
import time
from typing import Callable
from urllib.parse import urlsplit

from . import mp3frames
from .base import (REASON_AUDIO, REASON_AUTH, REASON_BUSY, REASON_PARTIAL, REASON_TIMEOUT,
                   REASON_UNREACHABLE, PlayResult, check_config, check_play_args, config_str)

KIND = "icecast"
LEAD_S = 0.5  # audio sent ahead of real time, so a speaker's decoder never starves at the start
BATCH_S = 0.1  # frames grouped per send: 10 sends a second
CONNECT_TIMEOUT_S = 5.0
ANSWER_TIMEOUT_S = 5.0  # how long we wait for Icecast to accept or refuse the source
STALL_TIMEOUT_S = 10.0  # a server that stops reading for this long has dropped us


class IcecastOutput:
    kind = KIND
    rendition = "loudspeaker"

    def __init__(self, url: str, password: str, *, user: str = "source", name: str | None = None):
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"icecast url must look like http://host:port/mount, got {url!r}")
        if parts.username or parts.password:
            raise ValueError("icecast url must not carry credentials: use the password key")
        if parts.query or parts.fragment or len(parts.path) < 2:
            raise ValueError("icecast url needs a mount path (e.g. /village.mp3) and no query")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"icecast url has a bad port: {url!r}") from exc
        if not isinstance(password, str) or not password:
            raise ValueError("icecast password must be a non-empty string")
        if not isinstance(user, str) or not user or ":" in user:
            raise ValueError("icecast user must be a non-empty string without ':'")
        for value in (user, name or "", parts.path):
            if any(c in value for c in "\r\n"):
                raise ValueError("icecast settings must not contain line breaks")
        self.url, self.scheme, self.host = url, parts.scheme, parts.hostname
        self.port = port or (443 if parts.scheme == "https" else 80)
        self.mount, self.user, self.name = parts.path, user, name
        self._password = password  # never shown by describe() or in results

    @classmethod
    def from_config(cls, config) -> "IcecastOutput":
        cfg = check_config(KIND, config, required=("url", "password"), optional=("user", "name"))
        return cls(config_str(KIND, cfg, "url"), config_str(KIND, cfg, "password"),
                   user=config_str(KIND, cfg, "user", "source"), name=config_str(KIND, cfg, "name"))

    def describe(self) -> str:
        return f"Icecast stream {self.url} (source user {self.user})"

    def play(self, audio_path: str, *, expected_s: float, timeout_s: float,
             on_started: Callable[[], None]) -> PlayResult:
        check_play_args(expected_s, timeout_s)
        deadline = time.monotonic() + timeout_s
        base = {"url": self.url, "expected_s": expected_s}
        try:
            data, frames = mp3frames.read_frames(audio_path)
        except OSError as exc:
            return PlayResult.failed(REASON_AUDIO, f"cannot read audio file: {exc}",
                                     retryable=False, **base)
        if not frames:
            return PlayResult.failed(REASON_AUDIO, "not an MP3 file: Icecast needs the MP3 rendition",
                                     retryable=False, **base)
        base["audio_s"] = round(sum(f.duration_s for f in frames), 3)
        conn_cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(self.host, self.port, timeout=min(CONNECT_TIMEOUT_S, timeout_s))
        try:
            try:
                refused = self._open_source(conn, deadline)
            except (OSError, http.client.HTTPException) as exc:
                return PlayResult.failed(REASON_UNREACHABLE, f"cannot reach Icecast at "
                                         f"{self.host}:{self.port}: {exc}", retryable=True, **base)
            if refused is not None:
                reason, error, kw = refused
                return PlayResult.failed(reason, error, **kw, **base)
            return _stream(conn.sock, data, frames, deadline, timeout_s, on_started, base)
        finally:
            conn.close()

    def _open_source(self, conn: http.client.HTTPConnection, deadline: float):
        """Send the PUT head and read Icecast's answer (see _read_answer)."""
        token = base64.b64encode(f"{self.user}:{self._password}".encode()).decode("ascii")
        conn.putrequest("PUT", self.mount, skip_accept_encoding=True)
        conn.putheader("Authorization", f"Basic {token}")
        conn.putheader("Content-Type", "audio/mpeg")
        conn.putheader("Ice-Public", "0")  # village notices are not listed in public directories
        if self.name:
            # Raw UTF-8: http.client would refuse Chinese as latin-1; Icecast shows UTF-8 names.
            conn.putheader("Ice-Name", self.name.encode("utf-8"))
        conn.putheader("User-Agent", "dalaba-loudspeaker")
        conn.putheader("Expect", "100-continue")
        conn.endheaders()
        sock = conn.sock
        sock.settimeout(max(0.1, min(ANSWER_TIMEOUT_S, deadline - time.monotonic())))
        reader = sock.makefile("rb")
        try:
            return _read_answer(reader)
        finally:
            reader.close()  # drops the file's reference only; the socket stays open


def _read_answer(reader):
    """None to go on streaming, else (reason, error, PlayResult keywords)."""
    try:
        status_line = reader.readline(1024).decode("latin-1").strip()
    except socket.timeout:
        return None  # no interim answer (RFC 9110 lets a client go on sending)
    fields = status_line.split(" ", 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        raise http.client.HTTPException(f"not an Icecast answer: {status_line[:80]!r}")
    code = int(fields[1])
    text = _rest_of_answer(reader)
    if code in (100, 200):
        return None
    what = f"Icecast answered {status_line[9:] or code}" + (f": {text}" if text else "")
    if code == 401 or (code == 403 and "auth" in text.lower()):
        return (REASON_AUTH, f"{what} (authentication failed: check the source password)",
                {"retryable": False, "status": code})
    if code == 403 and ("in use" in text.lower() or "too many" in text.lower()):
        return REASON_BUSY, what, {"retryable": True, "status": code}
    return REASON_UNREACHABLE, what, {"retryable": code >= 500, "status": code}


def _rest_of_answer(reader) -> str:
    """Skip the answer's headers; return the start of its body (Icecast says why in it)."""
    length = None
    while (line := reader.readline(2048)) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            length = int(value)
    if length == 0:
        return ""
    try:
        body = reader.read1(min(length or 512, 512))
    except (socket.timeout, OSError):
        return ""
    return body.decode("utf-8", "replace").strip()


def _stream(sock, data: bytes, frames, deadline: float, timeout_s: float,
            on_started: Callable[[], None], base: dict) -> PlayResult:
    """Send frames at real time, then hold the mount to the audio's end."""
    t0 = time.monotonic()
    sent_bytes = 0
    position = 0.0  # audio seconds sent so far
    i = 0
    try:
        while i < len(frames):
            start, batch_end, batch_s = frames[i].offset, i, 0.0
            while batch_end < len(frames) and (batch_s < BATCH_S or batch_end == i):
                batch_s += frames[batch_end].duration_s
                batch_end += 1
            due = t0 + position - LEAD_S
            if due > deadline:
                break
            _sleep_until(due)
            sock.settimeout(max(0.1, min(STALL_TIMEOUT_S, deadline - time.monotonic())))
            last = frames[batch_end - 1]
            sock.sendall(data[start:last.offset + last.length])
            if sent_bytes == 0:
                on_started()
            sent_bytes += last.offset + last.length - start
            position += batch_s
            i = batch_end
    except (OSError, socket.timeout) as exc:
        played = time.monotonic() - t0 if sent_bytes else 0.0
        return PlayResult.failed(REASON_PARTIAL, f"stream dropped after {played:.1f} s: {exc}",
                                 retryable=True, played_s=played, sent_bytes=sent_bytes, **base)
    # Keep the source connected until the last frame has been heard (Icecast drops listeners,
    # and whatever they have not received yet, when the source goes away).
    _sleep_until(min(t0 + position, deadline))
    played = time.monotonic() - t0
    if i < len(frames):
        return PlayResult.failed(REASON_TIMEOUT, f"still streaming after {timeout_s:g} s: stopped",
                                 retryable=True, played_s=played, sent_bytes=sent_bytes, **base)
    return PlayResult(True, round(played, 3), None, False, {**base, "sent_bytes": sent_bytes})


def _sleep_until(when: float) -> None:
    delay = when - time.monotonic()
    if delay > 0:
        time.sleep(delay)
