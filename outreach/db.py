"""The one SQLite file: connections, the per-request handle and the write transaction.

Every connection is opened here so that each one gets the same settings: WAL journal,
``foreign_keys=ON``, a busy timeout and driver-level autocommit (``isolation_level=None``)
so that transactions are only ever opened explicitly. Writers use :func:`write`, which
takes the write lock up front with ``BEGIN IMMEDIATE`` — a deferred transaction that reads
first and writes later can fail with "database is locked" instead of waiting.
"""
from __future__ import annotations

import contextlib
import sqlite3
from typing import Iterator

import sqlite_utils

BUSY_TIMEOUT_MS = 10_000


def connect(path: str, *, readonly: bool = False) -> sqlite_utils.Database:
    """Open ``path`` with the project's pragmas. Nothing is written except the WAL switch."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable across application crashes in WAL mode; only power loss can
        # drop the last commits, and the outbox reconciles those against the provider.
        conn.execute("PRAGMA synchronous = NORMAL")
    return sqlite_utils.Database(conn)


@contextlib.contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run the block inside ``BEGIN IMMEDIATE``; commits when the block ends, rolls back on error.

    Nested use joins the outer transaction (a savepoint), so domain functions can call each
    other and still commit once.
    """
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def rows(db: sqlite_utils.Database, sql: str, params=()) -> list[dict]:
    """Run a read query and return plain dicts (templates and JSON want dicts, not Rows)."""
    return [dict(r) for r in db.conn.execute(sql, params).fetchall()]


def one(db: sqlite_utils.Database, sql: str, params=()) -> dict | None:
    row = db.conn.execute(sql, params).fetchone()
    return dict(row) if row is not None else None


def scalar(db: sqlite_utils.Database, sql: str, params=()):
    row = db.conn.execute(sql, params).fetchone()
    return row[0] if row is not None else None


# ---- Flask glue: one handle per request ---------------------------------------------

def get_db():
    """The request's connection, opened on first use and closed at teardown."""
    from flask import current_app, g

    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def close_db(_exc=None):
    from flask import g

    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app):
    app.teardown_appcontext(close_db)
