"""Users, passwords and login throttling. Writes commit when their ``write()`` block ends."""
from __future__ import annotations

import time

from werkzeug.security import check_password_hash, generate_password_hash

from ..db import one, rows, scalar, write
from ..errors import N_, UserError

ADMIN = "admin"              # everything, every village
SECRETARY = "secretary"      # village secretary: their villages
GRID_WORKER = "grid_worker"  # their grids: lists and visit outcomes
OFFICIAL = "official"        # township/county: read-only statistics, phone numbers masked
ROLES = (ADMIN, SECRETARY, GRID_WORKER, OFFICIAL)

MAX_FAILURES = 5            # failed logins per window before the account+address is throttled
FAILURE_WINDOW_S = 15 * 60
MIN_PASSWORD_LENGTH = 8
HASH_METHOD = "scrypt"  # werkzeug's default; tests lower it to keep fixtures fast


class LoginThrottled(Exception):
    """Too many failed logins recently; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed logins, retry in {retry_after} s")
        self.retry_after = retry_after


_SHORT_PASSWORD = N_("password must have at least %(min)s characters")


def create_user(db, username: str, password: str, role: str, *, display_name: str = "",
                phone: str | None = None, scopes: dict | None = None) -> int:
    """Create a user with scopes like ``{"village_id": [1, 2]}``; commits. ValueError when invalid."""
    username = (username or "").strip()
    if not username or len(username) > 50 or any(c.isspace() for c in username):
        raise UserError(N_("username must be 1-50 characters without spaces"))
    if role not in ROLES:
        raise UserError(N_("unknown role %(role)r; choose one of %(roles)s"), role=role, roles=", ".join(ROLES))
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(_SHORT_PASSWORD, min=MIN_PASSWORD_LENGTH)
    with write(db):
        if scalar(db, "SELECT 1 FROM users WHERE username = ?", [username]):
            raise UserError(N_("user %(username)r already exists"), username=username)
        user_id = db.execute(
            "INSERT INTO users (username, display_name, password_hash, role, phone) VALUES (?, ?, ?, ?, ?)",
            [username, display_name or username, generate_password_hash(password, method=HASH_METHOD), role, phone]).lastrowid
        for column, ids in (scopes or {}).items():
            if column not in ("county_id", "township_id", "village_id", "grid_id"):
                raise ValueError(f"unknown scope {column!r}")
            for scope_id in ids:
                db.execute(f"INSERT INTO user_scopes (user_id, {column}) VALUES (?, ?)", [user_id, scope_id])
        return user_id


def get(db, user_id: int) -> dict | None:
    return one(db, "SELECT id, username, display_name, role, phone, active FROM users WHERE id = ?", [user_id])


def list_users(db) -> list[dict]:
    return rows(db, "SELECT id, username, display_name, role, active, last_login_at FROM users ORDER BY role, username")


def _throttle_key(username: str, ip: str) -> str:
    return f"{username.lower()}|{ip}"


def authenticate(db, username: str, password: str, ip: str, now: float | None = None) -> dict | None:
    """The user when the password matches; None otherwise. Raises LoginThrottled when throttled.

    Failures are counted per username+address so one attacker cannot lock a secretary out
    from the village office. Each failure commits at once.
    """
    now = time.time() if now is None else now
    key = _throttle_key(username or "", ip or "")
    since = now - FAILURE_WINDOW_S
    failures = rows(db, "SELECT at FROM login_attempts WHERE key = ? AND at > ? ORDER BY at", [key, since])
    if len(failures) >= MAX_FAILURES:
        raise LoginThrottled(int(failures[0]["at"] + FAILURE_WINDOW_S - now) + 1)
    user = one(db, "SELECT * FROM users WHERE username = ? AND active = 1", [(username or "").strip()])
    if user is None or not check_password_hash(user["password_hash"], password or ""):
        with write(db):
            db.execute("INSERT INTO login_attempts (key, at) VALUES (?, ?)", [key, now])
            db.execute("DELETE FROM login_attempts WHERE at < ?", [now - 2 * FAILURE_WINDOW_S])
        return None
    with write(db):
        db.execute("DELETE FROM login_attempts WHERE key = ?", [key])
        db.execute("UPDATE users SET last_login_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?",
                   [user["id"]])
    return user


def set_password(db, user_id: int, password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(_SHORT_PASSWORD, min=MIN_PASSWORD_LENGTH)
    with write(db):
        db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [generate_password_hash(password, method=HASH_METHOD), user_id])
