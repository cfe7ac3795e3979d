"""A per-process memo of a notice's reach summary, checked against a cheap fingerprint of its inputs.

Reach for one notice is one SQL pass over its history (tens of milliseconds per village); a county
dashboard needs it for every village, though usually only the village with a running campaign has
changed. The fingerprint (counts and newest ids/timestamps of the notice's outbox rows, responses,
visits, pledges and the village's residents) costs about a millisecond, so an unchanged village is
served from memory and a changed one is recomputed. Entries also expire after ``TTL_S`` so that a
change the fingerprint cannot see (a tag edited without touching the resident row) shows within a
minute. A history cut at a past moment (``as_of``) is keyed by that moment and checked the same way:
a late callback that rewrites an old row changes the fingerprint too.
"""
from __future__ import annotations

import threading
import time

TTL_S = 60.0
MAX_ENTRIES = 2048
_lock = threading.Lock()
_entries: dict[tuple, tuple[tuple, float, object]] = {}
enabled = True  # tests and the bench switch it off to measure or check the SQL itself

FINGERPRINT_SQL = """SELECT
  (SELECT COUNT(*) || '/' || COALESCE(MAX(updated_at), '') FROM outbox
   WHERE campaign_id IN (SELECT id FROM campaigns WHERE notice_id = :notice)),
  (SELECT COUNT(*) || '/' || COALESCE(MAX(id), 0) FROM responses WHERE notice_id = :notice),
  (SELECT COUNT(*) || '/' || COALESCE(MAX(id), 0) FROM visits WHERE notice_id = :notice),
  (SELECT COUNT(*) || '/' || COALESCE(MAX(id), 0) || '/' || COALESCE(MAX(updated_at), '') FROM pledges
   WHERE notice_id = :notice),
  (SELECT COUNT(*) || '/' || COALESCE(MAX(updated_at), '') || '/' || COALESCE(MAX(id), 0) FROM residents
   WHERE village_id = :village),
  (SELECT COUNT(*) || '/' || COALESCE(MAX(id), 0) FROM resident_phones WHERE village_id = :village),
  (SELECT COUNT(*) FROM campaigns WHERE notice_id = :notice)"""


def fingerprint(db, notice: dict) -> tuple:
    # The file's path first: two databases in one process (tests, a second app) must never share entries.
    path = db.execute("PRAGMA database_list").fetchone()[2]
    return (path, *db.execute(FINGERPRINT_SQL, {"notice": notice["id"], "village": notice["village_id"]}).fetchone())


def memo(db, key: tuple, notice: dict, compute):
    """``compute()`` unless an entry for ``key`` with the same fingerprint is younger than TTL_S."""
    if not enabled:
        return compute()
    now = time.monotonic()
    mark = fingerprint(db, notice)
    found = _entries.get(key)
    if found is not None and found[0] == mark and found[1] > now:
        return found[2]
    value = compute()
    with _lock:
        if len(_entries) >= MAX_ENTRIES:  # drop the oldest half: simple, and rare
            for old in sorted(_entries, key=lambda k: _entries[k][1])[:MAX_ENTRIES // 2]:
                _entries.pop(old, None)
        _entries[key] = (mark, now + TTL_S, value)
    return value


def clear() -> None:
    with _lock:
        _entries.clear()
