"""Dashboard figures: which notice each village is on, per-village and per-grid tables, channel and
outcome breakdown, campaign funnels and the daily trend. Aggregates only; people lists live in
``state.people`` and ``doorknock``. Every function reads; none writes.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from ..db import rows
from . import state
from .state import in_list

# Outcome buckets of a send (the last word on each outbox row), in display order.
BUCKETS = ("answered", "delivered", "machine", "busy", "no-answer", "failed", "opted_out", "in_progress",
           "expired", "cancelled")
TREND_DAYS = 14


def current_notices(db, village_ids: list[int] | None) -> dict[int, dict]:
    """Each village's notice in progress: the one of its latest started campaign (else its newest ready notice)."""
    where, params = in_list("v.id", village_ids)
    found = rows(db, f"""SELECT v.id AS village_id, COALESCE(
            (SELECT c.notice_id FROM campaigns c WHERE c.village_id = v.id AND c.status != 'draft'
             AND c.kind = 'notice' ORDER BY c.started_at DESC, c.id DESC LIMIT 1),
            (SELECT n.id FROM notices n WHERE n.village_id = v.id AND n.status = 'ready'
             ORDER BY n.created_at DESC, n.id DESC LIMIT 1)) AS notice_id
        FROM villages v WHERE 1 = 1{where}""", params)
    out = {}
    for r in found:
        if r["notice_id"]:
            out[r["village_id"]] = state.notice_of(db, r["notice_id"])
    return out


def notices_for(db, village_ids: list[int] | None) -> list[dict]:
    """Notices that went out (a campaign started), newest first: the dashboard's picker."""
    where, params = in_list("n.village_id", village_ids)
    return rows(db, f"""SELECT n.id, n.title, n.village_id, v.name AS village_name,
            (SELECT MAX(c.started_at) FROM campaigns c WHERE c.notice_id = n.id) AS last_sent
        FROM notices n JOIN villages v ON v.id = n.village_id
        WHERE n.status != 'draft'{where} ORDER BY last_sent IS NULL, last_sent DESC, n.id DESC LIMIT 200""", params)


def pledge_count(db, notice_id: int, grid_ids=None) -> int:
    where, params = in_list("r.grid_id", grid_ids)
    found = rows(db, f"""SELECT COUNT(*) AS n FROM pledges p LEFT JOIN residents r ON r.id = p.resident_id
                         WHERE p.notice_id = ?{where}""", [notice_id, *params])
    return found[0]["n"]


def village_table(db, village_ids: list[int] | None, chosen: dict[int, dict] | None = None,
                  days: dict[str, dict] | None = None) -> list[dict]:
    """One row per village in scope: its current notice's counts, rates, pledges and loudspeaker plays.

    ``days``, when given, collects per local day the people first reached / acknowledged (for the trend).
    """
    where, params = in_list("v.id", village_ids)
    villages = rows(db, f"""SELECT v.id, v.name, v.timezone, t.name AS township_name FROM villages v
        JOIN townships t ON t.id = v.township_id WHERE 1 = 1{where} ORDER BY t.name, v.name""", params)
    notices = chosen if chosen is not None else current_notices(db, village_ids)
    out = []
    for v in villages:
        notice = notices.get(v["id"])
        row = {"village_id": v["id"], "village": v["name"], "township": v["township_name"], "notice": notice}
        if notice:
            counted, per_day = state.summary(db, notice, day_modifier=offset_modifier(v["timezone"]))
            row.update(counted[0])
            row["pledges"] = pledge_count(db, notice["id"])
            row["coverage"] = state.coverage(db, notice["id"])
            for day, n in per_day.items():
                entry = (days if days is not None else {}).setdefault(day, {"reached": 0, "acknowledged": 0})
                entry["reached"] += n["reached"]
                entry["acknowledged"] += n["acknowledged"]
        else:
            row.update(state.with_rates({"targeted": _residents(db, v["id"])}))
            row["pledges"], row["coverage"] = 0, {"played": 0, "missed": 0, "pending": 0}
        out.append(row)
    return out


def _residents(db, village_id: int) -> int:
    return rows(db, "SELECT COUNT(*) AS n FROM residents WHERE village_id = ?", [village_id])[0]["n"]


def totals(table: list[dict]) -> dict:
    """The sum of a village or grid table's counts, with its rates."""
    summed: dict = {}
    for row in table:
        for k, v in row.items():
            if type(v) is int and k not in ("village_id", "grid_id", "key"):
                summed[k] = summed.get(k, 0) + v
    return state.with_rates(summed)


def grid_table(db, notice: dict, grid_ids=None) -> list[dict]:
    """Counts per grid of the notice's village (residents without a grid under a blank name)."""
    names = {g["id"]: g["name"] for g in rows(db, "SELECT id, name FROM grids WHERE village_id = ?",
                                                  [notice["village_id"]])}
    pledges = {r["grid_id"]: r["n"] for r in rows(db, """SELECT r.grid_id, COUNT(*) AS n FROM pledges p
        JOIN residents r ON r.id = p.resident_id WHERE p.notice_id = ? GROUP BY r.grid_id""", [notice["id"]])}
    out = []
    for r in state.counts(db, notice, group_by="grid_id", grid_ids=grid_ids):
        r["grid_id"], r["grid"] = r["key"], names.get(r["key"], "")
        r["pledges"] = pledges.get(r["key"], 0)
        out.append(r)
    return sorted(out, key=lambda r: (r["grid"] == "", r["grid"]))


def bucket(status: str, outcome: str | None, error_code: int | None) -> str:
    """The outcome bucket of one send (the last word on its outbox row)."""
    if status == "failed" and error_code == 21610:
        return "opted_out"
    if outcome in ("answered", "answered, not acknowledged") and status in ("done", "retry"):
        return "answered"
    if outcome in ("delivered", "machine", "busy", "no-answer"):
        return outcome
    if status == "failed" or outcome in ("failed", "undelivered", "canceled"):
        return "failed"
    if status in ("pending", "sending", "wired", "unknown", "retry"):
        return "in_progress"
    return status if status in ("expired", "cancelled") else "failed"


def breakdown(db, notice_ids: list[int]) -> dict[str, dict[str, int]]:
    """Sends per channel and outcome bucket: {channel: {bucket: n}} over the notices' campaigns.

    Grouped in the order of the ``outbox_reach`` index, so it streams without a sort.
    """
    if not notice_ids:
        return {}
    marks = ",".join("?" * len(notice_ids))
    out: dict[str, dict[str, int]] = {}
    for r in db.execute(f"""SELECT channel, status, outcome, error_code, COUNT(*) FROM outbox
            WHERE campaign_id IN (SELECT id FROM campaigns WHERE notice_id IN ({marks}))
            GROUP BY campaign_id, channel, status, outcome, error_code""", notice_ids):
        channel, status, outcome, code, n = tuple(r)
        counts = out.setdefault(channel, dict.fromkeys(BUCKETS, 0))
        counts[bucket(status, outcome, code)] += n
    return out


def campaign_funnels(db, notice_ids: list[int]) -> list[dict]:
    """Per campaign of the notices: planned → sent → reached → heard in full → acknowledged, pledges."""
    if not notice_ids:
        return []
    marks = ",".join("?" * len(notice_ids))
    camps = rows(db, f"""SELECT c.id, c.name, c.status, c.channel, c.notice_id, c.village_id, c.started_at,
            v.name AS village_name FROM campaigns c JOIN villages v ON v.id = c.village_id
        WHERE c.notice_id IN ({marks}) AND c.status != 'draft' ORDER BY c.started_at DESC, c.id DESC""", notice_ids)
    if not camps:
        return []
    ids = [c["id"] for c in camps]
    cmarks = ",".join("?" * len(ids))
    sends = {r["campaign_id"]: r for r in rows(db, f"""SELECT campaign_id,
            COUNT(DISTINCT resident_id) AS planned,
            COUNT(DISTINCT CASE WHEN attempts > 0 OR status IN ('sending', 'wired', 'unknown', 'done', 'failed')
                  THEN resident_id END) AS sent,
            COUNT(DISTINCT CASE WHEN status = 'done' AND outcome IN ('answered', 'delivered') THEN resident_id END)
                AS reached,
            COUNT(DISTINCT CASE WHEN status = 'done' AND outcome = 'answered' AND heard_full = 1 THEN resident_id END)
                AS heard,
            SUM(status IN ('pending', 'sending', 'wired', 'retry', 'unknown')) AS open
        FROM outbox WHERE campaign_id IN ({cmarks}) GROUP BY campaign_id""", ids)}
    acks = {r["campaign_id"]: r["n"] for r in rows(db, f"""SELECT campaign_id, COUNT(DISTINCT resident_id) AS n
        FROM responses WHERE campaign_id IN ({cmarks}) AND kind IN ('ack', 'pledge') GROUP BY campaign_id""", ids)}
    pledges = {r["campaign_id"]: r["n"] for r in rows(db, f"""SELECT campaign_id, COUNT(*) AS n FROM pledges
        WHERE campaign_id IN ({cmarks}) GROUP BY campaign_id""", ids)}
    for c in camps:
        s = sends.get(c["id"], {})
        c.update({k: s.get(k) or 0 for k in ("planned", "sent", "reached", "heard", "open")})
        c["acknowledged"], c["pledges"] = acks.get(c["id"], 0), pledges.get(c["id"], 0)
        c["reached_rate"] = state.percent(c["reached"], c["planned"])
        c["ack_rate"] = state.percent(c["acknowledged"], c["planned"])
    return camps


def offset_modifier(tz: str, at: datetime | None = None) -> str:
    """SQLite date modifier turning UTC text into the zone's local time (offset at ``at``, default now)."""
    offset = (at or datetime.now(timezone.utc)).astimezone(ZoneInfo(tz)).utcoffset() or timedelta(0)
    return f"{int(offset.total_seconds() // 60):+d} minutes"


def visits_per_day(db, notices: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for notice in notices:
        for r in rows(db, "SELECT date(visited_at, ?) AS d, COUNT(*) AS n FROM visits WHERE notice_id = ? GROUP BY d",
                      [offset_modifier(notice["timezone"]), notice["id"]]):
            out[r["d"]] = out.get(r["d"], 0) + r["n"]
    return out


def trend(days: dict[str, dict], visits: dict[str, int], *, end: date, span: int = TREND_DAYS) -> list[dict]:
    """The last ``span`` local days: people first reached / acknowledged / visits, and acknowledged so far."""
    first = end - timedelta(days=span - 1)
    running = sum(d["acknowledged"] for k, d in days.items() if k < first.isoformat())
    out = []
    for i in range(span):
        key = (first + timedelta(days=i)).isoformat()
        day = days.get(key, {"reached": 0, "acknowledged": 0})
        running += day["acknowledged"]
        out.append({"day": key, "reached": day["reached"], "acknowledged": day["acknowledged"],
                    "visits": visits.get(key, 0), "acknowledged_total": running})
    return out


def today_in(tz: str = "Asia/Shanghai") -> date:
    return datetime.now(ZoneInfo(tz)).date()


def running_campaigns(db, village_ids: list[int] | None) -> list[dict]:
    where, params = in_list("c.village_id", village_ids)
    return rows(db, f"""SELECT c.id, c.name, c.notice_id, v.name AS village_name FROM campaigns c
        JOIN villages v ON v.id = c.village_id WHERE c.status IN ('running', 'paused'){where}
        ORDER BY c.started_at DESC LIMIT 20""", params)


def dashboard(db, village_ids: list[int] | None, *, today: date | None = None) -> dict:
    """Everything the officials' dashboard shows, for the villages in scope (the bench times this)."""
    from . import pledges as pledge_ledger

    notices = current_notices(db, village_ids)
    days: dict[str, dict] = {}
    villages = village_table(db, village_ids, notices, days)
    listed = list(notices.values())
    end = today or today_in(listed[0]["timezone"] if listed else "Asia/Shanghai")
    return {"villages": villages, "total": totals(villages), "notices": notices,
            "breakdown": breakdown(db, [n["id"] for n in listed]),
            "trend": trend(days, visits_per_day(db, listed), end=end),
            "running": running_campaigns(db, village_ids), "pledges": pledge_ledger.sentences(db, village_ids)}
