"""Exceptions raised by the audio pipeline.

`AudioRejected` carries a stable `code` (the web layer translates by code) and
a plain-English `message` for logs, the CLI and tests.
"""

# Rejection codes. Each is a reason the upload cannot become a notice.
EMPTY = "empty"              # the file has no bytes at all
NOT_AUDIO = "not_audio"      # the bytes are not any audio format we accept (HTML, ZIP, text...)
TOO_LARGE = "too_large"      # the file is bigger than the upload limit
TOO_LONG = "too_long"        # the audio runs longer than the duration cap
TOO_SHORT = "too_short"      # under half a second of sound once silence is trimmed
SILENT = "silent"            # decodes fine but nothing in it is louder than background hiss
UNDECODABLE = "undecodable"  # looks like audio but the decoder cannot get sound out of it
TIMEOUT = "timeout"          # the decoder did not finish in time (hostile or pathological file)

REJECTION_CODES = frozenset(
    {EMPTY, NOT_AUDIO, TOO_LARGE, TOO_LONG, TOO_SHORT, SILENT, UNDECODABLE, TIMEOUT}
)


class AudioRejected(ValueError):
    """The uploaded file cannot be used; `code` says why, `message` explains."""

    def __init__(self, code, message, **details):
        if code not in REJECTION_CODES:
            raise ValueError(f"unknown rejection code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        # Numbers the UI may show, e.g. duration_s for too_long, size_bytes for too_large.
        self.details = details

    def __repr__(self):
        return f"AudioRejected({self.code!r}, {self.message!r})"


class FFmpegError(RuntimeError):
    """ffmpeg failed on a file we produced ourselves: a bug or a broken install, not bad input."""


class TTSUnavailable(RuntimeError):
    """Offline speech synthesis cannot run on this machine (espeak-ng or its voice missing)."""


class TTSFailed(RuntimeError):
    """espeak-ng ran but produced nothing usable (no file, silence, or implausibly short)."""
