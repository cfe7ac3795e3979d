"""Writing tables for Excel: CSV (UTF-8 with a BOM, so Excel shows Chinese) and XLSX.

Every text cell that starts with ``= + - @`` (or tab / carriage return) gets a leading single
quote: a spreadsheet would otherwise run it as a formula (``=cmd|' /C calc'!A0``). The importer
strips that quote again, so an export re-imports unchanged.
"""
from __future__ import annotations

import csv
import io
from typing import Callable, Iterable

from ..db import rows as fetch_rows
from . import phones as phone_numbers
from .import_columns import FIELDS, N_
from .residents import HARD_OF_HEARING, HOME_MONITORING, KNOWN_TAGS, LIVES_ALONE, NO_PHONE, current_year

CSV = "csv"
XLSX = "xlsx"
FORMATS = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
REASON_HEADER = N_("Error reason")


def neutralise(value):
    """The value, with a quote before text a spreadsheet would evaluate; numbers and None unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(header: list[str], rows: Iterable[list]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")  # CRLF: what Excel writes and expects
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(header: list[str], rows: Iterable[list], sheet_title: str = "Sheet1") -> bytes:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(title=_sheet_title(sheet_title))

    def cells(values):
        out = []
        for v in values:
            cell = WriteOnlyCell(ws, value=neutralise(v))
            if isinstance(v, str):
                cell.data_type = "s"  # never a formula, whatever the text
            out.append(cell)
        return out

    ws.append(cells(header))
    for row in rows:
        ws.append(cells(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _sheet_title(title: str) -> str:
    # Excel forbids []:*?/\ in sheet names and caps them at 31 characters.
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in title).strip("'") or "Sheet1"
    return cleaned[:31]


def write(fmt: str, header: list[str], rows: Iterable[list], sheet_title: str = "Sheet1") -> bytes:
    if fmt == CSV:
        return to_csv(header, rows)
    if fmt == XLSX:
        return to_xlsx(header, rows, sheet_title)
    raise ValueError(f"unknown format {fmt!r}")


# ---- what is exported --------------------------------------------------------------------

_FLAG_COLUMNS = (LIVES_ALONE, NO_PHONE, HARD_OF_HEARING, HOME_MONITORING)
RESIDENT_COLUMNS = ("name", "phone", "grid", "house_number", "address", "birth_year", "age", "sex", "language",
                    *_FLAG_COLUMNS, "tags", "relation", "lives_elsewhere", "notes")
_SEX = {"M": N_("Male"), "F": N_("Female")}


def residents_table(db, village_id: int, gettext: Callable[[str], str] = str) -> tuple[list[str], list[list]]:
    """Header and rows of a village's residents, in the columns the importer reads back."""
    header = [gettext(FIELDS[key][0]) for key in RESIDENT_COLUMNS]
    yes, year = gettext(N_("Yes")), current_year()
    found = fetch_rows(db, """
        SELECT r.id, r.name, g.name AS grid, h.house_number, h.address, r.birth_year, r.sex, r.language,
               r.relation, r.lives_elsewhere, r.notes,
               (SELECT group_concat(e164, ' ') FROM
                   (SELECT e164 FROM resident_phones WHERE resident_id = r.id ORDER BY position)) AS phones,
               (SELECT group_concat(tag, char(31)) FROM resident_tags WHERE resident_id = r.id) AS tags
        FROM residents r LEFT JOIN grids g ON g.id = r.grid_id LEFT JOIN households h ON h.id = r.household_id
        WHERE r.village_id = ? ORDER BY g.name IS NULL, g.name, h.house_number, r.id""", [village_id])
    out = []
    for r in found:
        tags = set((r["tags"] or "").split("\x1f")) - {""}
        language = gettext(N_("Mandarin")) if r["language"] == "mandarin" else r["language"]
        out.append([
            r["name"], " / ".join(phone_numbers.display(p) for p in (r["phones"] or "").split()),
            r["grid"] or "", r["house_number"] or "", r["address"] or "", r["birth_year"],
            year - r["birth_year"] if r["birth_year"] else None,
            gettext(_SEX[r["sex"]]) if r["sex"] in _SEX else "", language,
            *[yes if tag in tags else "" for tag in _FLAG_COLUMNS],
            "，".join(sorted(tags - set(KNOWN_TAGS))), r["relation"], yes if r["lives_elsewhere"] else "",
            r["notes"]])
    return header, out


def errors_table(header: list[str], errors: list[dict], gettext: Callable[[str], str] = str) \
        -> tuple[list[str], list[list]]:
    """The rejected rows with their original cells and a reason column, to fix and re-import."""
    width = max([len(header)] + [len(e["raw"]) for e in errors])
    padded = list(header) + [""] * (width - len(header))
    return padded + [gettext(REASON_HEADER)], [list(e["raw"]) + [""] * (width - len(e["raw"])) + [e["reason"]]
                                                for e in errors]
