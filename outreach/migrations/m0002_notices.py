"""Migration 0002: landed migrations are never edited; add a new module instead."""
from . import migrations, run_sql as _run


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
