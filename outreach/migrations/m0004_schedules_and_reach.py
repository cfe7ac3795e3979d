"""Migration 0004: landed migrations are never edited; add a new module instead."""
from . import migrations, run_sql as _run


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
