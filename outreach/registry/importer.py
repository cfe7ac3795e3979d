"""Running a resident import: every row validated, valid rows upserted in batches, the rest kept as errors.

An import (table ``imports``) moves through::

    running ──► done     every data row counted: created + updated + error == total
       │
       └──────► failed   an unexpected error stopped it (error_message); earlier batches stay imported

Nothing is silently dropped: a row is created, updated, or stored in ``import_errors`` with its
spreadsheet row number, the reason and its original cells (so the user can download, fix and
re-import them). Blank lines are not rows. Rows are written ``BATCH_SIZE`` per ``BEGIN IMMEDIATE``
transaction; each row is its own savepoint inside :func:`residents.upsert`, so one bad row never
takes its batch down.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Callable

from ..errors import UserError
from ..db import one, rows, scalar, write
from . import phones as phone_numbers, residents
from .import_columns import N_, RowError, check_mapping, guess_mapping, header_score, parse_row
from .tabular import Table, read_table

RUNNING = "running"  # rows are being processed; processed_rows grows per batch
DONE = "done"        # finished; the counts are final
FAILED = "failed"    # stopped by an unexpected error; error_message says why

BATCH_SIZE = 500


class MappingError(ValueError):
    """The chosen column mapping cannot be imported (e.g. no name column)."""


def read(path: str) -> Table:
    """Read an uploaded file, finding the header row by the column names we know."""
    return read_table(path, header_score=header_score)


def create_import(db, village_id: int, table: Table, mapping: list[str], *, user_id: int | None = None,
                  filename: str = "") -> int:
    """The ``imports`` row (status running) for ``table``; commits. MappingError when unusable."""
    problems = check_mapping(mapping)
    if problems:
        message, params = problems[0]
        raise MappingError(message % params)
    meta = {"columns": mapping, "header": table.header, "header_row": table.header_row, "kind": table.kind,
            "encoding": table.encoding, "delimiter": table.delimiter, "sheet": table.sheet}
    with write(db):
        return db.execute(
            "INSERT INTO imports (village_id, user_id, filename, status, total_rows, mapping) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [village_id, user_id, filename[:200], RUNNING, table.total, json.dumps(meta, ensure_ascii=False)]
        ).lastrowid


def run_import(db, import_id: int, table: Table, *, gettext: Callable[[str], str] | None = None,
               batch_size: int = BATCH_SIZE, progress: Callable[[dict], None] | None = None) -> dict:
    """Process every row of ``table`` for the import ``import_id``; returns the final counts.

    ``gettext`` translates the stored reasons (the importing user's language). An unexpected
    error marks the import failed and is raised again.
    """
    gettext = gettext or (lambda s: s)
    job = get_import(db, import_id)
    if job is None:
        raise ValueError(f"no import {import_id}")
    mapping = job["meta"]["columns"]
    village = one(db, "SELECT default_language FROM villages WHERE id = ?", [job["village_id"]])
    state = _State(db, job["village_id"], mapping, village["default_language"], gettext)
    try:
        for start in range(0, table.total, batch_size):
            with write(db):
                state.process_batch(table.rows[start:start + batch_size])
                db.conn.executemany("INSERT INTO import_errors (import_id, row_number, reason, raw) "
                                    "VALUES (?, ?, ?, ?)",
                                    [(import_id, *e) for e in state.pending_errors])
                state.pending_errors.clear()
                counts = state.counts()
                db.execute("UPDATE imports SET processed_rows = ?, created_rows = ?, updated_rows = ?, error_rows = ? "
                           "WHERE id = ?", [counts["processed"], counts["created"], counts["updated"],
                                            counts["errors"], import_id])
            if progress:
                progress(counts)
        counts = state.counts()
        meta = dict(job["meta"], no_phone_added=state.no_phone_added)
        with write(db):
            db.execute("UPDATE imports SET status = ?, mapping = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') "
                       "WHERE id = ?", [DONE, json.dumps(meta, ensure_ascii=False), import_id])
        return dict(counts, no_phone_added=state.no_phone_added, total=table.total)
    except BaseException as exc:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        with write(db):
            db.execute("UPDATE imports SET status = ?, error_message = ?, "
                       "finished_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?",
                       [FAILED, f"{type(exc).__name__}: {exc}"[:500], import_id])
        raise


class _State:
    """Counts, in-file duplicate memory and caches for one run.

    Speed: most rows of a first import are new people. Those (every phone unknown to the village,
    checked with one query per batch) are inserted directly, in one savepoint per batch; rows that
    may match someone already registered go through :func:`residents.upsert`, one savepoint each.
    """

    def __init__(self, db, village_id: int, mapping: list[str], default_language: str, gettext):
        self.db, self.village_id, self.mapping = db, village_id, mapping
        self.default_language, self.gettext = default_language, gettext
        self.language_given = "language" in mapping
        self.elsewhere_given = "lives_elsewhere" in mapping
        self.year = residents.current_year()
        self.cache: dict = {}
        self.pinyin: dict[str, tuple[str, str]] = {}
        self.places: dict[tuple[str, str, str], tuple] = {}  # (grid, house, address) -> (grid_id, household_id)
        self.seen_phones: dict[str, int] = {}
        self.seen_people: dict[tuple[str, str], int] = {}
        self.created = self.updated = self.errors = self.no_phone_added = 0
        self.pending_errors: list[tuple[int, str, str]] = []

    def counts(self) -> dict:
        return {"processed": self.created + self.updated + self.errors, "created": self.created,
                "updated": self.updated, "errors": self.errors}

    def reject(self, number: int, cells: list[str], exc: RowError) -> None:
        self.errors += 1
        self.pending_errors.append((number, exc.translated(self.gettext), json.dumps(cells, ensure_ascii=False)))

    def process_batch(self, batch: list[tuple[int, list[str]]]) -> None:
        parsed = []
        for number, cells in batch:
            try:
                parsed.append((number, cells, self._parse(number, cells)))
            except RowError as exc:
                self.reject(number, cells, exc)
        phones = [e164 for _n, _c, p in parsed for e164 in p.data.phones]
        owned = set()
        for i in range(0, len(phones), 900):  # SQLite's bound-parameter limit
            chunk = phones[i:i + 900]
            owned.update(r["e164"] for r in rows(
                self.db, "SELECT e164 FROM resident_phones "
                f"WHERE village_id = ? AND e164 IN ({','.join('?' * len(chunk))})",
                [self.village_id, *chunk]))
        # upsert's dedupe rule: the same phone, else the same name in the same household
        houses = sorted({p.data.house_number for _n, _c, p in parsed if p.data.house_number})
        registered = set()
        for i in range(0, len(houses), 900):
            chunk = houses[i:i + 900]
            registered.update((r["house_number"], r["name"]) for r in rows(
                self.db, "SELECT h.house_number, r.name FROM residents r JOIN households h ON h.id = r.household_id "
                f"WHERE h.village_id = ? AND h.house_number IN ({','.join('?' * len(chunk))})",
                [self.village_id, *chunk]))
        # Rows with neither phone nor house number match by name within the grid (residents.find_existing).
        loose = {r["name"] for r in rows(self.db, """SELECT name FROM residents r WHERE village_id = ?
                 AND household_id IS NULL AND NOT EXISTS (SELECT 1 FROM resident_phones p WHERE p.resident_id = r.id)""",
                                          [self.village_id])} if any(
            not p.data.phones and not p.data.house_number for _n, _c, p in parsed) else set()
        new, maybe_known = [], []
        for item in parsed:
            data = item[2].data
            known = any(e in owned for e in data.phones) or (data.house_number, data.name) in registered \
                or (not data.phones and not data.house_number and data.name in loose)
            (maybe_known if known else new).append(item)
        if new and not self._insert_new(new):
            maybe_known = sorted(new + maybe_known, key=lambda item: item[0])
        for number, cells, row in maybe_known:
            try:
                created, auto = self._upsert(row)
            except RowError as exc:
                self.reject(number, cells, exc)
                continue
            self.created += created
            self.updated += not created
            self.no_phone_added += auto

    def _parse(self, number: int, cells: list[str]):
        """Validate a row and claim its phones in the file (the first row with a number owns it)."""
        row = parse_row(cells, self.mapping, default_language=self.default_language, year=self.year)
        data = row.data
        try:
            residents.validate(data)
        except ValueError as exc:
            raise _row_error(exc) from exc
        for e164 in data.phones:
            if e164 in self.seen_phones:
                raise RowError(N_("Duplicate of row %(row)s (same phone %(number)s)"),
                               row=self.seen_phones[e164], number=phone_numbers.display(e164))
        person = (data.name, data.house_number)
        if data.house_number:
            # The same name in the same household is the same person (upsert's second rule); two
            # rows for one person are refused rather than merged, so the user sees the repeat.
            if person in self.seen_people:
                raise RowError(N_("Duplicate of row %(row)s (same name and house number)"),
                               row=self.seen_people[person])
            self.seen_people[person] = number
        for e164 in data.phones:
            self.seen_phones[e164] = number
        return row

    def _insert_new(self, new: list) -> bool:
        """Insert residents nobody in the village has yet; False (nothing written) if any insert fails.

        Ids are assigned here (the batch holds the write lock) so the rows go in with executemany.
        """
        db, village_id, cache = self.db, self.village_id, self.cache
        resident_rows, phone_rows, tag_rows = [], [], []
        try:
            with db.atomic():
                next_id = scalar(db, "SELECT COALESCE(MAX(id), 0) + 1 FROM residents")
                for _number, _cells, row in new:
                    data = row.data
                    place = (data.grid_name, data.house_number, data.address)
                    ids = self.places.get(place)
                    if ids is None:  # residents' own cache is keyed the same way; this skips two calls a row
                        grid_id = residents._grid_id(db, village_id, data.grid_name, cache)
                        ids = self.places[place] = (grid_id, residents._household_id(
                            db, village_id, grid_id, data.house_number, data.address, cache))
                    grid_id, household_id = ids
                    pinyin = self.pinyin.get(data.name)
                    if pinyin is None:
                        pinyin = self.pinyin[data.name] = residents.pinyin_of(data.name)
                    resident_rows.append((next_id, village_id, household_id, grid_id, data.name, *pinyin,
                                          data.birth_year, data.sex, data.language or residents.MANDARIN,
                                          int(data.lives_elsewhere), data.relation, data.notes))
                    phone_rows += [(next_id, village_id, e164, row.kinds[e164], position)
                                   for position, e164 in enumerate(data.phones)]
                    tag_rows += [(next_id, tag) for tag in data.tags]
                    next_id += 1
                db.conn.executemany(
                    "INSERT INTO residents (id, village_id, household_id, grid_id, name, name_pinyin, name_initials, "
                    "birth_year, sex, language, lives_elsewhere, relation, notes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    resident_rows)
                db.conn.executemany("INSERT INTO resident_phones (resident_id, village_id, e164, kind, position) "
                                    "VALUES (?, ?, ?, ?, ?)", phone_rows)
                db.conn.executemany("INSERT OR IGNORE INTO resident_tags (resident_id, tag) VALUES (?, ?)", tag_rows)
        except (ValueError, sqlite3.DatabaseError):
            self.cache.clear()  # it may name grids or households the savepoint rolled back
            self.places.clear()
            return False
        self.created += len(new)
        self.no_phone_added += sum(row.auto_no_phone for _n, _c, row in new)
        return True

    def _upsert(self, row) -> tuple[bool, bool]:
        data, auto = row.data, row.auto_no_phone
        if auto or not self.language_given or not self.elsewhere_given:
            existing = self._existing(data)
            if existing:
                # A file that says nothing about these must not reset what the registry knows.
                if not self.language_given:
                    data.language = existing["language"]
                if not self.elsewhere_given:
                    data.lives_elsewhere = bool(existing["lives_elsewhere"])
                if auto and existing["has_phone"]:
                    data.tags.discard(residents.NO_PHONE)
                    auto = False
        try:
            with self.db.atomic():  # a savepoint: a refused row leaves no half-written resident behind
                _resident_id, created = residents.upsert(self.db, self.village_id, data, cache=self.cache)
        except ValueError as exc:
            self.cache.clear()  # it may name a grid or household the savepoint rolled back
            self.places.clear()
            raise self._explain(data, exc) from exc
        return created, auto

    def _existing(self, data) -> dict | None:
        select = ("SELECT r.id, r.language, r.lives_elsewhere, "
                  "EXISTS (SELECT 1 FROM resident_phones p WHERE p.resident_id = r.id) AS has_phone FROM residents r ")
        for e164 in data.phones:
            found = one(self.db, select + "JOIN resident_phones p ON p.resident_id = r.id "
                        "WHERE p.village_id = ? AND p.e164 = ?", [self.village_id, e164])
            if found:
                return found
        if data.house_number:
            return one(self.db, select + "JOIN households h ON h.id = r.household_id "
                       "WHERE h.village_id = ? AND h.house_number = ? AND r.name = ?",
                       [self.village_id, data.house_number, data.name])
        return None

    def _explain(self, data, exc: ValueError) -> RowError:
        """A translatable reason for what upsert refused (most often a number owned by someone else)."""
        owners = {}
        for e164 in data.phones:
            owner = one(self.db, "SELECT r.id, r.name FROM resident_phones p JOIN residents r ON r.id = p.resident_id "
                        "WHERE p.village_id = ? AND p.e164 = ?", [self.village_id, e164])
            if owner:
                owners[e164] = owner
        if len({o["id"] for o in owners.values()}) > 1:
            e164, owner = list(owners.items())[-1]
            return RowError(N_("Phone %(number)s already belongs to another resident (%(name)s)"),
                            number=phone_numbers.display(e164), name=owner["name"])
        return _row_error(exc)


def _row_error(exc: ValueError) -> RowError:
    """A domain refusal as a row error in the importing user's language."""
    if isinstance(exc, UserError):
        return RowError(exc.msgid, **exc.params)
    return RowError(N_("Cannot save this row: %(detail)s"), detail=str(exc))


def import_file(db, path: str, village_id: int, *, user_id: int | None = None, filename: str = "",
                mapping: list[str] | None = None, gettext=None, batch_size: int = BATCH_SIZE) -> dict:
    """Read, map (guessed unless given), create and run an import in one call (CLI, bench, tests)."""
    table = read(path)
    mapping = mapping if mapping is not None else guess_mapping(table.header)
    import_id = create_import(db, village_id, table, mapping, user_id=user_id, filename=filename or path)
    counts = run_import(db, import_id, table, gettext=gettext, batch_size=batch_size)
    return dict(counts, import_id=import_id)


def get_import(db, import_id: int) -> dict | None:
    job = one(db, "SELECT * FROM imports WHERE id = ?", [import_id])
    if job is not None:
        job["meta"] = json.loads(job.pop("mapping") or "{}")
    return job


def recent_imports(db, village_ids: list[int] | None, limit: int = 20) -> list[dict]:
    """Latest imports of the villages (None: all), newest first."""
    where, params = "", []
    if village_ids is not None:
        if not village_ids:
            return []
        where = f"WHERE i.village_id IN ({','.join('?' * len(village_ids))})"
        params = list(village_ids)
    return rows(db, f"""SELECT i.id, i.village_id, v.name AS village_name, i.filename, i.status, i.total_rows,
                        i.created_rows, i.updated_rows, i.error_rows, i.created_at, u.username
                        FROM imports i JOIN villages v ON v.id = i.village_id LEFT JOIN users u ON u.id = i.user_id
                        {where} ORDER BY i.id DESC LIMIT ?""", params + [limit])


def errors(db, import_id: int, *, limit: int | None = None) -> list[dict]:
    """Rejected rows in row order, ``raw`` decoded back to the list of original cells."""
    found = rows(db, "SELECT row_number, reason, raw FROM import_errors WHERE import_id = ? ORDER BY row_number, id"
                 + (" LIMIT ?" if limit else ""), [import_id] + ([limit] if limit else []))
    for e in found:
        e["raw"] = json.loads(e["raw"] or "[]")
    return found
