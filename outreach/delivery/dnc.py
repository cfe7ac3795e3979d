"""A village's do-not-call list: numbers no campaign may call or text, whoever they belong to.

Numbers are stored in E.164 (``phones.normalise``), so "139 0000 1111", "+86 13900001111" and
"13900001111" are one entry. Imports read plain text or CSV (UTF-8, GBK or UTF-16): one number per
line, optionally followed by a reason in the next column; bad lines are reported by line number and
the good ones still added. Each writing function commits.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field

from ..db import rows, scalar, write
from ..errors import N_
from ..registry import exporter, phones
from ..registry.tabular import TabularError, decode

MAX_IMPORT_LINES = 20_000  # a village has a few thousand numbers; more is a wrong file
MAX_REASON = 200
EXPORT_HEADER = ("phone", "reason", "added_at", "added_by")


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)       # E.164 numbers newly on the list
    duplicates: list[str] = field(default_factory=list)  # already on the list, or twice in the file
    errors: list[tuple[int, str, phones.InvalidPhone]] = field(default_factory=list)  # (line, text, why)


def _reason(text: str | None) -> str:
    return " ".join((text or "").split())[:MAX_REASON]


def entries(db, village_id: int) -> list[dict]:
    """The list, newest first, with who added each number and whose number it is (reads only)."""
    return rows(db, """SELECT d.id, d.e164, d.reason, d.created_at, u.username AS added_by,
                              (SELECT group_concat(r.name, '、') FROM resident_phones p JOIN residents r
                               ON r.id = p.resident_id WHERE p.e164 = d.e164 AND p.village_id = d.village_id) AS owners
                       FROM do_not_call d LEFT JOIN users u ON u.id = d.added_by
                       WHERE d.village_id = ? ORDER BY d.created_at DESC, d.id DESC""", [village_id])


def opted_out(db, village_id: int) -> list[dict]:
    """Numbers of this village's residents that texted STOP (opt-outs are global to the account)."""
    return rows(db, """SELECT o.e164, o.source, o.at, group_concat(r.name, '、') AS owners
                       FROM opt_outs o JOIN resident_phones p ON p.e164 = o.e164 AND p.village_id = ?
                       JOIN residents r ON r.id = p.resident_id
                       GROUP BY o.e164 ORDER BY o.at DESC""", [village_id])


def contains(db, village_id: int, e164: str) -> bool:
    return bool(scalar(db, "SELECT 1 FROM do_not_call WHERE village_id = ? AND e164 = ?", [village_id, e164]))


def add(db, village_id: int, raw: str, reason: str = "", user_id: int | None = None) -> tuple[str, bool]:
    """Put a number on the list: ``(e164, added)``; added is False when it was already there.

    Raises ``phones.InvalidPhone`` (a ValueError) for text that is not a dialable number.
    """
    e164, _kind = phones.normalise(raw)
    with write(db):
        added = db.execute("INSERT OR IGNORE INTO do_not_call (village_id, e164, reason, added_by) VALUES (?, ?, ?, ?)",
                           [village_id, e164, _reason(reason), user_id]).rowcount == 1
    return e164, added


def remove(db, village_id: int, e164: str) -> bool:
    """Take a number off the list; False when it was not on it."""
    with write(db):
        return db.execute("DELETE FROM do_not_call WHERE village_id = ? AND e164 = ?", [village_id, e164]).rowcount == 1


def parse_lines(data: bytes) -> tuple[list[tuple[int, str, str]], list[tuple[int, str, phones.InvalidPhone]]]:
    """``(numbers, errors)`` from an uploaded file: numbers are (line, e164, reason), errors (line, text, why).

    ``why`` is the exception itself, so the page can show it in the user's language.

    Blank lines and a first line without any digit (a header) are skipped. A leading quote, which our own
    export puts before text a spreadsheet would run as a formula, is dropped.
    """
    if not data.strip():
        raise TabularError(N_("The file is empty."))
    text, _encoding = decode(data)
    if "\x00" in text[:20_000]:
        raise TabularError(N_("The file is not a spreadsheet (it contains binary data). Upload a CSV or XLSX file."))
    lines = text.splitlines()
    if len(lines) > MAX_IMPORT_LINES:
        raise TabularError(N_("The file has more than %(limit)s lines."), limit=MAX_IMPORT_LINES)
    delimiter = "\t" if any("\t" in line for line in lines[:20]) else ","
    numbers, errors = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            cells = next(csv.reader([line.replace("，", ",")], delimiter=delimiter))
        except csv.Error:
            cells = [line]
        cells = [c.strip().lstrip("'") for c in cells] or [""]
        raw = cells[0]
        if number == 1 and not any(ch.isdigit() for ch in raw):
            continue  # a header row ("phone", "电话号码")
        try:
            e164, _kind = phones.normalise(raw)
        except phones.InvalidPhone as exc:
            errors.append((number, line.strip()[:100], exc))
            continue
        numbers.append((number, e164, _reason(cells[1] if len(cells) > 1 else "")))
    return numbers, errors


def import_file(db, village_id: int, data: bytes, *, reason: str = "", user_id: int | None = None) -> ImportResult:
    """Add every valid number of the file in one transaction. ``TabularError`` when the file is unreadable."""
    numbers, errors = parse_lines(data)
    result = ImportResult(errors=errors)
    seen: set[str] = set()
    with write(db):
        for _line, e164, line_reason in numbers:
            if e164 in seen:
                result.duplicates.append(e164)
                continue
            seen.add(e164)
            inserted = db.execute(
                "INSERT OR IGNORE INTO do_not_call (village_id, e164, reason, added_by) VALUES (?, ?, ?, ?)",
                [village_id, e164, line_reason or _reason(reason), user_id]).rowcount == 1
            (result.added if inserted else result.duplicates).append(e164)
    return result


def export_csv(db, village_id: int, header: tuple[str, ...] = EXPORT_HEADER) -> bytes:
    """The list as CSV for Excel; cells a spreadsheet would evaluate are neutralised by the exporter.

    Numbers are written as people write them (national format) so Excel keeps them as text; the
    importer reads that format back.
    """
    table = [[phones.display(e["e164"]), e["reason"], e["created_at"], e["added_by"] or ""]
             for e in entries(db, village_id)]
    return exporter.to_csv(list(header), table)
