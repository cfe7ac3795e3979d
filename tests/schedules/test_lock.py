"""The single-instance lock, with real processes: a second scheduler stays idle and says why."""
import os
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from schedules.lock import LockHeld, SingleInstanceLock

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import sys
sys.path.insert(0, sys.argv[2])
from schedules.lock import SingleInstanceLock
lock = SingleInstanceLock(sys.argv[1])
if lock.acquire():
    print("acquired", flush=True)
    sys.stdin.read()  # hold the lock until killed or stdin closes
else:
    print(lock.idle_message(), flush=True)
"""


def spawn(path):
    return subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(ROOT)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def test_second_process_is_idle_until_the_first_is_killed(tmp_path):
    path = tmp_path / "scheduler.lock"
    first = spawn(path)
    try:
        assert first.stdout.readline().strip() == "acquired"

        second = subprocess.run([sys.executable, "-c", CHILD, str(path), str(ROOT)],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
        message = second.stdout.strip()
        assert second.returncode == 0
        assert message.startswith(f"idle: another scheduler (pid {first.pid}, started ")
        assert message.endswith(f") holds the lock at {path}")

        os.kill(first.pid, signal.SIGKILL)  # no clean-up code runs: the kernel drops the flock
        assert first.wait(timeout=20) == -signal.SIGKILL

        third = spawn(path)
        try:
            assert third.stdout.readline().strip() == "acquired"
            assert SingleInstanceLock(path).holder_info().pid == third.pid
        finally:
            third.stdin.close()
            third.wait(timeout=20)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        first.stdin.close()
        first.stdout.close()


def test_in_process_acquire_release_and_holder_info(tmp_path):
    path = tmp_path / "scheduler.lock"
    started = datetime(2024, 5, 1, 6, 0, tzinfo=timezone.utc)
    one, two = SingleInstanceLock(path), SingleInstanceLock(path)
    assert one.acquire(started_at=started)
    assert one.acquire()  # re-entrant for the holder
    assert not two.acquire()  # a separate open file: flock refuses it even in the same process
    info = two.holder_info()
    assert (info.pid, info.started_at) == (os.getpid(), started)
    assert two.idle_message() == (f"idle: another scheduler (pid {os.getpid()}, started "
                                  f"2024-05-01T06:00:00+00:00) holds the lock at {path}")
    one.release()
    assert one.holder_info() is None  # no stale holder text once released
    assert path.exists()  # never unlinked (see lock.py)
    assert two.acquire()
    two.release()


def test_context_manager(tmp_path):
    path = tmp_path / "scheduler.lock"
    with SingleInstanceLock(path) as held:
        assert held.held
        with pytest.raises(LockHeld, match="idle: another scheduler"):
            with SingleInstanceLock(path):
                pass
    assert not held.held
    assert SingleInstanceLock(path).acquire()


def test_garbage_in_the_lock_file_does_not_break_the_message(tmp_path):
    path = tmp_path / "scheduler.lock"
    path.write_text("not json")
    lock = SingleInstanceLock(path)
    assert lock.holder_info() is None
    assert lock.idle_message() == f"idle: another scheduler holds the lock at {path}"
    assert lock.acquire()  # the text is informational; the flock decides
    assert lock.holder_info().pid == os.getpid()
    lock.release()
