"""Local sound card → amplifier: ffmpeg decodes the loudspeaker MP3 to PCM, ``aplay`` plays it.

    MP3 ─▶ ffmpeg (decode, s16le) ─pipe─▶ this process (relay) ─pipe─▶ aplay -D <device> ─▶ card

Why a relay through Python rather than ``ffmpeg | aplay``: we see the moment audio starts flowing
(``on_started``), and the byte count says how much sound reached the card. aplay's stdin pipe is
shrunk to one page, so a write of one chunk only returns once aplay has pulled most of it, which it
does only after opening the device: a device stuck in open never reports "started". The card's
clock paces the pipeline (aplay blocks when its buffer is full); ``played_s`` is wall-clock time
from the first accepted chunk until aplay exits, after draining its buffer.

Why aplay and not ffmpeg's own ALSA output: the imageio-ffmpeg static build has no ALSA device.

Every process has a hard deadline (``timeout_s``); on expiry both are killed and reaped, so no
zombie and no stuck amplifier is ever left behind. Debian package for aplay: ``alsa-utils``.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Callable

from .base import (REASON_AUDIO, REASON_BUSY, REASON_DEVICE, REASON_TIMEOUT, REASON_TOOL,
                   PlayResult, check_config, check_play_args)

KIND = "alsa"
_DEVICE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_:,.=\-]{0,99}$")  # e.g. default, plughw:CARD=PCH,DEV=0
_RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
_CHUNK = 16384  # ~90 ms of 44.1 kHz stereo: small enough that a kill lands quickly
# aplay's messages for a device that does not exist (retrying cannot help) vs one that is in use.
# A missing card ("Cannot get card index") may be a USB card being replugged, so it stays retryable.
_NO_DEVICE = ("Unknown PCM", "non available", "Invalid argument")
_DEVICE_BUSY = ("Device or resource busy",)


def _ffmpeg_exe() -> str:
    import imageio_ffmpeg  # late: the package imports without it

    return imageio_ffmpeg.get_ffmpeg_exe()


class AlsaOutput:
    kind = KIND
    rendition = "loudspeaker"

    def __init__(self, device: str = "default", *, channels: int = 2, rate: int = 44100):
        if not isinstance(device, str) or not _DEVICE.match(device):
            raise ValueError(f"alsa device {device!r} is not a valid ALSA device name")
        if type(channels) is not int or channels not in (1, 2):
            raise ValueError("alsa channels must be 1 or 2")
        if type(rate) is not int or rate not in _RATES:
            raise ValueError(f"alsa rate must be one of {', '.join(map(str, _RATES))}")
        self.device, self.channels, self.rate = device, channels, rate

    @classmethod
    def from_config(cls, config) -> "AlsaOutput":
        cfg = check_config(KIND, config, optional=("device", "channels", "rate"))
        # Stereo by default: mono into a stereo amplifier would feed one side only on some cards.
        return cls(cfg.get("device", "default"), channels=cfg.get("channels", 2),
                   rate=cfg.get("rate", 44100))

    def describe(self) -> str:
        return f"ALSA sound card {self.device} ({self.rate} Hz, {self.channels} ch) via aplay"

    def play(self, audio_path: str, *, expected_s: float, timeout_s: float,
             on_started: Callable[[], None]) -> PlayResult:
        check_play_args(expected_s, timeout_s)
        base = {"device": self.device, "expected_s": expected_s}
        if not os.path.isfile(audio_path):
            return PlayResult.failed(REASON_AUDIO, f"audio file not found: {audio_path}",
                                     retryable=False, **base)
        aplay = shutil.which("aplay")
        if aplay is None:
            return PlayResult.failed(REASON_TOOL, "aplay not found (install Debian package alsa-utils)",
                                     retryable=False, **base)
        return _Pipeline(self, aplay, audio_path, timeout_s, on_started).run(base)


class _Pipeline:
    """One play: two child processes, the relay loop between them, and the deadline."""

    def __init__(self, out: AlsaOutput, aplay: str, audio_path: str, timeout_s: float,
                 on_started: Callable[[], None]):
        self.out, self.timeout_s, self.on_started = out, timeout_s, on_started
        self.aplay_args = [aplay, "-q", "-D", out.device, "-t", "raw", "-f", "S16_LE",
                           "-r", str(out.rate), "-c", str(out.channels)]
        self.ffmpeg_args = [
            _ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
            "-protocol_whitelist", "file", "-i", "file:" + os.path.abspath(audio_path),
            "-vn", "-ac", str(out.channels), "-ar", str(out.rate), "-f", "s16le", "-c:a", "pcm_s16le",
            "pipe:1",
        ]
        self.timed_out = False
        self.procs: list[subprocess.Popen] = []

    def _kill_all(self) -> None:
        self.timed_out = True
        for p in self.procs:
            if p.poll() is None:
                p.kill()

    def run(self, base: dict) -> PlayResult:
        sent = 0
        t0 = None
        with tempfile.TemporaryFile() as aplay_err, tempfile.TemporaryFile() as ffmpeg_err:
            timer = threading.Timer(self.timeout_s, self._kill_all)
            timer.daemon = True
            try:
                # aplay first, so a bad device fails before any decoding work.
                aplay = subprocess.Popen(self.aplay_args, stdin=subprocess.PIPE,
                                         stdout=subprocess.DEVNULL, stderr=aplay_err, bufsize=0)
                self.procs.append(aplay)
                ffmpeg = subprocess.Popen(self.ffmpeg_args, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=ffmpeg_err, bufsize=0)
                self.procs.append(ffmpeg)
                timer.start()
                src, dst = ffmpeg.stdout.fileno(), aplay.stdin.fileno()
                _shrink_pipe(dst)
                broken = False
                while chunk := _read_full(src, _CHUNK):
                    try:
                        _write_all(dst, chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        broken = True  # aplay died: its exit status and stderr say why
                        break
                    if t0 is None:
                        t0 = time.monotonic()
                        self.on_started()
                    sent += len(chunk)
                if broken and ffmpeg.poll() is None:
                    ffmpeg.kill()
                _close(aplay.stdin)
                # Unbounded waits still end: the timer kills both on the deadline.
                aplay_rc = aplay.wait()
                ffmpeg_rc = ffmpeg.wait()
                ended = time.monotonic()
            finally:
                timer.cancel()
                for p in self.procs:  # reap even on an exception from on_started
                    if p.poll() is None:
                        p.kill()
                    p.wait()
                    for stream in (p.stdin, p.stdout):
                        _close(stream)
            played = (ended - t0) if t0 is not None else 0.0
            audio_s = sent / (2 * self.out.channels * self.out.rate)
            detail = {**base, "audio_s": round(audio_s, 3)}
            if self.timed_out:
                return PlayResult.failed(
                    REASON_TIMEOUT, f"still playing after {self.timeout_s:g} s: stopped",
                    retryable=True, played_s=played, **detail)
            if aplay_rc != 0:
                return self._aplay_failed(_tail(aplay_err), played, detail)
            if ffmpeg_rc != 0 or sent == 0:
                msg = _tail(ffmpeg_err) or "no audio decoded"
                return PlayResult.failed(REASON_AUDIO, f"cannot decode audio: {msg}",
                                         retryable=False, played_s=played, **detail)
        return PlayResult(True, round(played, 3), None, False, detail)

    def _aplay_failed(self, err: str, played: float, detail: dict) -> PlayResult:
        msg = f"aplay failed on device {self.out.device}: {err or 'no message'}"
        if any(s in err for s in _DEVICE_BUSY):
            return PlayResult.failed(REASON_BUSY, msg, retryable=True, played_s=played, **detail)
        if played == 0 and any(s in err for s in _NO_DEVICE):
            return PlayResult.failed(REASON_DEVICE, msg, retryable=False, played_s=played, **detail)
        # Died mid-play (e.g. USB card unplugged): it may come back within the grace period.
        return PlayResult.failed(REASON_DEVICE, msg, retryable=True, played_s=played, **detail)


def _shrink_pipe(fd: int) -> None:
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 4096)
    except (AttributeError, OSError):
        pass  # not Linux: "started" then fires up to one pipe buffer early


def _read_full(fd: int, size: int) -> bytes:
    # A full chunk (more than the pipe holds) makes "write returned" mean "aplay read it".
    parts, got = [], 0
    while got < size and (part := os.read(fd, size - got)):
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _close(stream) -> None:
    if stream is not None:
        try:
            stream.close()
        except OSError:
            pass  # closing a pipe whose reader died


def _tail(f, lines: int = 2) -> str:
    f.seek(0)
    text = f.read().decode("utf-8", "replace").strip()
    return " | ".join(text.splitlines()[-lines:])[-500:]
