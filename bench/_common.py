"""Shared bench helpers: RESULT lines, a fresh instance with N residents, a live app server."""
from __future__ import annotations

import os
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from outreach.db import connect, write  # noqa: E402
from outreach.migrations import apply  # noqa: E402
from outreach.registry import places  # noqa: E402
from outreach.registry.residents import pinyin_of  # noqa: E402

OPS = {"<=": lambda v, t: v <= t, "<": lambda v, t: v < t, ">=": lambda v, t: v >= t, ">": lambda v, t: v > t}


def result_line(name: str, value: float, unit: str, op: str, target: float) -> None:
    """The one summary format every bench ends with."""
    print(f"RESULT {name} {value:.2f} {unit} target {op} {target:g} {'PASS' if OPS[op](value, target) else 'MISS'}",
          flush=True)


def make_village(db_path: str, residents: int, *, prefix: str = "+86139") -> tuple[int, list[int]]:
    """A migrated database with one village of ``residents`` people, one mobile each (bulk insert)."""
    db = connect(db_path)
    apply(db)
    county = places.ensure_county(db, "基准县")
    township = places.ensure_township(db, county, "基准镇")
    village = places.ensure_village(db, township, "基准村")
    grid = places.ensure_grid(db, village, "一网格")
    full, initials = pinyin_of("村民")
    with write(db):
        db.conn.executemany(
            "INSERT INTO residents (id, village_id, grid_id, name, name_pinyin, name_initials, birth_year) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(i + 1, village, grid, f"村民{i}", full, initials, 1930 + i % 80) for i in range(residents)])
        db.conn.executemany(
            "INSERT INTO resident_phones (resident_id, village_id, e164, kind) VALUES (?, ?, ?, 'mobile')",
            [(i + 1, village, f"{prefix}{i:08d}") for i in range(residents)])
    db.close()
    return village, list(range(1, residents + 1))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout_s: float = 30.0) -> None:
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up in {timeout_s} s")


class LiveServer:
    """The app under waitress on 127.0.0.1 (a production WSGI server), in this process."""

    def __init__(self, app, threads: int = 8):
        from waitress.server import create_server

        self.server = create_server(app, host="127.0.0.1", port=0, threads=threads)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.close()
