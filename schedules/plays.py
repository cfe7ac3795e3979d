"""The play log: one row per loudspeaker per fire, written before anything is played.

Play states (``plays.status``; ``next_attempt_at`` NULL on an ``intent`` row means "claimed, in flight")::

    intent ──claim (attempts+1)──▶ intent, in flight ──on_started──▶ started ──ok──▶ finished (played_s)
      │                                 │                               └─not ok─┐
      │                                 └────────────not ok──────────────────────┤
      │                                                                           ▼
      │                        retryable and before the deadline (grace) ──▶ retry ──due──▶ claim again
      │                        otherwise ───────────────────────────────────▶ failed (error, played_s)
      │                        portable unit ("manual") ────────────────────▶ awaiting_confirmation
      │                                                                           │ SMS "PLAYED 17" / page
      └──deadline passed before it could start──▶ missed                          ▼
                                                                              confirmed

A row found ``started`` after a crash may have played: it is failed, never played again. A row found
in flight but not started is retried within its deadline (the output never said audio flowed).
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Callable

from outreach.db import one, rows, scalar, write

from . import store
from .outputs import PlayResult
from .outputs.base import REASON_MANUAL
from .recurrence import require_aware

INTENT = "intent"  # written before the output is asked to play (in flight when next_attempt_at is NULL)
STARTED = "started"  # the output said audio is flowing
FINISHED = "finished"  # played to the end; played_s says how long
FAILED = "failed"  # gave up: not retryable, or out of time; error says why
RETRY = "retry"  # failed, will try again at next_attempt_at (before the deadline)
AWAITING = "awaiting_confirmation"  # a portable unit: the operator plays it and confirms
CONFIRMED = "confirmed"  # the operator confirmed by SMS or on the page
MISSED = "missed"  # its time (plus grace) passed before it could start
RETRY_WAIT = timedelta(seconds=30)  # first retry; doubles each attempt, always inside the deadline
# The operator plays from the van whatever the worker did, so a missed portable play can still be confirmed.
CONFIRMABLE = (INTENT, RETRY, AWAITING, MISSED)


def audio_asset(db, notice_id: int, village_id: int) -> dict | None:
    """The notice's current audio in the village's language, else Mandarin, else any language."""
    assets = rows(db, "SELECT * FROM audio_assets WHERE notice_id = ? AND current = 1", [notice_id])
    language = scalar(db, "SELECT default_language FROM villages WHERE id = ?", [village_id])
    for wanted in (language, "mandarin"):
        for asset in assets:
            if asset["language"] == wanted:
                return asset
    return assets[0] if assets else None


def ensure_for_fire(db, schedule: dict, fire_id: int, due_at: datetime, deadline: datetime) -> list[int]:
    """The fire's play rows (one per loudspeaker), created as intents if missing; returns their ids."""
    if schedule["loudspeaker_id"] is not None:
        speakers = [schedule["loudspeaker_id"]]
    else:
        speakers = [r["id"] for r in rows(db, "SELECT id FROM loudspeakers WHERE village_id = ? AND active = 1",
                                          [schedule["village_id"]])]
    asset = audio_asset(db, schedule["notice_id"], schedule["village_id"])
    with write(db):
        for speaker in speakers:
            db.execute("""INSERT OR IGNORE INTO plays (fire_id, loudspeaker_id, village_id, asset_id, status,
                          next_attempt_at, deadline_at) VALUES (?, ?, ?, ?, 'intent', ?, ?)""",
                       [fire_id, speaker, schedule["village_id"], asset["id"] if asset else None,
                        store.iso(due_at), store.iso(deadline)])
        return [r["id"] for r in rows(db, "SELECT id FROM plays WHERE fire_id = ? ORDER BY id", [fire_id])]


# ---- claiming and recording ---------------------------------------------------------------------

def claim_due(db, now: datetime, *, busy: set[int] = frozenset(), limit: int = 20) -> list[dict]:
    """Close plays past their deadline, then claim due ones (not on a ``busy`` loudspeaker); commits."""
    at = store.iso(require_aware(now, "now"))
    with write(db):
        db.execute("""UPDATE plays SET status = CASE status WHEN 'retry' THEN 'failed' ELSE 'missed' END,
                      error = COALESCE(error, 'its time passed before it could start'), finished_at = ?
                      WHERE status IN ('intent', 'retry') AND next_attempt_at IS NOT NULL AND deadline_at < ?
                      AND (fire_id IS NULL OR fire_id IN (SELECT id FROM fires WHERE status = 'fired'))""", [at, at])
    candidates = rows(db, """SELECT p.id, p.loudspeaker_id FROM plays p LEFT JOIN fires f ON f.id = p.fire_id
                             WHERE p.status IN ('intent', 'retry') AND p.next_attempt_at IS NOT NULL
                             AND p.next_attempt_at <= ? AND (p.fire_id IS NULL OR f.status = 'fired')
                             ORDER BY p.next_attempt_at, p.id LIMIT ?""", [at, limit * 4])
    claimed, taken = [], set(busy)
    for c in candidates:
        if c["loudspeaker_id"] in taken or len(claimed) >= limit:
            continue  # one play at a time per loudspeaker
        with write(db):
            row = db.execute("""UPDATE plays SET status = 'intent', attempts = attempts + 1, next_attempt_at = NULL
                                WHERE id = ? AND status IN ('intent', 'retry') AND next_attempt_at IS NOT NULL
                                RETURNING *""", [c["id"]]).fetchone()
        if row is not None:  # else another process claimed it between our read and our write
            claimed.append(dict(row))
            taken.add(c["loudspeaker_id"])
    return claimed


def mark_started(db, play_id: int, at: datetime) -> None:
    with write(db):
        db.execute("UPDATE plays SET status = 'started', started_at = COALESCE(started_at, ?) "
                   "WHERE id = ? AND status = 'intent'", [store.iso(at), play_id])


def record_result(db, play_id: int, result: PlayResult, now: datetime) -> str:
    """Write what the output said; returns the new status (see the module diagram)."""
    play = one(db, "SELECT attempts, deadline_at, played_s FROM plays WHERE id = ?", [play_id])
    if result.ok:
        status, next_at = FINISHED, None
    elif result.detail.get("reason") == REASON_MANUAL:
        status, next_at = AWAITING, None
    else:
        wait = RETRY_WAIT * (2 ** max(0, play["attempts"] - 1))
        retry_at = now + wait
        in_time = play["deadline_at"] is None or retry_at <= store.parse(play["deadline_at"])
        status, next_at = (RETRY, store.iso(retry_at)) if result.retryable and in_time else (FAILED, None)
    with write(db):
        db.execute("""UPDATE plays SET status = ?, next_attempt_at = ?, played_s = ?, error = ?,
                      finished_at = CASE WHEN ? IN ('finished', 'failed') THEN ? ELSE finished_at END
                      WHERE id = ? AND status IN ('intent', 'started')""",
                   [status, next_at, round(result.played_s, 3), None if result.ok else result.error,
                    status, store.iso(now), play_id])
    return status


def recover(db, now: datetime) -> int:
    """After a restart (this process holds the lock): settle plays a dead process left in flight."""
    at = store.iso(now)
    with write(db):
        lost = db.execute("""UPDATE plays SET status = 'failed', finished_at = ?,
                             error = 'interrupted: the worker stopped during the play (not repeated)'
                             WHERE status = 'started'""", [at]).rowcount
        lost += db.execute("""UPDATE plays SET status = 'retry', next_attempt_at = ?,
                              error = 'interrupted before it started'
                              WHERE status = 'intent' AND next_attempt_at IS NULL AND provider_sid IS NULL""",
                           [at]).rowcount
        lost += db.execute("""UPDATE plays SET status = 'failed', finished_at = ?,
                              error = 'interrupted: the terminal call may have played (not repeated)'
                              WHERE status = 'intent' AND next_attempt_at IS NULL""", [at]).rowcount
    return lost


def confirm(db, play_ids: list[int], *, by: str, at: datetime, village_ids: list[int] | None = None
            ) -> tuple[list[int], list[int]]:
    """Mark portable plays as played; returns (confirmed, not found or not confirmable)."""
    done, unknown = [], []
    with write(db):
        for play_id in play_ids:
            found = one(db, """SELECT p.id, p.village_id FROM plays p JOIN loudspeakers l ON l.id = p.loudspeaker_id
                               WHERE p.id = ? AND l.kind = 'portable'""", [play_id])
            if found is None or (village_ids is not None and found["village_id"] not in village_ids):
                unknown.append(play_id)
                continue
            changed = db.execute(f"""UPDATE plays SET status = 'confirmed', confirmed_by = ?, finished_at = ?,
                                     next_attempt_at = NULL WHERE id = ?
                                     AND status IN ({','.join('?' * len(CONFIRMABLE))})""",
                                 [by, store.iso(at), play_id, *CONFIRMABLE]).rowcount
            already = scalar(db, "SELECT status FROM plays WHERE id = ?", [play_id]) == CONFIRMED
            (done if changed or already else unknown).append(play_id)
    return done, unknown


# ---- playing ----------------------------------------------------------------------------------------

def rendition_file(db, media_dir: str, asset_id: int | None, name: str) -> tuple[str, float] | None:
    """(path, seconds) of one rendition of an asset, or None when it has none."""
    if asset_id is None:
        return None
    found = one(db, """SELECT a.folder, a.duration_s AS asset_s, r.file, r.duration_s FROM audio_assets a
                       JOIN audio_renditions r ON r.asset_id = a.id WHERE a.id = ? AND r.name = ?""", [asset_id, name])
    if found is None:
        return None
    return os.path.join(media_dir, found["folder"], found["file"]), float(found["duration_s"] or found["asset_s"])


def execute(db, play: dict, make: Callable[[dict, dict], object], media_dir: str,
            clock: Callable[[], datetime]) -> PlayResult:
    """Play one claimed row on its loudspeaker, synchronously, and record every step."""
    speaker = one(db, "SELECT * FROM loudspeakers WHERE id = ?", [play["loudspeaker_id"]])
    loops = scalar(db, "SELECT s.loops FROM fires f JOIN schedules s ON s.id = f.schedule_id WHERE f.id = ?",
                   [play["fire_id"]]) or 1
    try:
        output = make(speaker, play)
    except ValueError as exc:
        result = PlayResult.failed("config", f"loudspeaker not usable: {exc}", retryable=False)
        record_result(db, play["id"], result, clock())
        return result
    audio = rendition_file(db, media_dir, play["asset_id"], output.rendition)
    if audio is None:
        result = PlayResult.failed("audio", "the notice has no audio for this loudspeaker", retryable=False)
        record_result(db, play["id"], result, clock())
        return result
    path, seconds = audio
    # A phone terminal loops inside the call (<Play loop>); other outputs play the file again.
    rounds, expected = (1, seconds * loops) if output.kind == "phone_terminal" else (loops, seconds)
    with write(db):
        db.execute("UPDATE plays SET expected_s = ? WHERE id = ?", [round(seconds * loops, 3), play["id"]])
    started = []

    def on_started():
        if not started:
            started.append(True)
            mark_started(db, play["id"], clock())

    total, result = 0.0, None
    for _round in range(rounds):
        result = output.play(path, expected_s=expected, timeout_s=expected + 30, on_started=on_started)
        total += result.played_s
        if not result.ok:
            break
    result.played_s = total
    record_result(db, play["id"], result, clock())
    return result


# ---- reading ----------------------------------------------------------------------------------------

def for_fires(db, fire_ids: list[int]) -> dict[int, list[dict]]:
    """fire id → its plays with the loudspeaker's name (proof of play)."""
    found = rows(db, f"""SELECT p.*, l.name AS loudspeaker_name, l.kind AS loudspeaker_kind FROM plays p
                         JOIN loudspeakers l ON l.id = p.loudspeaker_id
                         WHERE p.fire_id IN ({','.join('?' * len(fire_ids)) or 'NULL'}) ORDER BY p.id""", fire_ids)
    out: dict[int, list[dict]] = {}
    for p in found:
        out.setdefault(p["fire_id"], []).append(p)
    return out


def next_attempt(db) -> datetime | None:
    """When the next claimable play is due (the runner sleeps until then)."""
    at = scalar(db, """SELECT MIN(p.next_attempt_at) FROM plays p JOIN fires f ON f.id = p.fire_id
                       WHERE p.status IN ('intent', 'retry') AND p.next_attempt_at IS NOT NULL
                       AND f.status = 'fired'""")
    return store.parse(at) if at else None


def bundle_plays(db, loudspeaker_id: int, start: datetime, end: datetime) -> list[dict]:
    """A portable unit's plays for fires due in ``[start, end)``, created ahead as intents so the
    operator has their numbers; (play, fire, schedule, notice) rows in playing order."""
    speaker = one(db, "SELECT * FROM loudspeakers WHERE id = ?", [loudspeaker_id])
    fires = rows(db, """SELECT f.id, f.due_at, s.grace_s, s.notice_id, s.village_id FROM fires f
                        JOIN schedules s ON s.id = f.schedule_id
                        WHERE s.kind = 'broadcast' AND s.village_id = ? AND f.status IN ('planned', 'fired')
                        AND (s.loudspeaker_id = ? OR s.loudspeaker_id IS NULL) AND f.due_at >= ? AND f.due_at < ?""",
                     [speaker["village_id"], loudspeaker_id, store.iso(start), store.iso(end)])
    with write(db):
        for f in fires:
            asset = audio_asset(db, f["notice_id"], f["village_id"])
            deadline = store.parse(f["due_at"]) + timedelta(seconds=f["grace_s"])
            db.execute("""INSERT OR IGNORE INTO plays (fire_id, loudspeaker_id, village_id, asset_id, status,
                          next_attempt_at, deadline_at) VALUES (?, ?, ?, ?, 'intent', ?, ?)""",
                       [f["id"], loudspeaker_id, f["village_id"], asset["id"] if asset else None, f["due_at"],
                        store.iso(deadline)])
    return rows(db, f"""SELECT p.*, f.due_at, f.fire_at, n.title, s.loops FROM plays p JOIN fires f ON f.id = p.fire_id
                        JOIN schedules s ON s.id = f.schedule_id JOIN notices n ON n.id = s.notice_id
                        WHERE p.loudspeaker_id = ? AND f.id IN ({','.join('?' * len(fires)) or 'NULL'})
                        ORDER BY f.due_at, p.id""", [loudspeaker_id, *[f["id"] for f in fires]])
