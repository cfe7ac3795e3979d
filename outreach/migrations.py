"""Schema changes, in order. A migration that has landed is never edited: add a new one.

Applied by ``flask --app wsgi db-migrate`` (CLI ``dalaba migrate``) and when the run command starts.

The foundation schema is shaped for the issues that build on it:
- people are reached per *resident*, never per phone number (reach statistics are about people);
- every row that belongs to a village carries ``village_id`` so scope checks are one comparison;
- the audit log is append-only (triggers refuse UPDATE and DELETE).
"""
from __future__ import annotations

from sqlite_utils.migrations import Migrations

migrations = Migrations("dalaba")


def _run(db, statements: str) -> None:
    # Statement by statement: executescript() would COMMIT the migration's transaction.
    for statement in statements.split(";\n"):
        if statement.strip():
            db.execute(statement)


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


def apply(db) -> list[str]:
    """Apply pending migrations; returns the names applied (each commits on its own)."""
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending


@migrations()
def m0002_notices(db):
    """Notices with per-language SMS text and processed audio (issue 3)."""
    _run(db, """
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    title TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    append_reply_hint INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'ready', 'archived')),
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE INDEX notices_village ON notices (village_id, created_at);
CREATE TABLE notice_variants (
    id INTEGER PRIMARY KEY,
    notice_id INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    sms_text TEXT NOT NULL DEFAULT '',
    UNIQUE (notice_id, language)
);
CREATE TABLE audio_assets (
    id INTEGER PRIMARY KEY,
    notice_id INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    language TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('upload', 'recording', 'synthetic')),
    current INTEGER NOT NULL DEFAULT 1,
    folder TEXT NOT NULL,
    original_file TEXT NOT NULL,
    original_format TEXT NOT NULL,
    uploaded_name TEXT NOT NULL DEFAULT '',
    duration_s REAL NOT NULL,
    sample_rate INTEGER,
    lufs REAL,
    true_peak_db REAL,
    warnings TEXT NOT NULL DEFAULT '[]',
    chime INTEGER NOT NULL DEFAULT 0,
    repeat INTEGER NOT NULL DEFAULT 1,
    public_token TEXT NOT NULL UNIQUE,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE INDEX audio_assets_current ON audio_assets (notice_id, language) WHERE current = 1;
CREATE TABLE audio_renditions (
    asset_id INTEGER NOT NULL REFERENCES audio_assets(id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (name IN ('original', 'master', 'loudspeaker', 'telephone')),
    file TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    duration_s REAL,
    PRIMARY KEY (asset_id, name)
) WITHOUT ROWID
""")


@migrations()
def m0003_delivery(db):
    """Campaigns, the outbox and its attempts, webhook dedupe, responses, pledges, opt-outs (issue 4)."""
    _run(db, """
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    notice_id INTEGER NOT NULL REFERENCES notices(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'notice' CHECK (kind IN ('notice', 'health_check')),
    channel TEXT NOT NULL CHECK (channel IN ('voice', 'sms', 'voice_then_sms')),
    audience TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'running', 'paused', 'cancelled', 'done')),
    max_attempts INTEGER NOT NULL DEFAULT 3,
    retry_waits TEXT NOT NULL DEFAULT '{}',
    retry_until_ack INTEGER NOT NULL DEFAULT 0,
    window_start TEXT NOT NULL DEFAULT '08:00',
    window_end TEXT NOT NULL DEFAULT '20:30',
    expires_at TEXT,
    throttle_per_s REAL NOT NULL DEFAULT 1.0,
    machine_detection INTEGER NOT NULL DEFAULT 1,
    machine_behaviour TEXT NOT NULL DEFAULT 'leave_message'
        CHECK (machine_behaviour IN ('leave_message', 'hangup_retry')),
    fire_id INTEGER,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX campaigns_village ON campaigns (village_id, created_at);
CREATE INDEX campaigns_running ON campaigns (status) WHERE status = 'running';
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    village_id INTEGER NOT NULL REFERENCES villages(id),
    channel TEXT NOT NULL CHECK (channel IN ('voice', 'sms')),
    to_e164 TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    claimed_at TEXT,
    claimed_by TEXT,
    provider_sid TEXT,
    outcome TEXT,
    heard_full INTEGER NOT NULL DEFAULT 0,
    failed_reason TEXT,
    error_code INTEGER,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (campaign_id, resident_id, channel)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status IN ('pending', 'retry');
CREATE INDEX outbox_inflight ON outbox (claimed_at) WHERE status IN ('sending', 'unknown');
CREATE INDEX outbox_campaign ON outbox (campaign_id, status);
CREATE INDEX outbox_resident ON outbox (resident_id);
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL REFERENCES outbox(id),
    number INTEGER NOT NULL,
    channel TEXT NOT NULL,
    provider_sid TEXT UNIQUE,
    body TEXT,
    status TEXT NOT NULL DEFAULT 'sending',
    answered_by TEXT,
    duration_s INTEGER,
    heard_full INTEGER NOT NULL DEFAULT 0,
    error_code INTEGER,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (outbox_id, number)
);
CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE TABLE responses (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    resident_id INTEGER REFERENCES residents(id),
    campaign_id INTEGER REFERENCES campaigns(id),
    notice_id INTEGER REFERENCES notices(id),
    attempt_id INTEGER REFERENCES attempts(id),
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    raw TEXT NOT NULL DEFAULT '',
    from_e164 TEXT,
    dedupe_key TEXT UNIQUE,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX responses_notice ON responses (notice_id, resident_id, kind);
CREATE INDEX responses_resident ON responses (resident_id, at);
CREATE TABLE pledges (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    resident_id INTEGER REFERENCES residents(id),
    household_id INTEGER REFERENCES households(id),
    notice_id INTEGER REFERENCES notices(id),
    campaign_id INTEGER REFERENCES campaigns(id),
    event_type TEXT NOT NULL DEFAULT 'other'
        CHECK (event_type IN ('wedding', 'funeral', 'birthday', 'lantern', 'other')),
    planned_date TEXT,
    guests INTEGER,
    decision TEXT NOT NULL DEFAULT 'cancel' CHECK (decision IN ('cancel', 'postpone', 'downsize')),
    new_date TEXT,
    channel TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'recorded'
        CHECK (status IN ('incomplete', 'recorded', 'kept', 'not_kept')),
    recorded_by INTEGER REFERENCES users(id),
    dedupe_key TEXT UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX pledges_village ON pledges (village_id, created_at);
CREATE TABLE opt_outs (
    e164 TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE TABLE do_not_call (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    e164 TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    added_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    UNIQUE (village_id, e164)
);
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    village_id INTEGER REFERENCES villages(id),
    resident_id INTEGER REFERENCES residents(id),
    from_e164 TEXT NOT NULL,
    body TEXT NOT NULL,
    provider_sid TEXT UNIQUE,
    handled INTEGER NOT NULL DEFAULT 0,
    received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE TABLE sms_dialogs (
    e164 TEXT PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    pledge_id INTEGER REFERENCES pledges(id),
    step TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)
""")


@migrations()
def m0004_schedules_and_reach(db):
    """Loudspeakers, schedules, fires and the play log (issue 5); visits, alerts and pledge follow-up (issue 6)."""
    _run(db, """
ALTER TABLE villages ADD COLUMN quiet_hours TEXT NOT NULL DEFAULT '["21:00-07:30", "12:00-13:30"]';
ALTER TABLE villages ADD COLUMN led_url TEXT;
CREATE TABLE loudspeakers (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('alsa', 'icecast', 'phone_terminal', 'portable')),
    config TEXT NOT NULL DEFAULT '{}',
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    UNIQUE (village_id, name)
);
CREATE TABLE schedules (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    kind TEXT NOT NULL CHECK (kind IN ('broadcast', 'campaign')),
    name TEXT NOT NULL,
    notice_id INTEGER NOT NULL REFERENCES notices(id),
    loudspeaker_id INTEGER REFERENCES loudspeakers(id),
    loops INTEGER NOT NULL DEFAULT 1,
    campaign_options TEXT NOT NULL DEFAULT '{}',
    rule TEXT NOT NULL,
    grace_s INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'cancelled', 'finished')),
    override_quiet INTEGER NOT NULL DEFAULT 0,
    override_reason TEXT NOT NULL DEFAULT '',
    planned_until TEXT,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE INDEX schedules_active ON schedules (village_id) WHERE status = 'active';
CREATE TABLE fires (
    id INTEGER PRIMARY KEY,
    schedule_id INTEGER NOT NULL REFERENCES schedules(id),
    village_id INTEGER NOT NULL REFERENCES villages(id),
    fire_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'planned'
        CHECK (status IN ('planned', 'fired', 'missed', 'skipped', 'cancelled')),
    decided_at TEXT,
    campaign_id INTEGER REFERENCES campaigns(id),
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (schedule_id, fire_at)
);
CREATE INDEX fires_planned ON fires (due_at) WHERE status = 'planned';
CREATE INDEX fires_village ON fires (village_id, fire_at);
CREATE TABLE plays (
    id INTEGER PRIMARY KEY,
    fire_id INTEGER REFERENCES fires(id),
    loudspeaker_id INTEGER NOT NULL REFERENCES loudspeakers(id),
    village_id INTEGER NOT NULL REFERENCES villages(id),
    asset_id INTEGER REFERENCES audio_assets(id),
    status TEXT NOT NULL DEFAULT 'intent'
        CHECK (status IN ('intent', 'started', 'finished', 'failed', 'retry', 'awaiting_confirmation',
                          'confirmed', 'missed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    deadline_at TEXT,
    expected_s REAL,
    played_s REAL,
    error TEXT,
    confirmed_by TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    started_at TEXT,
    finished_at TEXT,
    UNIQUE (fire_id, loudspeaker_id)
);
CREATE INDEX plays_due ON plays (next_attempt_at) WHERE status IN ('intent', 'retry');
CREATE INDEX plays_village ON plays (village_id, created_at);
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    campaign_id INTEGER REFERENCES campaigns(id),
    kind TEXT NOT NULL CHECK (kind IN ('health_help', 'health_no_answer', 'callback_requested')),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'handled')),
    handled_by INTEGER REFERENCES users(id),
    handled_at TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (campaign_id, resident_id, kind)
);
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    alert_id INTEGER REFERENCES alerts(id),
    to_e164 TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    claimed_at TEXT,
    provider_sid TEXT,
    failed_reason TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (alert_id, to_e164)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status IN ('pending', 'retry');
CREATE TABLE visits (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    notice_id INTEGER REFERENCES notices(id),
    user_id INTEGER REFERENCES users(id),
    outcome TEXT NOT NULL CHECK (outcome IN ('informed', 'not_home', 'moved', 'refused')),
    note TEXT NOT NULL DEFAULT '',
    visited_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX visits_resident ON visits (resident_id, notice_id);
CREATE INDEX visits_notice ON visits (notice_id, village_id);
ALTER TABLE pledges ADD COLUMN verified_by INTEGER REFERENCES users(id);
ALTER TABLE pledges ADD COLUMN verified_at TEXT;
ALTER TABLE pledges ADD COLUMN reminder_at TEXT;
ALTER TABLE pledges ADD COLUMN reminded_at TEXT;
CREATE TABLE pledge_links (
    token TEXT PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES villages(id),
    notice_id INTEGER REFERENCES notices(id),
    resident_id INTEGER REFERENCES residents(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    used_at TEXT
);
CREATE INDEX responses_village_at ON responses (village_id, at);
CREATE INDEX outbox_village_status ON outbox (village_id, status)
""")


@migrations()
def m0005_play_calls(db):
    """Phone-dialled loudspeaker terminals (issue 5): the call behind a play, as its status callbacks report it.

    The worker waits for these columns while a terminal call runs; the web process writes them from Twilio's
    status callback (the two are separate processes, so the database is where they meet).
    """
    _run(db, """
ALTER TABLE plays ADD COLUMN provider_sid TEXT;
ALTER TABLE plays ADD COLUMN call_status TEXT;
ALTER TABLE plays ADD COLUMN call_duration_s REAL
""")


@migrations()
def m0006_reach_indexes(db):
    """Indexes for reach statistics over a million deliveries (issue 6; bench/bench_reach.py).

    Found by profiling: per-notice reach scanned the whole outbox through ``outbox_resident`` and
    looked every row up in the table; the daily report scanned a village's whole outbox for one
    day. Covering indexes turn both into range reads of the index alone; ``outbox_reach`` is ordered
    so that the channel × outcome breakdown streams through it without a sort.
    """
    _run(db, """
CREATE INDEX outbox_reach ON outbox (campaign_id, channel, status, outcome, error_code, resident_id, heard_full,
                                     attempts, updated_at, created_at);
CREATE INDEX outbox_done_day ON outbox (village_id, updated_at, resident_id, outcome) WHERE status = 'done';
CREATE INDEX campaigns_notice ON campaigns (notice_id, status);
CREATE INDEX responses_reach ON responses (notice_id, resident_id, kind, at);
CREATE INDEX responses_village_day ON responses (village_id, at, kind, resident_id);
CREATE INDEX pledges_notice ON pledges (notice_id, resident_id, created_at);
CREATE INDEX residents_reach ON residents (village_id, grid_id, household_id, birth_year, lives_elsewhere)
""")
