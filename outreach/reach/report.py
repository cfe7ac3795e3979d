"""The daily report (每天通报): per township, one row per village, for one day in the village's time zone.

Columns and what they count on that local day:
- residents: people in the registry (now);
- notices_sent: distinct notices with a campaign running that day or a loudspeaker play that day;
- reached: distinct residents whose text was delivered or call answered that day;
- acknowledged: distinct residents who confirmed that day (key 1 / reply 1 / pledge / visit "informed");
- unreached_elderly: people aged 70+ not reached (nor acknowledged, by proxy included) by the end of
  the day for the village's notice in progress then (``state.PEOPLE_SQL`` cut at the day's end);
- pledges: pledges recorded that day;
- plays_done / plays_missed: loudspeaker plays finished or confirmed / missed or failed that day.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from ..db import rows, scalar
from ..delivery.outbox import iso
from ..registry import exporter
from ..registry.import_columns import N_
from . import state

COLUMNS = ("village", "residents", "notices_sent", "reached", "acknowledged", "unreached_elderly", "pledges",
           "plays_done", "plays_missed")
HEADERS = {"village": N_("Village"), "residents": N_("Residents"), "notices_sent": N_("Notices sent"),
           "reached": N_("Reached"), "acknowledged": N_("Acknowledged"),
           "unreached_elderly": N_("Unreached elderly (70+)"), "pledges": N_("Pledges"),
           "plays_done": N_("Loudspeaker plays done"), "plays_missed": N_("Loudspeaker plays missed")}
TOTAL = N_("Total")


def day_bounds(day: date, tz: str) -> tuple[str, str]:
    """The local day as [start, end) in UTC text, comparable with stored timestamps."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return iso(start.astimezone(timezone.utc)), iso(end.astimezone(timezone.utc))


def villages_of_township(db, township_id: int, village_ids: list[int] | None) -> list[dict]:
    where, params = state.in_list("v.id", village_ids)
    return rows(db, f"""SELECT v.id, v.name, v.timezone FROM villages v WHERE v.township_id = ?{where}
                        ORDER BY v.name""", [township_id, *params])


def notice_at(db, village_id: int, end: str) -> dict | None:
    """The village's notice in progress at ``end``: that of the latest campaign started before it."""
    notice_id = scalar(db, """SELECT notice_id FROM campaigns WHERE village_id = ? AND kind = 'notice'
        AND started_at IS NOT NULL AND started_at < ? ORDER BY started_at DESC, id DESC LIMIT 1""", [village_id, end])
    return state.notice_of(db, notice_id) if notice_id else None


def village_row(db, village: dict, day: date) -> dict:
    start, end = day_bounds(day, village["timezone"])
    vid = village["id"]
    p = {"v": vid, "start": start, "end": end}
    row = {"village_id": vid, "village": village["name"]}
    row["residents"] = scalar(db, "SELECT COUNT(*) FROM residents WHERE village_id = :v", p)
    row["notices_sent"] = scalar(db, """SELECT COUNT(*) FROM (
            SELECT notice_id FROM campaigns WHERE village_id = :v AND status != 'draft' AND kind = 'notice'
              AND started_at < :end AND (finished_at IS NULL OR finished_at >= :start)
            UNION SELECT COALESCE(s.notice_id, a.notice_id) FROM plays pl
              LEFT JOIN fires f ON f.id = pl.fire_id LEFT JOIN schedules s ON s.id = f.schedule_id
              LEFT JOIN audio_assets a ON a.id = pl.asset_id
              WHERE pl.village_id = :v AND pl.created_at >= :start AND pl.created_at < :end
              AND pl.status IN ('finished', 'confirmed'))""", p)
    row["reached"] = scalar(db, """SELECT COUNT(DISTINCT resident_id) FROM outbox
        WHERE village_id = :v AND status = 'done' AND updated_at >= :start AND updated_at < :end
        AND outcome IN ('answered', 'delivered')""", p)
    row["acknowledged"] = scalar(db, """SELECT COUNT(DISTINCT resident_id) FROM (
            SELECT resident_id FROM responses WHERE village_id = :v AND at >= :start AND at < :end
              AND kind IN ('ack', 'pledge') AND resident_id IS NOT NULL
            UNION ALL SELECT resident_id FROM visits WHERE village_id = :v AND outcome = 'informed'
              AND visited_at >= :start AND visited_at < :end)""", p)
    notice = notice_at(db, vid, end)
    if notice:
        counted = state.summary(db, notice, as_of=end)[0][0]
        row["unreached_elderly"] = counted["elderly"] - counted["elderly_reached"]
        row["notice"] = notice["title"]
    else:  # nothing sent yet: every elderly person is unreached
        row["unreached_elderly"] = scalar(db, "SELECT COUNT(*) FROM residents WHERE village_id = ? AND birth_year <= ?",
                                          [vid, state.current_year() - state.ELDERLY_AGE])
        row["notice"] = ""
    row["pledges"] = scalar(db, """SELECT COUNT(*) FROM pledges WHERE village_id = :v AND created_at >= :start
                                   AND created_at < :end""", p)
    plays = dict(db.execute("""SELECT status, COUNT(*) FROM plays WHERE village_id = :v AND created_at >= :start
                               AND created_at < :end GROUP BY status""", p).fetchall())
    missed_fires = scalar(db, """SELECT COUNT(*) FROM fires f JOIN schedules s ON s.id = f.schedule_id
        WHERE f.village_id = :v AND s.kind = 'broadcast' AND f.status = 'missed' AND f.fire_at >= :start
        AND f.fire_at < :end AND NOT EXISTS (SELECT 1 FROM plays pl WHERE pl.fire_id = f.id)""", p)
    row["plays_done"] = plays.get("finished", 0) + plays.get("confirmed", 0)
    row["plays_missed"] = plays.get("missed", 0) + plays.get("failed", 0) + (missed_fires or 0)
    return row


def daily(db, township_id: int, day: date, *, village_ids: list[int] | None = None) -> dict:
    """{township, day, rows, total} for the villages of the township the viewer may see."""
    township = rows(db, "SELECT id, name FROM townships WHERE id = ?", [township_id])
    if not township:
        raise LookupError("no such township")
    found = [village_row(db, v, day) for v in villages_of_township(db, township_id, village_ids)]
    total = {k: sum(r[k] for r in found) for k in COLUMNS[1:]}
    return {"township": township[0], "day": day, "rows": found, "total": total}


def table(report: dict, gettext: Callable[[str], str] = str) -> tuple[list[str], list[list]]:
    header = [gettext(HEADERS[k]) for k in COLUMNS]
    body = [[r[k] for k in COLUMNS] for r in report["rows"]]
    body.append([gettext(TOTAL)] + [report["total"][k] for k in COLUMNS[1:]])
    return header, body


def export(report: dict, fmt: str, gettext: Callable[[str], str] = str) -> bytes:
    """CSV or XLSX through the registry's exporter (formula injection neutralised)."""
    header, body = table(report, gettext)
    title = f"{report['township']['name']} {report['day'].isoformat()}"
    return exporter.write(fmt, header, body, sheet_title=title)
