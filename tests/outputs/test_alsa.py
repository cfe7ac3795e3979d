"""The sound-card output, played for real through aplay into ALSA's file and null plugins.

No sound card is needed: an asoundrc in a temp folder (via ALSA_CONFIG_PATH) defines
- ``capture``: the file plugin writing exactly what was played to a raw file (slave: null);
- ``paced``: the file plugin writing into a FIFO that the test drains at real-time speed, so the
  "card" has a clock like a real one;
- ``stuck``: a FIFO nobody reads, i.e. a device that hangs when opened.
"""
from __future__ import annotations

import array
import fcntl
import math
import os
import threading
import time
from pathlib import Path

import pytest

from schedules.outputs import PlayResult
from schedules.outputs.alsa import AlsaOutput

ALSA_CONF = Path("/usr/share/alsa/alsa.conf")
STEREO_BPS = 44100 * 2 * 2  # bytes per second of 16-bit stereo at 44.1 kHz


@pytest.fixture
def devices(tmp_path, monkeypatch, aplay):
    if not ALSA_CONF.exists():
        pytest.fail(f"{ALSA_CONF} missing: apt-get install libasound2-data")
    paths = {"capture": tmp_path / "captured.raw", "paced": tmp_path / "paced.fifo",
             "stuck": tmp_path / "stuck.fifo"}
    os.mkfifo(paths["paced"])
    os.mkfifo(paths["stuck"])
    rc = tmp_path / "asoundrc"
    rc.write_text("".join(
        f'pcm.{name} {{ type file slave.pcm "null" file "{path}" format "raw" }}\n'
        for name, path in paths.items()))
    # The system file first: it defines the plugin types; ours adds three devices.
    monkeypatch.setenv("ALSA_CONFIG_PATH", f"{ALSA_CONF}:{rc}")
    return paths


def samples(raw: bytes) -> array.array:
    pcm = array.array("h")
    pcm.frombytes(raw[: len(raw) // 2 * 2])
    return pcm


def without_trailing_silence(raw: bytes, frame_bytes: int) -> bytes:
    # aplay pads its last period with digital silence; that padding is not part of the notice.
    end = len(raw.rstrip(b"\0"))
    return raw[: math.ceil(end / frame_bytes) * frame_bytes]


def rms(pcm: array.array) -> float:
    return math.sqrt(sum(s * s for s in pcm) / max(1, len(pcm)))


def test_the_whole_notice_reaches_the_card_and_is_not_silent(devices, mp3_2s, started,
                                                             no_leftover_children):
    result = AlsaOutput("capture").play(mp3_2s, expected_s=2.0, timeout_s=20, on_started=started)

    assert result.ok, result.error
    assert isinstance(result, PlayResult)
    assert len(started.calls) == 1
    played = without_trailing_silence(devices["capture"].read_bytes(), 4)
    assert abs(len(played) / STEREO_BPS - 2.0) <= 0.1  # ±5 %
    pcm = samples(played)
    assert rms(pcm) > 1000  # a tone at normal level, not silence or near-silence
    assert pcm[0::2] == pcm[1::2]  # the mono notice is on both amplifier channels
    assert result.detail["audio_s"] == pytest.approx(2.0, abs=0.1)


def test_mono_card_at_another_rate_gets_the_same_duration(devices, mp3_2s, started):
    out = AlsaOutput("capture", channels=1, rate=48000)
    result = out.play(mp3_2s, expected_s=2.0, timeout_s=20, on_started=started)

    assert result.ok, result.error
    played = without_trailing_silence(devices["capture"].read_bytes(), 2)
    assert abs(len(played) / (48000 * 2) - 2.0) <= 0.1
    assert rms(samples(played)) > 1000


def drain_in_real_time(fifo: Path, into: bytearray) -> threading.Thread:
    """Read the FIFO no faster than a sound card would play 44.1 kHz stereo."""

    def run():
        fd = os.open(fifo, os.O_RDONLY)  # returns once aplay opens the device
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 4096)  # little slack: the writer feels our pace
        t0 = time.monotonic()
        try:
            while True:
                allowed = int((time.monotonic() - t0) * STEREO_BPS) + 4096 - len(into)
                if allowed <= 0:
                    time.sleep(0.005)
                    continue
                chunk = os.read(fd, min(allowed, 4096))
                if not chunk:
                    return
                into.extend(chunk)
        finally:
            os.close(fd)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_played_seconds_follow_the_cards_clock(devices, mp3_2s, started, no_leftover_children):
    heard = bytearray()
    reader = drain_in_real_time(devices["paced"], heard)
    begin = time.monotonic()

    result = AlsaOutput("paced").play(mp3_2s, expected_s=2.0, timeout_s=20, on_started=started)

    reader.join(5)
    assert result.ok, result.error
    assert result.played_s == pytest.approx(2.0, abs=0.3)
    assert started.calls and started.calls[0] - begin < 0.5
    assert abs(len(without_trailing_silence(bytes(heard), 4)) / STEREO_BPS - 2.0) <= 0.1


def test_a_device_that_hangs_is_killed_at_the_deadline(devices, mp3_2s, started,
                                                        no_leftover_children):
    begin = time.monotonic()

    result = AlsaOutput("stuck").play(mp3_2s, expected_s=2.0, timeout_s=1.0, on_started=started)

    elapsed = time.monotonic() - begin
    assert not result.ok
    assert result.retryable
    assert result.detail["reason"] == "timeout"
    assert "1 s" in result.error
    assert elapsed < 2.5
    assert started.calls == []  # no sound came out, so the worker never logs "started"


def test_an_unknown_device_fails_for_good_with_alsas_reason(devices, mp3_2s, started,
                                                             no_leftover_children):
    result = AlsaOutput("nosuchpcm").play(mp3_2s, expected_s=2.0, timeout_s=10, on_started=started)

    assert not result.ok
    assert not result.retryable
    assert result.detail["reason"] == "device"
    assert "nosuchpcm" in result.error and "Unknown PCM" in result.error
    assert started.calls == []


def test_a_missing_or_damaged_file_is_not_retried(devices, tmp_path, started,
                                                  no_leftover_children):
    missing = AlsaOutput("capture").play(str(tmp_path / "gone.mp3"), expected_s=2.0,
                                         timeout_s=10, on_started=started)
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"this is not audio at all\n" * 200)
    damaged = AlsaOutput("capture").play(str(junk), expected_s=2.0, timeout_s=10,
                                         on_started=started)

    for result in (missing, damaged):
        assert not result.ok and not result.retryable
        assert result.detail["reason"] == "audio"
    assert "not found" in missing.error
    assert "decode" in damaged.error
    assert started.calls == []


@pytest.mark.parametrize("device", ["", "-D evil", "hw:0 ; rm -rf /", "a" * 200, 3])
def test_device_names_that_are_not_alsa_names_are_refused(device):
    with pytest.raises(ValueError):
        AlsaOutput(device)


def test_an_error_in_the_workers_callback_still_stops_the_players(devices, mp3_2s,
                                                                  no_leftover_children):
    def on_started():
        raise RuntimeError("database is locked")

    with pytest.raises(RuntimeError, match="locked"):
        AlsaOutput("capture").play(mp3_2s, expected_s=2.0, timeout_s=10, on_started=on_started)
