"""Migration 0003: landed migrations are never edited; add a new module instead."""
from . import migrations, run_sql as _run


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
