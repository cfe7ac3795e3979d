"""The database: pragmas on every connection, migrations, transactions and the append-only audit log."""
import sqlite3
import threading

import pytest

from outreach import audit
from outreach.db import connect, write
from outreach.migrations import apply, migrations


def test_every_connection_has_wal_foreign_keys_and_busy_timeout(app):
    db = connect(app.config["DATABASE"])
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_foreign_keys_are_enforced(db):
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO residents (village_id, name) VALUES (9999, '无村之人')")


def test_migrations_are_recorded_and_idempotent(app, db):
    assert apply(db) == []  # the fixture applied them already
    applied = [m.name for m in migrations.applied(db)]
    assert applied == [m.name for m in migrations._migrations]


def test_fresh_database_migrates_from_nothing(tmp_path):
    db = connect(str(tmp_path / "new.sqlite"))
    assert apply(db)[0] == "m0001_foundation"
    assert "residents" in db.table_names()


def test_write_rolls_back_on_error(db, ids):
    with pytest.raises(RuntimeError):
        with write(db):
            db.execute("UPDATE residents SET name = '被改' WHERE id = ?", [ids["res_a1"]])
            raise RuntimeError("boom")
    assert db.execute("SELECT name FROM residents WHERE id = ?", [ids["res_a1"]]).fetchone()[0] == "张秀英"


def test_concurrent_writers_wait_instead_of_failing(app):
    """Two connections writing at once: the second waits for the lock (no "database is locked")."""
    errors = []

    def writer(n):
        db = connect(app.config["DATABASE"])
        try:
            for i in range(50):
                with write(db):
                    db.execute("INSERT INTO login_attempts (key, at) VALUES (?, ?)", [f"w{n}", i])
        except sqlite3.OperationalError as exc:
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db = connect(app.config["DATABASE"])
    assert db.execute("SELECT COUNT(*) FROM login_attempts WHERE key LIKE 'w%'").fetchone()[0] == 200


def test_audit_log_is_append_only(db):
    audit.record(db, "export", object_type="residents")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET action = 'nothing'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log")
    assert db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == 1


def test_audit_records_logins_and_admin_can_filter(client, login):
    login(client, "sec_a", "wrong-password")
    login(client, "sec_a")
    client.post("/logout")
    login(client, "admin")
    page = client.get("/admin/audit?action=login_failed").get_data(as_text=True)
    assert "login_failed" in page and "sec_a" in page
    assert "<td>logout</td>" not in page
    page = client.get("/admin/audit?username=sec_a").get_data(as_text=True)
    assert "<td>login</td>" in page and "<td>logout</td>" in page
