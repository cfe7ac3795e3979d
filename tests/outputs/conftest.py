"""Shared fixtures for the loudspeaker output tests: real MP3 files, tool checks, child processes."""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import imageio_ffmpeg
import pytest


def require_tool(name: str, package: str) -> str:
    """Path of a Debian tool; missing fails the run in CI (env CI set) and skips elsewhere."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed: apt-get install {package} (bin/setup should install it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def child_pids() -> set[int]:
    """Direct children of this process, zombies included (they stay listed until reaped)."""
    pids: set[int] = set()
    task_dir = f"/proc/{os.getpid()}/task"
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/children") as f:
                pids.update(int(p) for p in f.read().split())
        except FileNotFoundError:
            pass  # a thread ended while we looked
    return pids


def make_mp3(path, seconds: float, freq: int = 440) -> str:
    """A loudspeaker-style rendition: mono 44.1 kHz 128 kbit/s MP3 of a tone that varies in pitch."""
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi",
         "-i", f"sine=frequency={freq}:beep_factor=2:duration={seconds}", "-ac", "1", "-ar", "44100",
         "-c:a", "libmp3lame", "-b:a", "128k", "-y", str(path)],
        check=True, timeout=30,
    )
    return str(path)


@pytest.fixture(scope="session")
def mp3_2s(tmp_path_factory):
    return make_mp3(tmp_path_factory.mktemp("audio") / "notice-2s.mp3", 2.0)


@pytest.fixture(scope="session")
def mp3_3s(tmp_path_factory):
    return make_mp3(tmp_path_factory.mktemp("audio") / "notice-3s.mp3", 3.0, freq=660)


class Started:
    """An on_started callback that remembers when (and how often) it was called."""

    def __init__(self):
        self.calls: list[float] = []

    def __call__(self):
        self.calls.append(time.monotonic())


@pytest.fixture
def started():
    return Started()


@pytest.fixture
def no_leftover_children():
    """Fails the test if it leaves a child process behind (running or zombie)."""
    before = child_pids()
    yield
    left = child_pids() - before
    assert not left, f"child processes left behind: {sorted(left)}"


@pytest.fixture(scope="session")
def aplay():
    return require_tool("aplay", "alsa-utils")


@pytest.fixture(scope="session")
def icecast2_exe():
    return require_tool("icecast2", "icecast2")
