"""Reading the spreadsheets secretaries actually have: CSV in any of China's usual encodings, or XLSX.

:func:`read_table` sniffs the real format from the bytes (never the file name), finds the header
row (rosters often start with a title row such as "杨家坪村村民花名册") and returns every non-blank
row with the row number the user sees in Excel, so error reports point at the right line.

Encodings are tried strictly in this order: UTF-16 with a BOM (Excel's "Unicode text"), UTF-8
with a BOM, UTF-8, then GB18030 (a superset of GBK/GB2312, which Excel in China writes by default).
"""
from __future__ import annotations

import csv
import datetime
import io
import itertools
from dataclasses import dataclass, field
from typing import Callable

CSV = "csv"    # delimited text
XLSX = "xlsx"  # Office Open XML workbook

MAX_ROWS = 200_000     # a village roster is a few thousand rows; more is a wrong file
HEADER_SEARCH_ROWS = 10
DELIMITERS = (",", "\t", ";")  # the Chinese comma "，" is text, never a delimiter

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old binary .xls / .doc
_ZIP_MAGIC = b"PK\x03\x04"
_OTHER_MAGIC = {
    b"%PDF": "PDF", b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF",
    b"Rar!": "RAR", b"7z\xbc\xaf": "7-Zip", b"\x1f\x8b": "gzip",
}


def N_(message: str) -> str:
    """Mark a msgid for extraction; translated by whoever shows the error."""
    return message


class TabularError(ValueError):
    """The file cannot be read as a table. ``message`` is an English msgid, ``params`` fill it."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def translated(self, gettext: Callable[[str], str] = str) -> str:
        text = gettext(self.message)
        return text % self.params if self.params else text


@dataclass
class Table:
    kind: str                       # CSV or XLSX
    header: list[str]
    header_row: int                 # spreadsheet row number of the header (1-based)
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (row number, cells)
    encoding: str = ""              # CSV: the encoding that decoded the file
    delimiter: str = ""             # CSV: the delimiter found
    sheet: str = ""                 # XLSX: the sheet read

    @property
    def total(self) -> int:
        return len(self.rows)


def sniff_kind(head: bytes) -> str:
    """CSV or XLSX from the first bytes; TabularError for anything else."""
    if head.startswith(_OLE_MAGIC):
        raise TabularError(N_("This is an old Excel .xls file. In Excel choose Save As → .xlsx or CSV, "
                              "then upload that."))
    if head.startswith(_ZIP_MAGIC):
        return XLSX
    for magic, name in _OTHER_MAGIC.items():
        if head.startswith(magic):
            raise TabularError(N_("This is a %(kind)s file, not a spreadsheet. Upload a CSV or XLSX file."),
                               kind=name)
    return CSV


def read_table(path: str, header_score: Callable[[list[str]], int] | None = None) -> Table:
    """Read ``path`` (CSV or XLSX). ``header_score`` rates a row as a header (known column names)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not head:
        raise TabularError(N_("The file is empty."))
    kind = sniff_kind(head)
    if kind == XLSX:
        table = _read_xlsx(path, header_score)
    else:
        with open(path, "rb") as fh:
            table = _read_csv(fh.read(), header_score)
    if not table.rows:
        raise TabularError(N_("The file has a header row but no data rows."))
    return table


# ---- CSV ---------------------------------------------------------------------------------

def decode(data: bytes) -> tuple[str, str]:
    """``(text, encoding)``; TabularError when no supported encoding fits."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            pass
    elif data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "UTF-8 BOM"
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            try:
                return data.decode("gb18030"), "GBK (GB18030)"
            except UnicodeDecodeError:
                pass
    raise TabularError(N_("The file is not text in UTF-8 or GBK. Save it from Excel as CSV or XLSX."))


def _looks_binary(text: str) -> bool:
    """Control characters other than tab/CR/LF mean a binary file decoded by luck (GB18030 accepts a lot)."""
    sample = text[:20_000]
    if "\x00" in sample:
        return True
    bad = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n" or "\ue000" <= ch <= "\uf8ff")
    return bad > max(3, len(sample) // 200)


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most equal, widest rows."""
    sample = [line for line in text[:50_000].splitlines()[:30] if line.strip()]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        widths = [len(r) for r in csv.reader(sample, delimiter=delimiter)]
        if not widths:
            continue
        common = max(set(widths), key=widths.count)
        if common < 2:
            continue
        score = (widths.count(common), common)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(data: bytes, header_score) -> Table:
    text, encoding = decode(data)
    if _looks_binary(text):
        raise TabularError(N_("The file is not a spreadsheet (it contains binary data). "
                              "Upload a CSV or XLSX file."))
    if not text.strip():
        raise TabularError(N_("The file is empty."))
    delimiter = sniff_delimiter(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise TabularError(N_("The CSV file is malformed: %(detail)s"), detail=str(exc)) from exc
    numbered = ((n, [c.strip() for c in cells]) for n, cells in enumerate(records, 1))
    table = _split_header(numbered, header_score, CSV)
    table.encoding, table.delimiter = encoding, delimiter
    return table


# ---- XLSX --------------------------------------------------------------------------------

def cell_text(value) -> str:
    """A cell as the user sees it: 13812345678 not 13812345678.0, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(ws):
    for cells in ws.iter_rows():
        number = next((c.row for c in cells if getattr(c, "row", None)), None)
        if number is not None:  # rows of EmptyCell are blank lines
            yield number, [cell_text(c.value) for c in cells]


def _read_xlsx(path: str, header_score) -> Table:
    # A file object, not the path: openpyxl refuses names not ending in .xlsx (ours are generated).
    with open(path, "rb") as fh:
        return _read_workbook(fh, header_score)


def _read_workbook(fh, header_score) -> Table:
    import openpyxl  # imported here: CSV-only callers (bench, CLI) start faster

    unreadable = N_("The file is not a readable XLSX workbook. Save it again from Excel as .xlsx or CSV.")
    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors of every kind on damaged files
        raise TabularError(unreadable) from exc
    try:
        for ws in wb.worksheets:
            ws.reset_dimensions()  # some tools write a wrong dimension; read what is really there
            rows = _xlsx_rows(ws)
            first = next(rows, None)
            if first is None:
                continue  # blank sheet: try the next one
            table = _split_header(itertools.chain([first], rows), header_score, XLSX)
            table.sheet = ws.title
            return table
    except TabularError:
        raise
    except Exception as exc:
        raise TabularError(unreadable) from exc
    finally:
        wb.close()
    raise TabularError(N_("The file is empty."))


# ---- header and rows ---------------------------------------------------------------------

def _split_header(numbered, header_score, kind: str) -> Table:
    """Pick the header among the first non-blank rows; everything non-blank after it is data."""
    leading: list[tuple[int, list[str]]] = []
    for number, cells in numbered:
        if any(cells):
            leading.append((number, cells))
            if len(leading) >= HEADER_SEARCH_ROWS:
                break
    if not leading:
        raise TabularError(N_("The file is empty."))
    index = 0
    if header_score is not None:
        scores = [header_score(cells) for _n, cells in leading]
        if max(scores) > 0:
            index = scores.index(max(scores))
    header_row, header = leading[index]
    header = _trim(header)
    table = Table(kind=kind, header=header, header_row=header_row)
    for number, cells in itertools.chain(leading[index + 1:], numbered):
        if any(cells):
            if len(table.rows) >= MAX_ROWS:
                raise TabularError(N_("The file has more than %(max)s rows. Split it into smaller files."),
                                   max=MAX_ROWS)
            table.rows.append((number, _trim(cells)))
    return table


def _trim(cells: list[str]) -> list[str]:
    """Drop empty cells at the end (Excel pads rows to the widest one)."""
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]
