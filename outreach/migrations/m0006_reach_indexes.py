"""Migration 0006: landed migrations are never edited; add a new module instead."""
from . import migrations, run_sql as _run


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
