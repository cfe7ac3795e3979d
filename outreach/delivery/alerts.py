"""Alerts for people who need a person, and the texts that tell their carers.

A daily health check-in answered with 2 ("need help"), or not answered after every retry,
raises an alert; so does a request to be called back (key 0). Each new alert queues one text
per responsible person (the 五包一 care team and the grid worker) in ``notifications`` — an
intent row per text, sent by the dispatcher like any other send. Alerts are unique per
campaign × resident × kind, so a repeated webhook raises nothing twice.

Notification states: pending ─claim─▶ sending ─accepted─▶ wired ─callback─▶ delivered | failed;
429 → retry; unknown outcome → reconciled like the outbox.
"""
from __future__ import annotations

from ..db import one, rows, write

HEALTH_HELP = "health_help"            # pressed 2 on the check-in call: needs help
HEALTH_NO_ANSWER = "health_no_answer"  # the check-in call was never answered
CALLBACK = "callback_requested"        # pressed 0: wants a person to call back

TEMPLATES = {
    HEALTH_HELP: "【{village}】健康打卡：{name}（{house}）按键表示需要帮助，请尽快联系。",
    HEALTH_NO_ANSWER: "【{village}】健康打卡：{name}（{house}）今天多次未接电话，请上门查看。",
    CALLBACK: "【{village}】{name}（{house}）希望村里回电：{phone}",
}


def responsible_phones(db, resident_id: int, kind: str) -> list[str]:
    """Care team and grid worker of the resident (or their household); call-backs go to the grid worker."""
    kinds = ("grid_worker",) if kind == CALLBACK else ("care_team", "grid_worker")
    found = rows(db, f"""SELECT DISTINCT c.phone FROM caretaker_assignments a JOIN caretakers c ON c.id = a.caretaker_id
                         WHERE (a.resident_id = ? OR a.household_id = (SELECT household_id FROM residents WHERE id = ?))
                         AND c.kind IN ({','.join('?' * len(kinds))}) AND c.phone IS NOT NULL AND c.phone != ''""",
                 [resident_id, resident_id, *kinds])
    return [r["phone"] for r in found]


def raise_alert(db, resident_id: int, kind: str, campaign_id: int | None) -> int | None:
    """Record the alert and queue texts to the responsible people; None when it existed already. Commits."""
    person = one(db, """SELECT r.name, r.village_id, v.name AS village, COALESCE(h.house_number, '') AS house,
                        (SELECT e164 FROM resident_phones p WHERE p.resident_id = r.id ORDER BY position LIMIT 1) AS phone
                        FROM residents r JOIN villages v ON v.id = r.village_id
                        LEFT JOIN households h ON h.id = r.household_id WHERE r.id = ?""", [resident_id])
    if person is None:
        return None
    body = TEMPLATES[kind].format(village=person["village"], name=person["name"], house=person["house"],
                                  phone=person["phone"] or "")
    with write(db):
        cursor = db.execute("INSERT OR IGNORE INTO alerts (village_id, resident_id, campaign_id, kind) "
                            "VALUES (?, ?, ?, ?)", [person["village_id"], resident_id, campaign_id, kind])
        if cursor.rowcount == 0:
            return None  # raised before: a repeated webhook or a second look at the same failure
        alert_id = cursor.lastrowid
        db.conn.executemany("INSERT OR IGNORE INTO notifications (village_id, alert_id, to_e164, body) VALUES (?, ?, ?, ?)",
                            [(person["village_id"], alert_id, phone, body)
                             for phone in responsible_phones(db, resident_id, kind)])
        return alert_id


def open_alerts(db, village_ids: list[int] | None) -> list[dict]:
    where = "" if village_ids is None else f"AND a.village_id IN ({','.join('?' * len(village_ids)) or 'NULL'})"
    return rows(db, f"""SELECT a.*, r.name FROM alerts a JOIN residents r ON r.id = a.resident_id
                        WHERE a.status = 'open' {where} ORDER BY a.created_at DESC""", village_ids or [])
