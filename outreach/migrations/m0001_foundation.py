"""Migration 0001: landed migrations are never edited; add a new module instead."""
from . import migrations, run_sql as _run


@migrations()
def m0001_foundation(db):
    _run(db, """
CREATE TABLE counties (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE townships (
    id INTEGER PRIMARY KEY,
    county_id INTEGER NOT NULL REFERENCES counties(id),
    name TEXT NOT NULL,
    UNIQUE (county_id, name)
);
CREATE TABLE villages (
    id INTEGER PRIMARY KEY,
    township_id INTEGER NOT NULL REFERENCES townships(id),
    name TEXT NOT NULL,
    timezone TEXT NOT NULL DEFAULT 'Asia/Shanghai',
    default_language TEXT NOT NULL DEFAULT 'mandarin',
    phone_number TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    UNIQUE (township_id, name)
);
CREATE TABLE grids (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    parent_id INTEGER REFERENCES grids(id),
    name TEXT NOT NULL,
    UNIQUE (village_id, name)
);
CREATE TABLE households (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    grid_id INTEGER REFERENCES grids(id),
    house_number TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    UNIQUE (village_id, house_number)
);
CREATE TABLE residents (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    household_id INTEGER REFERENCES households(id),
    grid_id INTEGER REFERENCES grids(id),
    name TEXT NOT NULL,
    name_pinyin TEXT NOT NULL DEFAULT '',
    name_initials TEXT NOT NULL DEFAULT '',
    birth_year INTEGER,
    sex TEXT CHECK (sex IN ('M', 'F') OR sex IS NULL),
    language TEXT NOT NULL DEFAULT 'mandarin',
    lives_elsewhere INTEGER NOT NULL DEFAULT 0,
    relation TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE INDEX residents_village_grid ON residents (village_id, grid_id);
CREATE INDEX residents_household ON residents (household_id);
CREATE INDEX residents_village_name ON residents (village_id, name);
CREATE INDEX residents_birth_year ON residents (village_id, birth_year);
CREATE TABLE resident_phones (
    id INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    e164 TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'mobile' CHECK (kind IN ('mobile', 'landline')),
    position INTEGER NOT NULL DEFAULT 0,
    UNIQUE (village_id, e164)
);
CREATE INDEX resident_phones_resident ON resident_phones (resident_id);
CREATE INDEX resident_phones_e164 ON resident_phones (e164);
CREATE TABLE resident_tags (
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (resident_id, tag)
) WITHOUT ROWID;
CREATE INDEX resident_tags_tag ON resident_tags (tag, resident_id);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'secretary', 'grid_worker', 'official')),
    phone TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    last_login_at TEXT
);
CREATE TABLE user_scopes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    county_id INTEGER REFERENCES counties(id),
    township_id INTEGER REFERENCES townships(id),
    village_id INTEGER REFERENCES villages(id),
    grid_id INTEGER REFERENCES grids(id),
    CHECK ((county_id IS NOT NULL) + (township_id IS NOT NULL)
           + (village_id IS NOT NULL) + (grid_id IS NOT NULL) = 1)
);
CREATE INDEX user_scopes_user ON user_scopes (user_id);
CREATE TABLE caretakers (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    user_id INTEGER REFERENCES users(id),
    name TEXT NOT NULL,
    phone TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('grid_worker', 'party_contact', 'care_team')),
    role_note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE caretaker_assignments (
    id INTEGER PRIMARY KEY,
    caretaker_id INTEGER NOT NULL REFERENCES caretakers(id) ON DELETE CASCADE,
    household_id INTEGER REFERENCES households(id) ON DELETE CASCADE,
    resident_id INTEGER REFERENCES residents(id) ON DELETE CASCADE,
    CHECK ((household_id IS NULL) <> (resident_id IS NULL))
);
CREATE INDEX caretaker_assignments_household ON caretaker_assignments (household_id);
CREATE INDEX caretaker_assignments_resident ON caretaker_assignments (resident_id);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    user_id INTEGER,
    username TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    object_type TEXT NOT NULL DEFAULT '',
    object_id TEXT NOT NULL DEFAULT '',
    village_id INTEGER,
    detail TEXT NOT NULL DEFAULT '{}',
    ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX login_attempts_key ON login_attempts (key, at);
CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    user_id INTEGER REFERENCES users(id),
    filename TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    total_rows INTEGER NOT NULL DEFAULT 0,
    processed_rows INTEGER NOT NULL DEFAULT 0,
    created_rows INTEGER NOT NULL DEFAULT 0,
    updated_rows INTEGER NOT NULL DEFAULT 0,
    error_rows INTEGER NOT NULL DEFAULT 0,
    mapping TEXT NOT NULL DEFAULT '{}',
    error_message TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    finished_at TEXT
);
CREATE TABLE import_errors (
    id INTEGER PRIMARY KEY,
    import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    row_number INTEGER NOT NULL,
    reason TEXT NOT NULL,
    raw TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX import_errors_import ON import_errors (import_id, row_number)
""")
