"""Optional text push to a village's LED sign: one HTTP POST of JSON ``{"text": …}``.

Not a loudspeaker output (nothing is heard), so it has its own tiny result. Redirects are not
followed: a sign that answers 3xx is misconfigured, and following would resend the text elsewhere.
"""
from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_TEXT = 2000  # characters; LED signs scroll a sentence or two, not a whole notice file


@dataclass(frozen=True)
class PushResult:
    ok: bool
    status: int | None = None  # the sign's HTTP status, None if it was never reached
    error: str | None = None
    retryable: bool = False


def check_led_url(url) -> str:
    """The URL itself if it is an http(s) URL with a host, else ValueError (for the config form)."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"LED sign url must look like http://host:port/path, got {url!r}")
    if any(c in url for c in "\r\n "):
        raise ValueError("LED sign url must not contain spaces or line breaks")
    try:
        parts.port
    except ValueError as exc:
        raise ValueError(f"LED sign url has a bad port: {url!r}") from exc
    return url


def push_led_text(url: str, text: str, timeout_s: float) -> PushResult:
    """POST the text; 2xx is ok, 408/429/5xx and network errors are retryable, other 4xx not."""
    check_led_url(url)
    if not isinstance(text, str) or not text.strip():
        raise ValueError("LED text must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise ValueError(f"LED text is {len(text)} characters; the limit is {MAX_TEXT}")
    if not timeout_s > 0:
        raise ValueError("timeout_s must be > 0")
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname, parts.port, timeout=timeout_s)
    try:
        conn.request("POST", path, body=body, headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": "dalaba-led"})
        resp = conn.getresponse()
        answer = resp.read(500).decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException) as exc:
        return PushResult(False, None, f"LED sign unreachable: {exc}", True)
    finally:
        conn.close()
    if 200 <= resp.status < 300:
        return PushResult(True, resp.status)
    retry = resp.status in (408, 429) or resp.status >= 500
    said = f": {answer}" if answer else ""
    return PushResult(False, resp.status, f"LED sign answered {resp.status} {resp.reason}{said}", retry)
