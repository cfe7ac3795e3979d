"""The stream output against a real icecast2 on 127.0.0.1, with a real listener on the mount."""
from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from schedules.outputs import make_output
from schedules.outputs.mp3frames import iter_frames, read_frames

SOURCE_PASSWORD = "lb-source-7"
LEAD_TOLERANCE = 0.6  # the stream may run up to LEAD_S ahead of the clock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def icecast_xml(port: int, logdir: str) -> str:
    # As root icecast2 refuses to run unless told which user to become.
    owner = ("<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
             if os.geteuid() == 0 else "")
    return f"""<icecast>
  <location>test</location><admin>test@localhost</admin>
  <limits><clients>20</clients><sources>4</sources><queue-size>524288</queue-size>
    <client-timeout>10</client-timeout><header-timeout>5</header-timeout>
    <source-timeout>5</source-timeout><burst-on-connect>1</burst-on-connect>
    <burst-size>65535</burst-size></limits>
  <authentication><source-password>{SOURCE_PASSWORD}</source-password>
    <admin-user>admin</admin-user><admin-password>admin-pw-9</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>0</fileserve>
  <paths><basedir>/usr/share/icecast2</basedir><logdir>{logdir}</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot>{owner}</security>
</icecast>
"""


@pytest.fixture(scope="module")
def icecast(icecast2_exe):
    # Not pytest's tmp_path: its parents are 0700, and icecast writes logs as "nobody".
    root = tempfile.mkdtemp(prefix="dalaba-icecast-")
    os.chmod(root, 0o755)
    logdir = os.path.join(root, "log")
    os.mkdir(logdir)
    os.chmod(logdir, 0o777)
    port = free_port()
    conf = Path(root, "icecast.xml")
    conf.write_text(icecast_xml(port, logdir))
    proc = subprocess.Popen([icecast2_exe, "-c", str(conf)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                log = Path(logdir, "error.log")
                pytest.fail(f"icecast2 exited ({proc.returncode}): "
                            f"{log.read_text()[-1000:] if log.exists() else 'no log'}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("icecast2 did not start listening within 10 s")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def output(base_url: str, mount: str, password: str = SOURCE_PASSWORD):
    return make_output("icecast", {"url": f"{base_url}{mount}", "password": password,
                                   "name": "杨家坪村广播"})


class Listener(threading.Thread):
    """An IP speaker: GETs the mount and keeps every byte until Icecast closes the stream."""

    def __init__(self, base_url: str, mount: str):
        super().__init__(daemon=True)
        self.host, self.port = base_url.removeprefix("http://").split(":")
        self.mount, self.body, self.status = mount, bytearray(), None

    def run(self):
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=10)
        conn.request("GET", self.mount)
        resp = conn.getresponse()
        self.status = resp.status
        while chunk := resp.read1(65536):
            self.body.extend(chunk)
        conn.close()


def test_a_listener_hears_the_notice_live(icecast, mp3_3s, started):
    listeners = []

    def on_started():
        started()
        listener = Listener(icecast, "/yangjiaping.mp3")  # joins once the mount exists
        listener.start()
        listeners.append(listener)

    begin = time.monotonic()
    result = output(icecast, "/yangjiaping.mp3").play(mp3_3s, expected_s=3.0, timeout_s=20,
                                                      on_started=on_started)
    listeners[0].join(10)

    data, frames = read_frames(mp3_3s)
    audio_s = sum(f.duration_s for f in frames)
    assert result.ok, result.error
    assert result.played_s == pytest.approx(audio_s, abs=0.3)  # real time, not a burst
    assert time.monotonic() - begin >= audio_s - LEAD_TOLERANCE
    assert len(started.calls) == 1 and started.calls[0] - begin < 0.5
    heard = bytes(listeners[0].body)
    assert listeners[0].status == 200
    assert sum(f.duration_s for f in iter_frames(heard)) >= 0.95 * audio_s
    # Icecast passes the frames through unchanged: what the speaker got is the file's audio.
    assert heard in data


def test_wrong_password_is_refused_and_not_retried(icecast, mp3_3s, started):
    result = output(icecast, "/auth.mp3", password="wrong").play(
        mp3_3s, expected_s=3.0, timeout_s=10, on_started=started)

    assert not result.ok and not result.retryable
    assert "401" in result.error and "authentication" in result.error.lower()
    assert result.detail["reason"] == "auth"
    assert "wrong" not in result.error and "wrong" not in repr(result.detail)
    assert started.calls == []


def test_server_down_is_retryable(mp3_3s, started):
    result = make_output("icecast", {"url": f"http://127.0.0.1:{free_port()}/down.mp3",
                                     "password": "x"}).play(mp3_3s, expected_s=3.0, timeout_s=5,
                                                            on_started=started)

    assert not result.ok and result.retryable
    assert result.detail["reason"] == "unreachable"
    assert started.calls == []


def test_a_mount_already_streaming_is_busy_and_retryable(icecast, mp3_3s, started):
    first_started = threading.Event()
    first = {}
    thread = threading.Thread(target=lambda: first.setdefault("r", output(icecast, "/busy.mp3").play(
        mp3_3s, expected_s=3.0, timeout_s=20, on_started=first_started.set)))
    thread.start()
    assert first_started.wait(5)

    second = output(icecast, "/busy.mp3").play(mp3_3s, expected_s=3.0, timeout_s=10,
                                               on_started=started)
    thread.join(10)

    assert first["r"].ok
    assert not second.ok and second.retryable
    assert second.detail["reason"] == "busy"
    assert "in use" in second.error.lower()
    assert started.calls == []


def test_a_timeout_shorter_than_the_audio_cuts_the_stream(icecast, mp3_3s, started):
    result = output(icecast, "/short.mp3").play(mp3_3s, expected_s=3.0, timeout_s=1.0,
                                                on_started=started)

    assert not result.ok and result.retryable
    assert result.detail["reason"] == "timeout"
    assert result.played_s == pytest.approx(1.0, abs=0.25)
    assert 0 < result.detail["sent_bytes"] < os.path.getsize(mp3_3s)


def test_a_file_that_is_not_mp3_is_refused_before_connecting(tmp_path, started):
    wav = tmp_path / "notice.wav"
    wav.write_bytes(b"RIFF" + b"\0" * 2000)
    result = make_output("icecast", {"url": "http://127.0.0.1:9/x.mp3", "password": "x"}).play(
        str(wav), expected_s=1.0, timeout_s=5, on_started=started)

    assert not result.ok and not result.retryable
    assert result.detail["reason"] == "audio"
