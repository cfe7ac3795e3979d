"""Residents: the people we must reach, with their phones, tags and household.

Writes go through :func:`save_resident` (one resident) or :func:`upsert` (import rows); each
commits when its ``write()`` block ends, or with the caller's transaction when nested.
Dedupe rule (within a village): the same normalised phone number is the same person; failing
that, the same name in the same household is.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from pypinyin import lazy_pinyin, Style

from ..db import one, rows, scalar, write
from ..errors import N_, UserError
from . import phones as phone_numbers
from .places import ensure_grid

# Tags every village uses; free tags are stored beside them as typed.
LIVES_ALONE = "lives_alone"          # 独居
NO_PHONE = "no_phone"                # no working phone: door-knock, never dial
HARD_OF_HEARING = "hard_of_hearing"  # calls are a poor channel; prefer visits and SMS to family
HOME_MONITORING = "home_monitoring"  # 居家健康监测: daily check-in calls, care team alerted
KNOWN_TAGS = (LIVES_ALONE, NO_PHONE, HARD_OF_HEARING, HOME_MONITORING)
MANDARIN = "mandarin"
SEXES = ("M", "F")


@dataclass
class ResidentInput:
    """What a form or an import row says about one resident, already validated."""
    name: str
    phones: list[str] = field(default_factory=list)  # E.164, first is primary
    grid_name: str = ""
    house_number: str = ""
    address: str = ""
    birth_year: int | None = None
    sex: str | None = None
    language: str = MANDARIN
    tags: set[str] = field(default_factory=set)
    lives_elsewhere: bool = False
    relation: str = ""
    notes: str = ""


def current_year() -> int:
    return datetime.date.today().year


def pinyin_of(name: str) -> tuple[str, str]:
    """Full pinyin and initials, so 张三 is found by "zhangsan" and "zs"."""
    syllables = lazy_pinyin(name, style=Style.NORMAL, errors="ignore")
    return "".join(syllables).lower(), "".join(s[:1] for s in syllables).lower()


def validate(data: ResidentInput) -> None:
    """Raise ValueError naming the first problem."""
    if not data.name.strip():
        raise UserError(N_("name is required"))
    if len(data.name) > 50:
        raise UserError(N_("name is longer than %(max)s characters"), max=50)
    if data.birth_year is not None and not (1900 <= data.birth_year <= current_year()):
        raise UserError(N_("birth year %(year)s is out of range"), year=data.birth_year)
    if data.sex is not None and data.sex not in SEXES:
        raise UserError(N_("unknown sex %(sex)r"), sex=data.sex)
    if len(data.phones) != len(set(data.phones)):
        raise UserError(N_("the same phone number is listed twice"))


def _household_id(db, village_id: int, grid_id: int | None, house_number: str, address: str,
                  cache: dict | None) -> int | None:
    if not house_number:
        return None
    key = ("household", village_id, house_number)
    if cache is not None and key in cache:
        return cache[key]
    db.execute("INSERT OR IGNORE INTO households (village_id, grid_id, house_number, address) VALUES (?, ?, ?, ?)",
               [village_id, grid_id, house_number, address])
    found = one(db, "SELECT id, grid_id, address FROM households WHERE village_id = ? AND house_number = ?",
                [village_id, house_number])
    if (grid_id and found["grid_id"] != grid_id) or (address and found["address"] != address):
        db.execute("UPDATE households SET grid_id = COALESCE(?, grid_id), address = CASE WHEN ? != '' THEN ? "
                   "ELSE address END WHERE id = ?", [grid_id, address, address, found["id"]])
    if cache is not None:
        cache[key] = found["id"]
    return found["id"]


def _grid_id(db, village_id: int, grid_name: str, cache: dict | None) -> int | None:
    if not grid_name:
        return None
    key = ("grid", village_id, grid_name)
    if cache is not None and key in cache:
        return cache[key]
    grid_id = ensure_grid(db, village_id, grid_name)
    if cache is not None:
        cache[key] = grid_id
    return grid_id


def find_existing(db, village_id: int, data: ResidentInput, household_id: int | None) -> int | None:
    """The resident this input describes, by phone first, then name + household."""
    for e164 in data.phones:
        found = scalar(db, "SELECT resident_id FROM resident_phones WHERE village_id = ? AND e164 = ?",
                       [village_id, e164])
        if found:
            return found
    if household_id is not None:
        return scalar(db, "SELECT id FROM residents WHERE village_id = ? AND household_id = ? AND name = ?",
                      [village_id, household_id, data.name])
    if not data.phones:
        # Neither phone nor house number: the same name in the same grid, also without either,
        # is the same person — otherwise every re-import of such a row would add them again.
        return scalar(db, """SELECT r.id FROM residents r WHERE r.village_id = ? AND r.name = ? AND r.household_id IS NULL
                             AND r.grid_id IS ? AND NOT EXISTS (SELECT 1 FROM resident_phones p WHERE p.resident_id = r.id)
                             ORDER BY r.id LIMIT 1""",
                      [village_id, data.name, grid_id_of(db, village_id, data.grid_name)])
    return None


def grid_id_of(db, village_id: int, grid_name: str) -> int | None:
    name = (grid_name or "").strip()
    return scalar(db, "SELECT id FROM grids WHERE village_id = ? AND name = ?", [village_id, name]) if name else None


def upsert(db, village_id: int, data: ResidentInput, *, cache: dict | None = None,
           allow_update: bool = True) -> tuple[int, bool]:
    """Create or update the resident; returns ``(resident_id, created)``.

    ``allow_update=False`` (the "new resident" form) refuses to merge into an existing person.

    A phone number that already belongs to another resident of the village raises ValueError
    (two people cannot share one number in the registry: calls would be attributed wrongly).
    """
    validate(data)
    with write(db):
        grid_id = _grid_id(db, village_id, data.grid_name.strip(), cache)
        household_id = _household_id(db, village_id, grid_id, data.house_number.strip(),
                                     data.address.strip(), cache)
        resident_id = find_existing(db, village_id, data, household_id)
        if resident_id is not None and not allow_update:
            existing = one(db, "SELECT name FROM residents WHERE id = ?", [resident_id])["name"]
            raise UserError(N_("already registered as %(name)s (same phone, or same name and house number)"),
                            name=existing)
        full, initials = pinyin_of(data.name)
        values = dict(village_id=village_id, household_id=household_id, grid_id=grid_id, name=data.name.strip(),
                      name_pinyin=full, name_initials=initials, birth_year=data.birth_year, sex=data.sex,
                      language=data.language or MANDARIN, lives_elsewhere=int(data.lives_elsewhere),
                      relation=data.relation, notes=data.notes)
        created = resident_id is None
        if created:
            cols = ", ".join(values)
            resident_id = db.execute(f"INSERT INTO residents ({cols}) VALUES ({', '.join('?' * len(values))})",
                                     list(values.values())).lastrowid
        else:
            keep = {k: v for k, v in values.items() if v not in (None, "") or k in ("name",)}
            if household_id is None:
                keep.pop("household_id", None)
            if grid_id is None:
                keep.pop("grid_id", None)
            sets = ", ".join(f"{k} = ?" for k in keep)
            db.execute(f"UPDATE residents SET {sets}, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') "
                       "WHERE id = ?", [*keep.values(), resident_id])
        _add_phones(db, village_id, resident_id, data.phones)
        if data.tags:
            db.conn.executemany("INSERT OR IGNORE INTO resident_tags (resident_id, tag) VALUES (?, ?)",
                                [(resident_id, tag) for tag in sorted(data.tags)])
        return resident_id, created


def _add_phones(db, village_id: int, resident_id: int, e164s: list[str]) -> None:
    start = scalar(db, "SELECT COALESCE(MAX(position) + 1, 0) FROM resident_phones WHERE resident_id = ?",
                   [resident_id])
    for offset, e164 in enumerate(e164s):
        owner = scalar(db, "SELECT resident_id FROM resident_phones WHERE village_id = ? AND e164 = ?",
                       [village_id, e164])
        if owner == resident_id:
            continue
        if owner is not None:
            raise UserError(N_("phone %(number)s already belongs to another resident"),
                            number=phone_numbers.display(e164))
        kind = phone_numbers.normalise(e164)[1]
        db.execute("INSERT INTO resident_phones (resident_id, village_id, e164, kind, position) VALUES (?, ?, ?, ?, ?)",
                   [resident_id, village_id, e164, kind, start + offset])


def update(db, resident_id: int, village_id: int, data: ResidentInput) -> None:
    """Overwrite a resident with what the edit form shows (phones and tags replaced); commits."""
    validate(data)
    with write(db):
        grid_id = _grid_id(db, village_id, data.grid_name.strip(), None)
        household_id = _household_id(db, village_id, grid_id, data.house_number.strip(), data.address.strip(), None)
        full, initials = pinyin_of(data.name)
        db.execute("""UPDATE residents SET household_id = ?, grid_id = ?, name = ?, name_pinyin = ?, name_initials = ?,
                      birth_year = ?, sex = ?, language = ?, lives_elsewhere = ?, relation = ?, notes = ?,
                      updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ? AND village_id = ?""",
                   [household_id, grid_id, data.name.strip(), full, initials, data.birth_year, data.sex,
                    data.language or MANDARIN, int(data.lives_elsewhere), data.relation, data.notes,
                    resident_id, village_id])
        set_phones_and_tags(db, resident_id, village_id, data.phones, data.tags)


def set_phones_and_tags(db, resident_id: int, village_id: int, e164s: list[str], tags: set[str]) -> None:
    """Replace a resident's phones and tags (the edit form shows them all)."""
    with write(db):
        db.execute("DELETE FROM resident_phones WHERE resident_id = ?", [resident_id])
        _add_phones(db, village_id, resident_id, e164s)
        db.execute("DELETE FROM resident_tags WHERE resident_id = ?", [resident_id])
        db.conn.executemany("INSERT INTO resident_tags (resident_id, tag) VALUES (?, ?)",
                            [(resident_id, t) for t in sorted(tags)])


def get(db, resident_id: int) -> dict | None:
    """One resident with household, grid, phones, tags and caretakers."""
    resident = one(db, """
        SELECT r.*, h.house_number, h.address, g.name AS grid_name, v.name AS village_name
        FROM residents r JOIN villages v ON v.id = r.village_id
        LEFT JOIN households h ON h.id = r.household_id LEFT JOIN grids g ON g.id = r.grid_id
        WHERE r.id = ?""", [resident_id])
    if resident is None:
        return None
    resident["age"] = age(resident["birth_year"])
    resident["phones"] = rows(db, "SELECT e164, kind FROM resident_phones WHERE resident_id = ? ORDER BY position",
                              [resident_id])
    resident["tags"] = [r["tag"] for r in rows(db, "SELECT tag FROM resident_tags WHERE resident_id = ? "
                                                   "ORDER BY tag", [resident_id])]
    resident["household_members"] = rows(db, """
        SELECT id, name, birth_year, relation, lives_elsewhere FROM residents
        WHERE household_id = ? AND id != ? ORDER BY birth_year""", [resident["household_id"], resident_id]) \
        if resident["household_id"] else []
    resident["caretakers"] = rows(db, """
        SELECT c.name, c.kind, c.phone, c.role_note FROM caretaker_assignments a
        JOIN caretakers c ON c.id = a.caretaker_id
        WHERE a.resident_id = ? OR a.household_id = ? ORDER BY c.kind, c.name""",
                                  [resident_id, resident["household_id"] or -1])
    return resident


def age(birth_year: int | None) -> int | None:
    return current_year() - birth_year if birth_year else None
