"""Schema changes, in order: one module per migration, applied in the order imported below.

A migration that has landed is never edited: add a new module (the next number) and import it last.
Applied by ``flask --app wsgi migrate`` and when the worker and the demo start.

The foundation schema is shaped for the issues that build on it:
- people are reached per *resident*, never per phone number (reach statistics are about people);
- every row that belongs to a village carries ``village_id`` so scope checks are one comparison;
- the audit log is append-only (triggers refuse UPDATE and DELETE).
"""
from __future__ import annotations

from sqlite_utils.migrations import Migrations

migrations = Migrations("dalaba")


def run_sql(db, statements: str) -> None:
    """Run ``;``-separated statements one by one: executescript() would COMMIT the migration's transaction."""
    for statement in statements.split(";\n"):
        if statement.strip():
            db.execute(statement)


# Declaration order is application order.
from . import (m0001_foundation, m0002_notices, m0003_delivery, m0004_schedules_and_reach,  # noqa: E402,F401
               m0005_play_calls, m0006_reach_indexes)


def apply(db) -> list[str]:
    """Apply pending migrations; returns the names applied (each commits on its own)."""
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending
