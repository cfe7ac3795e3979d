"""The one SQLite file: connections, the per-request handle and the write transaction.

Every connection is opened here so that each one gets the same settings: WAL journal,
``foreign_keys=ON``, a busy timeout and driver-level autocommit (``isolation_level=None``)
so that transactions are only ever opened explicitly. Writers use :func:`write`, which
takes the write lock up front with ``BEGIN IMMEDIATE`` — a deferred transaction that reads
first and writes later can fail with "database is locked" instead of waiting.
"""
from __future__ import annotations

import contextlib
import queue
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
        # WAL is a property of the file, so this only does work the first time; it is asked
        # here anyway so that no code path can ever open the file in rollback-journal mode.
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable across application crashes in WAL mode; only power loss can
        # drop the last commits, and the outbox reconciles those against the provider.
        conn.execute("PRAGMA synchronous = NORMAL")
    return sqlite_utils.Database(conn, execute_plugins=False)


@contextlib.contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run the block inside ``BEGIN IMMEDIATE``; commits when the block ends, rolls back on error.

    Nested use simply joins the outer transaction, so domain functions can call each other and
    commit once; an error anywhere rolls the whole outer transaction back. Code that wants to
    survive a failed step *inside* a transaction (an import skipping a bad row) wraps that step
    in ``db.atomic()``, which is a savepoint.
    """
    conn = db.conn
    if conn.in_transaction:
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

class Pool:
    """Idle connections kept between requests: opening one costs more than a webhook's work."""

    def __init__(self, path: str, size: int = 16):
        self.path, self.idle = path, queue.LifoQueue(maxsize=size)

    def get(self) -> sqlite_utils.Database:
        try:
            return self.idle.get_nowait()
        except queue.Empty:
            return connect(self.path)

    def put(self, db: sqlite_utils.Database) -> None:
        if db.conn.in_transaction:  # a request that failed mid-write leaves nothing behind
            db.conn.execute("ROLLBACK")
        try:
            self.idle.put_nowait(db)
        except queue.Full:
            db.close()


def get_db():
    """The request's connection, taken on first use and given back at teardown."""
    from flask import current_app, g

    if "db" not in g:
        g.db = current_app.extensions["dalaba_db_pool"].get()
    return g.db


def close_db(_exc=None):
    from flask import current_app, g

    db = g.pop("db", None)
    if db is not None:
        current_app.extensions["dalaba_db_pool"].put(db)


def init_app(app):
    app.extensions["dalaba_db_pool"] = Pool(app.config["DATABASE"])
    app.teardown_appcontext(close_db)
