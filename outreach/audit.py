"""The audit log: who did what, when. Append-only (the schema's triggers refuse edits).

:func:`record` joins the caller's transaction when there is one, so an audited change and its
audit row commit together; on its own it commits immediately.
"""
from __future__ import annotations

import json

from .db import rows, scalar, write

PER_PAGE = 100


def record(db, action: str, *, user: dict | None = None, object_type: str = "", object_id="",
           village_id: int | None = None, ip: str = "", **detail) -> None:
    with write(db):
        db.execute(
            "INSERT INTO audit_log (user_id, username, action, object_type, object_id, village_id, detail, ip) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [user["id"] if user else None, user["username"] if user else "", action, object_type,
             str(object_id or ""), village_id, json.dumps(detail, ensure_ascii=False, default=str), ip])


def query(db, *, action: str = "", username: str = "", since: str = "", until: str = "",
          page: int = 1) -> tuple[list[dict], int]:
    clauses, params = [], []
    if action:
        clauses.append("action = ?")
        params.append(action)
    if username:
        clauses.append("username = ?")
        params.append(username)
    if since:
        clauses.append("at >= ?")
        params.append(since)
    if until:
        clauses.append("at < ?")
        params.append(until)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    total = scalar(db, f"SELECT COUNT(*) FROM audit_log{where}", params)
    found = rows(db, f"SELECT * FROM audit_log{where} ORDER BY id DESC LIMIT ? OFFSET ?",
                 params + [PER_PAGE, (max(page, 1) - 1) * PER_PAGE])
    for r in found:
        r["detail"] = json.loads(r["detail"] or "{}")
    return found, total


def actions(db) -> list[str]:
    return [r["action"] for r in rows(db, "SELECT DISTINCT action FROM audit_log ORDER BY action")]
