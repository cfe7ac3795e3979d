"""Migration 0005: landed migrations are never edited; add a new module instead."""
from . import migrations, run_sql as _run


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
