"""The pledge ledger: every gathering-cancellation pledge (calls, texts, grid workers, the public form),
reminders before the original date, verification after it, and totals in the field notes' words.

Pledge status (``pledges.status``)::

    incomplete ─(details given)─▶ recorded ─(grid worker, after the planned date)─▶ kept | not_kept

Public links (``pledge_links``): a short random token (72 bits) sent by SMS; the form behind it needs
no login and can be used once (``used_at``), so a leaked link cannot flood the ledger.
"""
from __future__ import annotations

import re
import secrets
from datetime import date, datetime, timedelta

from .. import audit
from ..db import one, rows, scalar, write
from ..delivery import interactions, outbox
from .state import in_list

RECORDED = "recorded"  # pledge made; the date has not been checked yet
KEPT = "kept"          # grid worker confirmed no gathering took place (or it was as pledged)
NOT_KEPT = "not_kept"  # the gathering went ahead anyway
EVENT_TYPES = interactions.EVENT_TYPES
DECISIONS = interactions.DECISIONS
CHANNEL_FORM = "form"    # the public pledge form
CHANNEL_VISIT = "visit"  # recorded by a grid worker
REMIND_DAYS_BEFORE = 2
MAX_GUESTS = 5000
TOKEN_BYTES = 9  # 12 URL-safe characters

# The field notes' words: "8户取消开灯酒，1户取消70大寿的酒席".
EVENT_WORDS = {"wedding": "婚宴", "funeral": "丧事", "birthday": "寿宴", "lantern": "开灯酒", "other": "其他聚集"}
DECISION_WORDS = {"cancel": "取消", "postpone": "推迟", "downsize": "缩小规模办"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PledgeError(ValueError):
    """Bad input on a pledge form: ``errors`` maps each field to what is wrong (English; views translate)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _date(text: str, field: str, errors: dict) -> str | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        errors[field] = "not a date (YYYY-MM-DD)"
        return None


def parse(form, *, today: date) -> dict:
    """Validate pledge fields from any mapping; returns clean values or raises PledgeError."""
    errors: dict[str, str] = {}
    event_type = (form.get("event_type") or "").strip()
    if event_type not in EVENT_TYPES:
        errors["event_type"] = "choose the kind of gathering"
    decision = (form.get("decision") or "").strip()
    if decision not in DECISIONS:
        errors["decision"] = "choose cancel, postpone or downsize"
    planned = _date(form.get("planned_date", ""), "planned_date", errors)
    if planned is None and "planned_date" not in errors:
        errors["planned_date"] = "the planned date is required"
    elif planned and not today - timedelta(days=366) <= date.fromisoformat(planned) <= today + timedelta(days=731):
        errors["planned_date"] = "the planned date must be within a year before and two years after today"
    new_date = _date(form.get("new_date", ""), "new_date", errors)
    if decision == "postpone" and not new_date and "new_date" not in errors:
        errors["new_date"] = "a postponed gathering needs its new date"
    elif new_date and planned and new_date <= planned:
        errors["new_date"] = "the new date must be after the planned date"
    guests = None
    raw_guests = str(form.get("guests") or "").strip()
    if raw_guests:
        if raw_guests.isdigit() and int(raw_guests) <= MAX_GUESTS:
            guests = int(raw_guests)
        else:
            errors["guests"] = f"guests must be a whole number from 0 to {MAX_GUESTS}"
    if errors:
        raise PledgeError(errors)
    return {"event_type": event_type, "decision": decision, "planned_date": planned, "guests": guests,
            "new_date": new_date if decision == "postpone" else None}


def create_link(db, *, village_id: int, notice_id: int | None = None, resident_id: int | None = None) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with write(db):
        db.execute("INSERT INTO pledge_links (token, village_id, notice_id, resident_id) VALUES (?, ?, ?, ?)",
                   [token, village_id, notice_id, resident_id])
    return token


def link(db, token: str) -> dict | None:
    """The link behind a token (None for anything malformed or unknown)."""
    if not token or len(token) > 64 or not re.fullmatch(r"[A-Za-z0-9_-]+", token):
        return None
    return one(db, """SELECT l.*, v.name AS village_name, n.title AS notice_title, r.name AS resident_name
        FROM pledge_links l JOIN villages v ON v.id = l.village_id LEFT JOIN notices n ON n.id = l.notice_id
        LEFT JOIN residents r ON r.id = l.resident_id WHERE l.token = ?""", [token])


def submit_public(db, token: str, form, *, today: date, now: datetime) -> int:
    """Record the public form's pledge once per link; ValueError when the link is unknown or used."""
    found = link(db, token)
    if found is None:
        raise LookupError("unknown link")
    values = parse(form, today=today)
    with write(db):
        used = db.execute("UPDATE pledge_links SET used_at = ? WHERE token = ? AND used_at IS NULL",
                          [outbox.iso(now), token]).rowcount
        if not used:
            raise ValueError("this link has already been used")
        pledge_id = interactions.record_pledge(db, village_id=found["village_id"], channel=CHANNEL_FORM,
                                               dedupe_key=f"link:{token}", resident_id=found["resident_id"],
                                               notice_id=found["notice_id"], **values)
        audit.record(db, "pledge_form_submitted", object_type="pledge", object_id=pledge_id,
                     village_id=found["village_id"], event_type=values["event_type"], decision=values["decision"])
    return pledge_id


def record_by_worker(db, *, resident: dict, notice_id: int | None, form, user: dict, today: date,
                     ip: str = "") -> int:
    values = parse(form, today=today)
    with write(db):
        pledge_id = interactions.record_pledge(db, village_id=resident["village_id"], channel=CHANNEL_VISIT,
                                               dedupe_key=None, resident_id=resident["id"], notice_id=notice_id,
                                               recorded_by=user["id"], **values)
        audit.record(db, "pledge_recorded", user=user, object_type="pledge", object_id=pledge_id,
                     village_id=resident["village_id"], ip=ip, **values)
    return pledge_id


def ledger(db, village_ids, *, grid_ids=None, status: str = "", limit: int = 500) -> list[dict]:
    where, params = in_list("p.village_id", village_ids)
    if grid_ids is not None:
        more, extra = in_list("r.grid_id", grid_ids)
        where, params = where + more, params + extra
    if status:
        where += " AND p.status = ?"
        params.append(status)
    return rows(db, f"""SELECT p.*, r.name AS resident_name, r.grid_id, h.house_number, v.name AS village_name,
            v.timezone, u.display_name AS recorded_by_name, w.display_name AS verified_by_name
        FROM pledges p JOIN villages v ON v.id = p.village_id
        LEFT JOIN residents r ON r.id = p.resident_id
        LEFT JOIN households h ON h.id = COALESCE(p.household_id, r.household_id)
        LEFT JOIN users u ON u.id = p.recorded_by LEFT JOIN users w ON w.id = p.verified_by
        WHERE 1 = 1{where} ORDER BY p.planned_date IS NULL, p.planned_date DESC, p.id DESC LIMIT ?""",
                [*params, limit])


def get(db, pledge_id: int) -> dict | None:
    return one(db, """SELECT p.*, r.grid_id FROM pledges p LEFT JOIN residents r ON r.id = p.resident_id
                      WHERE p.id = ?""", [pledge_id])


def due_for_reminder(db, today: date, *, days_before: int = REMIND_DAYS_BEFORE) -> list[dict]:
    """Pledges whose original date is within ``days_before`` days and not yet reminded (for the worker)."""
    return rows(db, """SELECT p.id, p.village_id, p.resident_id, p.event_type, p.decision, p.planned_date,
            p.new_date, r.name AS resident_name,
            (SELECT e164 FROM resident_phones x WHERE x.resident_id = p.resident_id AND x.kind = 'mobile'
             ORDER BY position LIMIT 1) AS mobile
        FROM pledges p LEFT JOIN residents r ON r.id = p.resident_id
        WHERE p.status = 'recorded' AND p.reminded_at IS NULL AND p.planned_date IS NOT NULL
          AND p.planned_date >= ? AND p.planned_date <= ? ORDER BY p.planned_date, p.id""",
                [today.isoformat(), (today + timedelta(days=days_before)).isoformat()])


def mark_reminded(db, pledge_id: int, now: datetime) -> bool:
    """Note that the reminder went out (once); False when it had been already."""
    with write(db):
        return db.execute("UPDATE pledges SET reminded_at = ?, reminder_at = COALESCE(reminder_at, ?) "
                          "WHERE id = ? AND reminded_at IS NULL", [outbox.iso(now), outbox.iso(now), pledge_id]
                          ).rowcount == 1


def verify(db, pledge_id: int, *, kept: bool, user: dict, today: date, now: datetime, ip: str = "") -> None:
    """The grid worker's check after the original date; ValueError before it or when already verified."""
    p = get(db, pledge_id)
    if p is None:
        raise LookupError("no such pledge")
    if p["status"] not in ("recorded", "incomplete"):
        raise ValueError("this pledge has already been verified")
    if not p["planned_date"] or date.fromisoformat(p["planned_date"]) >= today:
        raise ValueError("a pledge can be verified only after its planned date")
    with write(db):
        db.execute("""UPDATE pledges SET status = ?, verified_by = ?, verified_at = ?, updated_at = ?
                      WHERE id = ? AND status IN ('recorded', 'incomplete')""",
                   [KEPT if kept else NOT_KEPT, user["id"], outbox.iso(now), outbox.iso(now), pledge_id])
        audit.record(db, "pledge_verified", user=user, object_type="pledge", object_id=pledge_id,
                     village_id=p["village_id"], ip=ip, kept=kept)


def totals(db, village_ids) -> list[dict]:
    """Households per village × decision × event type (a household pledging twice counts once)."""
    where, params = in_list("p.village_id", village_ids)
    return rows(db, f"""SELECT p.village_id, v.name AS village_name, p.decision, p.event_type,
            COUNT(DISTINCT COALESCE('h' || p.household_id, 'r' || p.resident_id, 'p' || p.id)) AS households,
            SUM(p.status = 'kept') AS kept, SUM(p.status = 'not_kept') AS not_kept
        FROM pledges p JOIN villages v ON v.id = p.village_id WHERE p.status != 'incomplete'{where}
        GROUP BY p.village_id, p.decision, p.event_type ORDER BY v.name, households DESC""", params)


def sentence(parts: list[dict]) -> str:
    """"8户取消开灯酒，1户取消寿宴" — one village's totals as the field notes write them."""
    return "，".join(f"{p['households']}户{DECISION_WORDS[p['decision']]}{EVENT_WORDS[p['event_type']]}"
                    for p in parts)


def sentences(db, village_ids) -> list[dict]:
    """[{village_id, village_name, text, households}] from :func:`totals`."""
    out: dict[int, dict] = {}
    for t in totals(db, village_ids):
        entry = out.setdefault(t["village_id"], {"village_id": t["village_id"], "village_name": t["village_name"],
                                                "parts": []})
        entry["parts"].append(t)
    for entry in out.values():
        entry["text"] = sentence(entry["parts"])
        entry["households"] = sum(p["households"] for p in entry["parts"])
    return list(out.values())


def count_unverified_past(db, village_ids, today: date) -> int:
    where, params = in_list("village_id", village_ids)
    return scalar(db, f"""SELECT COUNT(*) FROM pledges WHERE status = 'recorded' AND planned_date < ?{where}""",
                  [today.isoformat(), *params]) or 0
