"""The outbox: one row per resident × campaign × channel, and every provider request as an attempt.

State machine of an outbox row (status column)::

    pending ──claim──▶ sending ──accepted──▶ wired ──final callback──▶ done
       ▲                 │  │                  │                        (delivered / answered)
       │   429 (retry)   │  │ timeout/5xx      │ busy, no answer, machine, failed
     retry ◀─────────────┘  ▼                  ▼
       ▲ ▲            unknown ──reconcile──▶ wired (found at the provider)
       │ └──────────────────┘ (not found: send again)
       └───── attempts left ◀── policy ──▶ failed (attempts used up, permanent error, opted out)
    pending/retry past the campaign's expiry ─▶ expired      campaign cancelled ─▶ cancelled

The intent (the row in ``sending`` plus its attempt row) is committed *before* the provider is
called, and the callback URL carries the attempt id, so a crash at any point is reconciled
rather than re-sent blindly. Retry state lives on the row (attempts, next_attempt_at,
failed_reason) with a partial index on due work.
"""
from __future__ import annotations

from datetime import datetime, timezone

from ..db import one, rows, write

PENDING = "pending"      # planned; waits for next_attempt_at
SENDING = "sending"      # claimed, intent committed, provider call in flight
WIRED = "wired"          # provider accepted it (sid known); waiting for the outcome
RETRY = "retry"          # last attempt did not reach the person; next_attempt_at says when
UNKNOWN = "unknown"      # provider call's result unknown; must be reconciled before any re-send
DONE = "done"            # reached: SMS delivered or call answered (outcome says which)
FAILED = "failed"        # will not be sent again: failed_reason says why
EXPIRED = "expired"      # too old to send: the campaign's expiry passed before it went out
CANCELLED = "cancelled"  # the campaign was cancelled before it went out
DUE = (PENDING, RETRY)
IN_FLIGHT = (SENDING, UNKNOWN)
FINAL = (DONE, FAILED, EXPIRED, CANCELLED)

# Provider statuses, ranked so that a status only ever moves forward.
CALL_RANK = {"sending": 0, "queued": 1, "initiated": 2, "ringing": 3, "in-progress": 4,
             "completed": 9, "busy": 9, "no-answer": 9, "failed": 9, "canceled": 9}
SMS_RANK = {"sending": 0, "accepted": 1, "queued": 1, "scheduled": 1, "sent": 3,
            "delivered": 9, "undelivered": 9, "failed": 9, "canceled": 9, "read": 10}
FINAL_RANK = 9


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """UTC with milliseconds and a Z: sorts correctly as text."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def plan(db, campaign_id: int, village_id: int, targets: list[tuple[int, str, str]], at: datetime) -> int:
    """Insert (resident_id, channel, to) rows; duplicates are ignored (UNIQUE). Commits; returns rows added."""
    when = iso(at)
    with write(db):
        before = db.conn.total_changes
        db.conn.executemany(
            "INSERT OR IGNORE INTO outbox (campaign_id, resident_id, village_id, channel, to_e164, next_attempt_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", [(campaign_id, r, village_id, ch, to, when) for r, ch, to in targets])
        return db.conn.total_changes - before


def claim(db, outbox_ids: list[int], worker: str, now: datetime) -> list[dict]:
    """Move due rows to ``sending`` and create their attempt rows, in one committed transaction.

    Only rows still due are claimed, so two workers can never both claim a row.
    """
    if not outbox_ids:
        return []
    marks = ",".join("?" * len(outbox_ids))
    with write(db):
        claimed = [dict(r) for r in db.execute(
            f"""UPDATE outbox SET status = 'sending', claimed_at = ?, claimed_by = ?, updated_at = ?
                WHERE id IN ({marks}) AND status IN ('pending', 'retry') AND next_attempt_at <= ?
                RETURNING *""", [iso(now), worker, iso(now), *outbox_ids, iso(now)]).fetchall()]
        for row in claimed:
            db.execute("INSERT OR IGNORE INTO attempts (outbox_id, number, channel) VALUES (?, ?, ?)",
                       [row["id"], row["attempts"] + 1, row["channel"]])
            row["attempt_id"] = db.execute("SELECT id FROM attempts WHERE outbox_id = ? AND number = ?",
                                           [row["id"], row["attempts"] + 1]).fetchone()[0]
    return claimed


def mark_wired(db, outbox_id: int, attempt_id: int, sid: str, now: datetime) -> None:
    """The provider accepted the request. A callback that raced ahead may have moved it on already."""
    with write(db):
        db.execute("UPDATE attempts SET provider_sid = COALESCE(provider_sid, ?), updated_at = ? WHERE id = ?",
                   [sid, iso(now), attempt_id])
        # Only the attempt in flight may wire the row: a late callback of an earlier attempt must
        # not mark a row "wired" whose next attempt was claimed but never sent.
        db.execute("""UPDATE outbox SET status = 'wired', provider_sid = ?, updated_at = ?, attempts = attempts + 1
                      WHERE id = ? AND status IN ('sending', 'unknown')
                      AND attempts + 1 = (SELECT number FROM attempts WHERE id = ?)""",
                   [sid, iso(now), outbox_id, attempt_id])


def mark_retry(db, outbox_id: int, at: datetime, reason: str, *, count_attempt: bool) -> None:
    with write(db):
        db.execute(f"""UPDATE outbox SET status = 'retry', next_attempt_at = ?, failed_reason = ?, updated_at = ?
                       {', attempts = attempts + 1' if count_attempt else ''}
                       WHERE id = ? AND status NOT IN ('done', 'failed', 'expired', 'cancelled')""",
                   [iso(at), reason, iso(now_utc()), outbox_id])


def mark_unknown(db, outbox_id: int, reason: str) -> None:
    with write(db):
        db.execute("UPDATE outbox SET status = 'unknown', failed_reason = ?, updated_at = ? "
                   "WHERE id = ? AND status = 'sending'", [reason, iso(now_utc()), outbox_id])


def mark_failed(db, outbox_id: int, reason: str, code: int | None = None, *, outcome: str | None = None) -> None:
    with write(db):
        db.execute("""UPDATE outbox SET status = 'failed', failed_reason = ?, error_code = ?,
                      outcome = COALESCE(?, outcome), updated_at = ?
                      WHERE id = ? AND status NOT IN ('done', 'failed', 'expired', 'cancelled')""",
                   [reason, code, outcome, iso(now_utc()), outbox_id])


def mark_done(db, outbox_id: int, outcome: str, *, heard_full: bool = False) -> None:
    with write(db):
        db.execute("""UPDATE outbox SET status = 'done', outcome = ?, heard_full = MAX(heard_full, ?), updated_at = ?
                      WHERE id = ? AND status NOT IN ('done', 'expired', 'cancelled')""",
                   [outcome, int(heard_full), iso(now_utc()), outbox_id])


def expire_and_cancel(db, now: datetime) -> int:
    """Due rows of cancelled campaigns → cancelled; of campaigns past expiry → expired. Commits."""
    with write(db):
        changed = db.execute("""UPDATE outbox SET status = 'cancelled', updated_at = ?
            WHERE status IN ('pending', 'retry') AND campaign_id IN (SELECT id FROM campaigns WHERE status = 'cancelled')""",
                             [iso(now)]).rowcount
        changed += db.execute("""UPDATE outbox SET status = 'expired', failed_reason = 'too old to send', updated_at = ?
            WHERE status IN ('pending', 'retry') AND campaign_id IN
            (SELECT id FROM campaigns WHERE expires_at IS NOT NULL AND expires_at <= ?)""", [iso(now), iso(now)]).rowcount
    return changed


def due(db, now: datetime, limit: int) -> list[dict]:
    """Due rows of running campaigns, oldest first (reads only)."""
    return rows(db, """SELECT o.id, o.campaign_id, o.channel, o.village_id, c.window_start, c.window_end,
                              c.throttle_per_s, v.timezone
                       FROM outbox o JOIN campaigns c ON c.id = o.campaign_id JOIN villages v ON v.id = o.village_id
                       WHERE o.status IN ('pending', 'retry') AND o.next_attempt_at <= ? AND c.status = 'running'
                       ORDER BY o.next_attempt_at, o.id LIMIT ?""", [iso(now), limit])


def defer(db, outbox_id: int, until: datetime) -> None:
    """Outside the calling window: wait for the next allowed time (not an attempt)."""
    with write(db):
        db.execute("UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND status IN ('pending', 'retry')",
                   [iso(until), outbox_id])


def stale_in_flight(db, older_than: datetime) -> list[dict]:
    return rows(db, """SELECT o.*, a.id AS attempt_id, a.provider_sid AS attempt_sid, a.status AS attempt_status, a.body
                       FROM outbox o JOIN attempts a ON a.outbox_id = o.id AND a.number = o.attempts + 1
                       WHERE o.status IN ('sending', 'unknown') AND o.claimed_at <= ?""", [iso(older_than)])


def attempt(db, attempt_id: int) -> dict | None:
    return one(db, """SELECT a.*, o.campaign_id, o.resident_id, o.village_id, o.to_e164, o.status AS outbox_status,
                             o.attempts AS outbox_attempts, o.channel AS outbox_channel
                      FROM attempts a JOIN outbox o ON o.id = a.outbox_id WHERE a.id = ?""", [attempt_id])
