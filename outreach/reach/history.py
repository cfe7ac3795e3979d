"""One resident's history across channels, newest first: what the resident page shows (reads only)."""
from __future__ import annotations

from ..db import rows


def for_resident(db, resident_id: int, limit: int = 100) -> list[dict]:
    """Sends, answers, pledges and visits as one time line of dicts with ``at``, ``kind`` and details."""
    events = rows(db, """
        SELECT o.updated_at AS at, 'send' AS kind, o.channel, o.status, o.outcome, o.attempts, o.heard_full,
               c.name AS campaign, n.title AS notice, NULL AS detail
        FROM outbox o JOIN campaigns c ON c.id = o.campaign_id JOIN notices n ON n.id = c.notice_id
        WHERE o.resident_id = ?
        UNION ALL
        SELECT x.at, 'response', x.channel, x.kind, NULL, NULL, NULL, c.name, n.title, x.raw
        FROM responses x LEFT JOIN campaigns c ON c.id = x.campaign_id LEFT JOIN notices n ON n.id = x.notice_id
        WHERE x.resident_id = ?
        UNION ALL
        SELECT p.created_at, 'pledge', p.channel, p.status, p.event_type, p.guests, NULL, NULL, n.title,
               COALESCE(p.planned_date, '') || CASE WHEN p.decision != 'cancel' THEN ' ' || p.decision ELSE '' END
        FROM pledges p LEFT JOIN notices n ON n.id = p.notice_id WHERE p.resident_id = ?
        UNION ALL
        SELECT v.visited_at, 'visit', 'visit', v.outcome, NULL, NULL, NULL, NULL, n.title, v.note
        FROM visits v LEFT JOIN notices n ON n.id = v.notice_id WHERE v.resident_id = ?
        ORDER BY at DESC LIMIT ?""", [resident_id, resident_id, resident_id, resident_id, limit])
    return events
