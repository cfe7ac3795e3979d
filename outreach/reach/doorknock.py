"""The last mile (户不漏人): roll-call reconciliation, door-knock lists, visits, "resend to the unreached".

Who goes on a grid's door-knock list for a notice: every resident who has not acknowledged it —
not reached by any channel, and also those a text or call reached who never confirmed (a
delivered text is not proof anybody read it; 户不漏人 asks for the confirmation) — except those a
visit found moved away or who refused, once nothing is still in flight for them. ``include_in_flight`` (asked for by hand, or a deadline
passed) lists them anyway. Visits feed straight back into reach (the ``visits`` table is one of the
inputs of ``state.PEOPLE_SQL``) and are audited.

Visit outcomes: informed (told in person and acknowledged) → reach state acknowledged;
not_home (come back) → attempted, stays on the list; moved → unreachable/moved; refused →
unreachable/refused. Both of the last two leave the list.
"""
from __future__ import annotations

import re
from datetime import datetime

from .. import audit
from ..db import rows, write
from ..delivery import campaigns, outbox
from . import state

INFORMED = "informed"  # told in person, acknowledged
NOT_HOME = "not_home"  # nobody home: revisit
MOVED = "moved"        # moved away
REFUSED = "refused"    # refused to listen
OUTCOMES = (INFORMED, NOT_HOME, MOVED, REFUSED)
MAX_NOTE = 500

_NUMBER = re.compile(r"(\d+)")


def house_key(house: str | None) -> tuple:
    """Natural order of house numbers: 2组9号 before 2组10号."""
    parts = _NUMBER.split(house or "")
    return (house is None or house == "",
            tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != ""))


def vulnerability(person: dict) -> tuple:
    """Most vulnerable first: oldest, then living alone, then without a phone."""
    return (-(person.get("age") or 0), -int(bool(person.get("alone"))), -int(bool(person.get("no_phone"))))


_LIST_SQL = """SELECT p.*, r.name, r.lives_elsewhere, h.house_number, h.address, g.name AS grid_name,
    (SELECT e164 FROM resident_phones x WHERE x.resident_id = p.resident_id ORDER BY position LIMIT 1) AS phone,
    (SELECT group_concat(tag, ',') FROM resident_tags t WHERE t.resident_id = p.resident_id) AS tags
  FROM people p JOIN residents r ON r.id = p.resident_id
  LEFT JOIN households h ON h.id = p.household_id LEFT JOIN grids g ON g.id = p.grid_id
  WHERE {where}"""


def _enrich(found: list[dict]) -> list[dict]:
    year = state.current_year()
    for p in found:
        p["age"] = year - p["birth_year"] if p["birth_year"] else None
        p["tags"] = [t for t in (p["tags"] or "").split(",") if t]
    return found


def door_list(db, notice: dict, *, grid_ids=None, include_in_flight: bool = False,
              deadline: datetime | None = None, now: datetime | None = None,
              only_unreached: bool = False) -> list[dict]:
    """Who still has to confirm, for the grid workers: by grid, then house number, most vulnerable first."""
    if deadline is not None and (now or outbox.now_utc()) >= deadline:
        include_in_flight = True
    wanted = "p.state IN ('not_contacted', 'attempted', 'unreachable')" if only_unreached else "p.state != 'acknowledged'"
    where = (wanted + " AND p.reason NOT IN ('moved', 'refused')"
             + ("" if include_in_flight else " AND NOT p.open"))
    found = _enrich(state.query(db, notice, _LIST_SQL.replace("{where}", where), grid_ids=grid_ids))
    found.sort(key=lambda p: (p["grid_name"] is None, p["grid_name"] or "", house_key(p["house_number"]),
                              vulnerability(p), p["resident_id"]))
    return found


def roll_call(db, notice: dict, *, grid_ids=None) -> list[dict]:
    """接龙 reconciled: everyone not acknowledged, as [{grid, households: [{house_number, people}]}]."""
    found = _enrich(state.query(db, notice, _LIST_SQL.replace("{where}", "p.state != 'acknowledged'"),
                                grid_ids=grid_ids))
    found.sort(key=lambda p: (p["grid_name"] is None, p["grid_name"] or "", house_key(p["house_number"]),
                              vulnerability(p), p["resident_id"]))
    grids: list[dict] = []
    for p in found:
        if not grids or grids[-1]["grid_id"] != p["grid_id"]:
            grids.append({"grid_id": p["grid_id"], "grid": p["grid_name"] or "", "households": [], "count": 0})
        households = grids[-1]["households"]
        if not households or households[-1]["household_id"] != p["household_id"] or p["household_id"] is None:
            households.append({"household_id": p["household_id"], "house_number": p["house_number"] or "",
                               "people": []})
        households[-1]["people"].append(p)
        grids[-1]["count"] += 1
    return grids


def record_visit(db, *, notice: dict, resident_id: int, outcome: str, user: dict | None, note: str = "",
                 ip: str = "", now: datetime | None = None) -> int:
    """Store one visit (and its audit row) in one transaction; ValueError for a bad outcome or resident."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown visit outcome {outcome!r}")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValueError(f"the note is longer than {MAX_NOTE} characters")
    with write(db):
        village = db.execute("SELECT village_id FROM residents WHERE id = ?", [resident_id]).fetchone()
        if village is None or village[0] != notice["village_id"]:
            raise ValueError("this resident is not in the notice's village")
        visit_id = db.execute("""INSERT INTO visits (village_id, resident_id, notice_id, user_id, outcome, note,
                                 visited_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                              [notice["village_id"], resident_id, notice["id"], user["id"] if user else None,
                               outcome, note, outbox.iso(now or outbox.now_utc())]).lastrowid
        audit.record(db, "visit_recorded", user=user, object_type="resident", object_id=resident_id,
                     village_id=notice["village_id"], ip=ip, notice_id=notice["id"], outcome=outcome,
                     visit_id=visit_id)
    return visit_id


def last_visits(db, notice_id: int, resident_ids: list[int]) -> dict[int, dict]:
    """The latest visit per resident (what the mobile page shows beside each name)."""
    if not resident_ids:
        return {}
    marks = ",".join("?" * len(resident_ids))
    found = rows(db, f"""SELECT v.resident_id, v.outcome, v.visited_at, v.note, u.display_name AS by_name
        FROM visits v LEFT JOIN users u ON u.id = v.user_id
        WHERE v.notice_id = ? AND v.resident_id IN ({marks}) ORDER BY v.visited_at, v.id""",
                     [notice_id, *resident_ids])
    return {r["resident_id"]: r for r in found}


def unreached_ids(db, notice: dict, *, grid_ids=None) -> list[int]:
    """Who "resend to the unreached" targets: nobody's call or text reached them, nothing in flight.

    (Those a text reached but who never confirmed are for the door-knock list, not another text.)"""
    return sorted(p["resident_id"] for p in door_list(db, notice, grid_ids=grid_ids, only_unreached=True))


def resend_to_unreached(db, notice: dict, *, user: dict | None, now: datetime, channel: str = "voice_then_sms",
                        grid_ids=None, ip: str = "") -> tuple[int, campaigns.Selection]:
    """Create and start a campaign to exactly the unreached; ValueError when nobody is left."""
    ids = unreached_ids(db, notice, grid_ids=grid_ids)
    if not ids:
        raise ValueError("nobody is unreached")
    audience = campaigns.Audience(village_id=notice["village_id"], resident_ids=ids)
    name = f"补发：{notice['title']}"[:100]
    campaign_id = campaigns.create(db, village_id=notice["village_id"], notice_id=notice["id"], name=name,
                                   channel=channel, audience=audience, user_id=user["id"] if user else None)
    try:
        selection = campaigns.start(db, campaign_id, now)
    except ValueError:
        campaigns.set_status(db, campaign_id, campaigns.CANCELLED)  # never leave a half-made draft
        raise
    audit.record(db, "campaign_started", user=user, object_type="campaign", object_id=campaign_id,
                 village_id=notice["village_id"], ip=ip, channel=channel, planned=len(selection.targets),
                 skipped=dict(selection.skipped), notice_id=notice["id"], resend_to_unreached=len(ids))
    return campaign_id, selection
