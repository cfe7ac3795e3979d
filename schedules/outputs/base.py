"""The one interface every loudspeaker output kind implements, and its result.

The worker owns the play log; an output only plays and reports what happened::

    worker: write play-log row 'intent'
        │
        ▼
    output.play(path, expected_s=…, timeout_s=…, on_started=cb)
        │   cb() ──▶ worker writes 'started' (audio is flowing now)
        ▼
    PlayResult ──ok──▶ 'finished' (played_s)
               └─not ok─▶ 'failed' (error, reason); retry within grace only if retryable

An output never raises for a failed play: every failure becomes a PlayResult, so the worker
has a single path. It raises ValueError only for programming or configuration errors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

# Machine-readable failure reasons, in PlayResult.detail["reason"].
REASON_UNREACHABLE = "unreachable"  # could not reach the device or server (refused, DNS, reset)
REASON_AUTH = "auth"  # the server refused our credentials (Icecast 401/403 on the password)
REASON_BUSY = "busy"  # the endpoint is in use (mount taken, device busy, line busy)
REASON_TIMEOUT = "timeout"  # still playing when timeout_s ran out; the process or stream was cut
REASON_DEVICE = "device"  # the configured sound device does not exist or cannot play this format
REASON_AUDIO = "audio"  # the audio file is missing or cannot be decoded: retrying cannot help
REASON_PARTIAL = "partial"  # playback started but stopped early (hang-up, dropped stream)
REASON_NO_ANSWER = "no_answer"  # a phone terminal did not pick up
REASON_MANUAL = "manual"  # portable unit: the operator plays it and confirms later by SMS or page
REASON_UNKNOWN = "unknown"  # the outcome cannot be known (e.g. the gateway failed mid-call)
REASON_TOOL = "tool"  # a program we need (aplay, ffmpeg) is missing or failed on its own


@dataclass
class PlayResult:
    """What one play attempt did. ``played_s`` is measured wall-clock time audio was flowing."""

    ok: bool
    played_s: float = 0.0
    error: str | None = None
    retryable: bool = False
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failed(cls, reason: str, error: str, *, retryable: bool, played_s: float = 0.0,
               **detail: Any) -> "PlayResult":
        return cls(False, round(played_s, 3), error, retryable, {"reason": reason, **detail})


@runtime_checkable
class Output(Protocol):
    """A loudspeaker endpoint that can play one audio file now, synchronously."""

    kind: str
    rendition: str  # which rendition of the notice to pass: "loudspeaker" (MP3) or "telephone"

    def play(self, audio_path: str, *, expected_s: float, timeout_s: float,
             on_started: Callable[[], None]) -> PlayResult:
        """Play the file; call ``on_started()`` once, the moment audio starts flowing."""
        ...

    def describe(self) -> str:
        """One line for logs and the admin page; never contains a secret."""
        ...


def check_config(kind: str, config: Any, *, required: tuple[str, ...] = (),
                 optional: tuple[str, ...] = ()) -> dict:
    """Validate a JSON-column config's keys: a dict, every required key, no unknown key."""
    if not isinstance(config, Mapping):
        raise ValueError(f"{kind} config must be a JSON object, got {type(config).__name__}")
    missing = [k for k in required if config.get(k) in (None, "")]
    if missing:
        raise ValueError(f"{kind} config is missing {', '.join(missing)}")
    unknown = sorted(set(config) - set(required) - set(optional))
    if unknown:
        raise ValueError(f"{kind} config has unknown keys: {', '.join(unknown)}")
    return dict(config)


def config_str(kind: str, config: Mapping, key: str, default: str | None = None) -> str | None:
    value = config.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{kind} config {key!r} must be a string")
    return value


def check_play_args(expected_s: float, timeout_s: float) -> None:
    if not (expected_s >= 0):
        raise ValueError(f"expected_s must be >= 0, got {expected_s!r}")
    if not (timeout_s > 0):
        raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
