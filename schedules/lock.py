"""One scheduler per deployment: a non-blocking ``flock`` on a lock file.

APScheduler's job stores cannot be shared between processes, so a second scheduler started by
mistake must stay idle and say why::

    lock = SingleInstanceLock(instance_path / "scheduler.lock")
    if not lock.acquire():
        print(lock.idle_message())   # idle: another scheduler (pid 4242, started …) holds the lock at …
        ...wait, retry later, or exit...

Why ``flock``: the kernel drops the lock when the holder's file descriptor closes, which includes
the process dying from ``kill -9`` or a power cut, so there is no stale lock to clean up. The
descriptor is opened close-on-exec, so a child such as ``aplay`` never inherits (and prolongs) it.
The file is never deleted: unlinking a locked file lets a third process lock a new file of the
same name while the old holder still runs. The holder writes its pid and start time into the file
for :meth:`SingleInstanceLock.holder_info`; that text is informational, the ``flock`` is the lock.
"""
from __future__ import annotations

import fcntl
import json
import os
from datetime import datetime
from typing import NamedTuple

from .recurrence import UTC


class HolderInfo(NamedTuple):
    pid: int  # process id of the scheduler holding the lock
    started_at: datetime  # when it acquired the lock (UTC)
    host: str  # hostname, in case the instance folder sits on shared storage


class SingleInstanceLock:
    """``acquire()`` → True for the one process that holds it; released by ``release()`` or death."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, started_at: datetime | None = None) -> bool:
        """Try once, without blocking. True if this process now holds the lock (or already did)."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, PermissionError):
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        started = (started_at or datetime.now(UTC)).astimezone(UTC)
        record = json.dumps({"pid": os.getpid(), "started_at": started.isoformat(),
                             "host": os.uname().nodename}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, record + b"\n", 0)  # one write, so a reader sees old or new, rarely a torn line
        os.fsync(fd)
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lock up (the file stays; see the module docstring)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # nobody holds it now; stale holder text would mislead
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def holder_info(self) -> HolderInfo | None:
        """Who wrote the lock file last, or None if it is empty, missing or unreadable."""
        try:
            with open(self.path, "rb") as fh:
                data = json.loads(fh.read().decode() or "null")
            if not isinstance(data, dict):
                return None
            return HolderInfo(int(data["pid"]), datetime.fromisoformat(data["started_at"]),
                              str(data.get("host", "")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def idle_message(self) -> str:
        """The line a second scheduler prints to explain why it does nothing."""
        info = self.holder_info()
        if info is None:
            return f"idle: another scheduler holds the lock at {self.path}"
        return (f"idle: another scheduler (pid {info.pid}, started "
                f"{info.started_at.isoformat(timespec='seconds')}) holds the lock at {self.path}")

    def __enter__(self) -> "SingleInstanceLock":
        if not self.acquire():
            raise LockHeld(self.idle_message())
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self):
        return f"SingleInstanceLock({self.path!r}, held={self.held})"


class LockHeld(RuntimeError):
    """Raised by ``with SingleInstanceLock(path):`` when another process holds the lock."""
