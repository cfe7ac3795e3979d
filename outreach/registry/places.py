"""Counties, townships, villages and grids. Writes commit when the enclosing ``write()`` ends."""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..db import one, rows, write
from ..errors import N_, UserError

# One msgid per kind of place: a translator cannot inflect a word pasted into a sentence.
_REQUIRED = {"county": N_("county name is required"), "township": N_("township name is required"),
             "village": N_("village name is required"), "grid": N_("grid name is required")}
_TOO_LONG = {"county": N_("county name is longer than %(max)s characters"),
             "township": N_("township name is longer than %(max)s characters"),
             "village": N_("village name is longer than %(max)s characters"),
             "grid": N_("grid name is longer than %(max)s characters")}


def _clean(name: str, what: str) -> str:
    name = (name or "").strip()
    if not name:
        raise UserError(_REQUIRED[what])
    if len(name) > 100:
        raise UserError(_TOO_LONG[what], max=100)
    return name


def ensure_county(db, name: str) -> int:
    name = _clean(name, "county")
    with write(db):
        db.execute("INSERT OR IGNORE INTO counties (name) VALUES (?)", [name])
        return one(db, "SELECT id FROM counties WHERE name = ?", [name])["id"]


def ensure_township(db, county_id: int, name: str) -> int:
    name = _clean(name, "township")
    with write(db):
        db.execute("INSERT OR IGNORE INTO townships (county_id, name) VALUES (?, ?)", [county_id, name])
        return one(db, "SELECT id FROM townships WHERE county_id = ? AND name = ?", [county_id, name])["id"]


def ensure_village(db, township_id: int, name: str, *, timezone: str = "Asia/Shanghai",
                   default_language: str = "mandarin") -> int:
    name = _clean(name, "village")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UserError(N_("unknown time zone: %(name)s"), name=timezone) from exc
    with write(db):
        db.execute(
            "INSERT OR IGNORE INTO villages (township_id, name, timezone, default_language) VALUES (?, ?, ?, ?)",
            [township_id, name, timezone, default_language])
        return one(db, "SELECT id FROM villages WHERE township_id = ? AND name = ?", [township_id, name])["id"]


def ensure_grid(db, village_id: int, name: str, parent_id: int | None = None) -> int:
    """A grid by name within the village; ``大网格/小网格`` names create the parent too."""
    name = _clean(name, "grid")
    with write(db):
        if "/" in name and parent_id is None:
            # Sub-grids keep the full "parent/child" name: child names repeat across parents.
            parent_id = ensure_grid(db, village_id, name.partition("/")[0])
        db.execute("INSERT OR IGNORE INTO grids (village_id, name, parent_id) VALUES (?, ?, ?)",
                   [village_id, name, parent_id])
        return one(db, "SELECT id FROM grids WHERE village_id = ? AND name = ?", [village_id, name])["id"]


def village(db, village_id: int) -> dict | None:
    return one(db, """
        SELECT v.*, t.name AS township_name, t.county_id, c.name AS county_name
        FROM villages v JOIN townships t ON t.id = v.township_id JOIN counties c ON c.id = t.county_id
        WHERE v.id = ?""", [village_id])


def villages(db, village_ids: list[int] | None) -> list[dict]:
    """Villages with counts; ``village_ids=None`` means every village."""
    where, params = "", []
    if village_ids is not None:
        if not village_ids:
            return []
        where = f"WHERE v.id IN ({','.join('?' * len(village_ids))})"
        params = list(village_ids)
    return rows(db, f"""
        SELECT v.id, v.name, v.timezone, v.default_language, t.name AS township_name, c.name AS county_name,
               (SELECT COUNT(*) FROM grids g WHERE g.village_id = v.id) AS grid_count,
               (SELECT COUNT(*) FROM households h WHERE h.village_id = v.id) AS household_count,
               (SELECT COUNT(*) FROM residents r WHERE r.village_id = v.id) AS resident_count
        FROM villages v JOIN townships t ON t.id = v.township_id JOIN counties c ON c.id = t.county_id
        {where} ORDER BY c.name, t.name, v.name""", params)


def grids(db, village_id: int, grid_ids: list[int] | None = None) -> list[dict]:
    """Grids of a village with resident counts, parents before their sub-grids."""
    where, params = "g.village_id = ?", [village_id]
    if grid_ids is not None:
        if not grid_ids:
            return []
        where += f" AND g.id IN ({','.join('?' * len(grid_ids))})"
        params += list(grid_ids)
    return rows(db, f"""
        SELECT g.id, g.name, g.parent_id, p.name AS parent_name,
               (SELECT COUNT(*) FROM residents r WHERE r.grid_id = g.id) AS resident_count,
               (SELECT COUNT(*) FROM households h WHERE h.grid_id = g.id) AS household_count
        FROM grids g LEFT JOIN grids p ON p.id = g.parent_id
        WHERE {where} ORDER BY COALESCE(p.name, g.name), g.parent_id IS NOT NULL, g.name""", params)


def languages(db, village_id: int) -> list[str]:
    """Languages in use in a village (Mandarin always offered)."""
    found = [r["language"] for r in rows(
        db, "SELECT DISTINCT language FROM residents WHERE village_id = ? ORDER BY language", [village_id])]
    return ["mandarin"] + [lang for lang in found if lang != "mandarin"]


def today_label(db, village_id: int) -> str:
    """Today's date as a Chinese notice writes it (11月27日), in the village's time zone."""
    import datetime

    tz = one(db, "SELECT timezone FROM villages WHERE id = ?", [village_id])["timezone"]
    today = datetime.datetime.now(ZoneInfo(tz)).date()
    return f"{today.month}月{today.day}日"
