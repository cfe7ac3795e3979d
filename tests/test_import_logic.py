"""Import and export logic, called directly (no Flask): encodings, mapping, validation, round trips."""
from __future__ import annotations

import csv
import io
import os

import openpyxl
import pytest

from outreach.db import rows, scalar
from outreach.registry import exporter, importer
from outreach.registry.import_columns import (FIELDS, RowError, guess_field, guess_mapping, mapping_warnings,
                                              parse_phones, parse_row)
from outreach.registry.residents import current_year
from outreach.registry.tabular import TabularError, read_table

DATA = os.path.join(os.path.dirname(__file__), "data")


def data(name: str) -> str:
    return os.path.join(DATA, name)


def resident(db, village_id: int, name: str) -> dict:
    found = rows(db, """SELECT r.*, g.name AS grid, h.house_number FROM residents r
                        LEFT JOIN grids g ON g.id = r.grid_id LEFT JOIN households h ON h.id = r.household_id
                        WHERE r.village_id = ? AND r.name = ?""", [village_id, name])
    assert len(found) == 1, (name, found)
    r = found[0]
    r["phones"] = [p["e164"] for p in rows(db, "SELECT e164 FROM resident_phones WHERE resident_id = ? "
                                               "ORDER BY position", [r["id"]])]
    r["tags"] = {t["tag"] for t in rows(db, "SELECT tag FROM resident_tags WHERE resident_id = ?", [r["id"]])}
    return r


def assert_roster_imported(db, village_id: int) -> None:
    """The five residents of the good fixtures, as each file describes them."""
    wang = resident(db, village_id, "王秀英")
    assert wang["phones"] == ["+8613900010001"]
    assert wang["grid"] == "一网格/1小组" and wang["house_number"] == "1组003号"
    assert wang["birth_year"] == 1938 and wang["sex"] == "F"
    assert {"lives_alone"} <= wang["tags"]
    liu = resident(db, village_id, "刘长福")
    assert liu["phones"] == ["+8613900010002", "+8613900010003"]  # two numbers in one cell
    assert liu["language"] == "重庆话" and liu["sex"] == "M"
    chen = resident(db, village_id, "陈玉兰")
    assert chen["phones"] == ["+862367123456"]  # a landline
    zhou = resident(db, village_id, "周大山")
    assert zhou["phones"] == [] and "no_phone" in zhou["tags"]
    li = resident(db, village_id, "李德明")  # already in the registry: updated, not duplicated
    assert li["phones"] == ["+8613900002222"]


@pytest.mark.parametrize("name,encoding,delimiter,header_row", [
    ("residents_gbk.csv", "GBK (GB18030)", ",", 2),
    ("residents_utf8_bom.csv", "UTF-8 BOM", ",", 1),
    ("residents_utf8.csv", "UTF-8", ",", 1),
    ("residents_utf16.txt", "UTF-16", "\t", 1),
])
def test_csv_encodings_are_detected_and_imported(db, ids, name, encoding, delimiter, header_row):
    table = importer.read(data(name))
    assert (table.encoding, table.delimiter, table.header_row) == (encoding, delimiter, header_row)
    assert [n for n, _cells in table.rows][:3] == [header_row + 1, header_row + 2, header_row + 4]  # blank line
    result = importer.import_file(db, data(name), ids["yang"])
    assert (result["created"], result["updated"], result["errors"], result["total"]) == (4, 1, 0, 5)
    assert result["no_phone_added"] == 1
    assert_roster_imported(db, ids["yang"])
    chen = resident(db, ids["yang"], "陈玉兰")
    assert {"home_monitoring", "低保"} <= chen["tags"]
    assert "hard_of_hearing" in resident(db, ids["yang"], "王秀英")["tags"]
    assert resident(db, ids["yang"], "李德明")["notes"] == "村会计"


def test_id_card_numbers_are_never_stored(db, ids):
    mapping = guess_mapping(importer.read(data("residents_gbk.csv")).header)
    assert "id_card" not in mapping and mapping[-1] == ""
    importer.import_file(db, data("residents_gbk.csv"), ids["yang"])
    dump = "\n".join(db.conn.iterdump())
    assert "500000193801010000" not in dump
    warnings = [m % p for m, p in mapping_warnings(importer.read(data("residents_gbk.csv")).header, mapping)]
    assert any("身份证号" in w and "never stored" in w for w in warnings)


def test_xlsx_with_title_row_date_cells_and_sub_grid_column(db, ids):
    table = importer.read(data("residents.xlsx"))
    assert (table.kind, table.sheet, table.header_row, table.total) == ("xlsx", "花名册", 3, 5)
    assert table.rows[0][0] == 4
    result = importer.import_file(db, data("residents.xlsx"), ids["yang"])
    assert (result["created"], result["updated"], result["errors"]) == (4, 1, 0)
    assert_roster_imported(db, ids["yang"])


def test_bad_rows_are_rejected_with_reasons_by_row_number(db, ids):
    result = importer.import_file(db, data("bad_rows_gbk.csv"), ids["yang"])
    assert (result["total"], result["created"], result["updated"], result["errors"]) == (13, 2, 0, 11)
    reasons = {e["row_number"]: e["reason"] for e in importer.errors(db, result["import_id"])}
    assert reasons == {
        3: "Name is missing",
        4: "Not a valid phone number: 12345",
        5: "Duplicate of row 2 (same phone 139 0002 0001)",
        6: "Impossible birth year: 1820",
        7: "Impossible birth year: 2150",
        8: "Impossible age: 150",
        9: "Sex: cannot read “未知” (use 男 or 女)",
        10: "Phone 139 0000 2222 already belongs to another resident (李德明)",
        11: "Not a valid phone number: 电话坏了",
        12: "Lives alone: cannot read “也许” (use 是 or 否)",
        15: "Name is missing",
    }
    raw = {e["row_number"]: e["raw"] for e in importer.errors(db, result["import_id"])}
    assert raw[4][:2] == ["钱二", "12345"]  # original cells kept, decoded from GBK
    job = importer.get_import(db, result["import_id"])
    assert job["status"] == importer.DONE
    assert job["created_rows"] + job["updated_rows"] + job["error_rows"] == job["total_rows"] == 13
    # the rejected row 10 changed nothing: 张秀英 keeps her name and number
    assert resident(db, ids["yang"], "张秀英")["phones"] == ["+8613900001111"]
    assert resident(db, ids["yang"], "卫十一")["birth_year"] == current_year() - 80


def test_reimport_is_idempotent(db, ids):
    first = importer.import_file(db, data("residents_gbk.csv"), ids["yang"])
    count = scalar(db, "SELECT COUNT(*) FROM residents")
    phones = scalar(db, "SELECT COUNT(*) FROM resident_phones")
    second = importer.import_file(db, data("residents_gbk.csv"), ids["yang"])
    assert (first["created"], second["created"], second["updated"], second["errors"]) == (4, 0, 5, 0)
    assert scalar(db, "SELECT COUNT(*) FROM residents") == count
    assert scalar(db, "SELECT COUNT(*) FROM resident_phones") == phones


def test_same_number_in_two_villages_is_two_people(db, ids):
    importer.import_file(db, data("residents_utf8.csv"), ids["yang"])
    result = importer.import_file(db, data("residents_utf8.csv"), ids["shimen"])
    assert result["created"] == 5


def test_file_without_language_keeps_what_the_registry_knows(db, ids, tmp_path):
    path = tmp_path / "shimen.csv"
    path.write_text("姓名,电话,门牌号\n王桂兰,13900003333,移01号\n新住户,13900030001,移02号\n", encoding="utf-8")
    result = importer.import_file(db, str(path), ids["shimen"])
    assert (result["created"], result["updated"]) == (1, 1)
    assert resident(db, ids["shimen"], "王桂兰")["language"] == "重庆话"
    assert resident(db, ids["shimen"], "新住户")["language"] == "重庆话"  # the village's default


def test_a_failed_row_does_not_poison_later_rows(db, ids, tmp_path):
    # Row 2 creates grid 新网格 and household 9号 inside a savepoint that is rolled back; row 3 needs both.
    path = tmp_path / "x.csv"
    path.write_text("姓名,电话,网格,门牌号\n甲,13900001111/13900002222,新网格,9号\n乙,13900040001,新网格,9号\n",
                    encoding="utf-8")
    result = importer.import_file(db, str(path), ids["yang"])
    assert (result["created"], result["errors"]) == (1, 1)
    assert resident(db, ids["yang"], "乙")["grid"] == "新网格"


@pytest.mark.parametrize("name,message", [
    ("empty.csv", "The file is empty."),
    ("header_only.csv", "The file has a header row but no data rows."),
    ("garbage.bin", "CSV or XLSX"),
    ("old_excel.xls", "old Excel .xls file"),
])
def test_unreadable_files_have_clear_reasons(name, message):
    with pytest.raises(TabularError) as caught:
        importer.read(data(name))
    assert message in str(caught.value)


def test_other_binary_formats_are_named(tmp_path):
    png = tmp_path / "photo.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(TabularError, match="PNG"):
        read_table(str(png))
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(TabularError, match="not a readable XLSX"):
        read_table(str(fake))


def test_semicolons_are_found_and_chinese_commas_are_text(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("姓名;电话;备注\n张三;13900050001;耳背，独居\n李四;13900050002;无\n", encoding="utf-8")
    table = importer.read(str(path))
    assert table.delimiter == ";"
    assert table.rows[0] == (2, ["张三", "13900050001", "耳背，独居"])


@pytest.mark.parametrize("header,field", [
    ("姓名", "name"), ("名字", "name"), ("Name", "name"), ("*姓名（必填）", "name"),
    ("手机", "phone"), ("联系电话", "phone"), ("电话2", "phone"), ("Mobile", "phone"), ("手机号码(本人)", "phone"),
    ("所属网格", "grid"), ("小网格", "subgrid"), ("户号", "house_number"), ("门牌号", "house_number"),
    ("住址", "address"), ("出生年", "birth_year"), ("出生年月", "birth_year"), ("年龄", "age"), ("Age", "age"),
    ("性别", "sex"), ("是否独居", "lives_alone"), ("无电话", "no_phone"), ("无可用电话", "no_phone"),
    ("耳背", "hard_of_hearing"), ("健康监测", "home_monitoring"), ("方言", "language"),
    ("Language or dialect", "language"), ("标签", "tags"), ("与户主关系", "relation"), ("外出", "lives_elsewhere"),
    ("备注", "notes"), ("身份证号码", "id_card"), ("网格员姓名", None), ("序号", None), ("错误原因", "reason"),
])
def test_headers_are_recognised(header, field):
    assert guess_field(header) == field


def test_export_labels_are_read_back():
    """Whatever language an export was made in, its headers map back to the same fields."""
    for key, (label, _multi) in FIELDS.items():
        assert guess_field(label) == key, label
    chinese = {"姓名": "name", "手机": "phone", "网格": "grid", "小网格": "subgrid", "门牌号": "house_number",
               "地址": "address", "出生年份": "birth_year", "年龄": "age", "性别": "sex", "方言": "language",
               "独居": "lives_alone", "无手机": "no_phone", "耳背": "hard_of_hearing",
               "居家健康监测": "home_monitoring", "标签": "tags", "与户主关系": "relation", "外出": "lives_elsewhere",
               "备注": "notes"}
    assert {h: guess_field(h) for h in chinese} == chinese


def test_exact_header_wins_over_a_keyword_guess():
    assert guess_mapping(["户主姓名", "姓名", "电话", "手机"]) == ["", "name", "phone", "phone"]


@pytest.mark.parametrize("cell,expected", [
    ("13900060001", ["+8613900060001"]),
    ("139 0006 0001", ["+8613900060001"]),
    ("13900060001 13900060002", ["+8613900060001", "+8613900060002"]),
    ("13900060001，13900060002", ["+8613900060001", "+8613900060002"]),
    ("13900060001;023-67123456", ["+8613900060001", "+862367123456"]),
    ("13900060001.0", ["+8613900060001"]),
    ("无", []),
])
def test_phone_cells(cell, expected):
    assert parse_phones(cell) == expected


def test_row_values():
    mapping = ["name", "phone", "age", "sex", "lives_alone", "tags", "language", "lives_elsewhere"]
    parsed = parse_row(["'=张三", "", "85岁", "female", "Y", "独居、低保", "普通话", "在广州"], mapping, year=2024)
    data = parsed.data
    assert data.name == "=张三"  # our export's neutralising quote is removed
    assert data.birth_year == 1939 and data.sex == "F" and data.language == "mandarin"
    assert data.tags == {"lives_alone", "低保", "no_phone"} and parsed.auto_no_phone
    assert data.lives_elsewhere
    with pytest.raises(RowError, match="Impossible age"):
        parse_row(["张三", "", "130"], ["name", "phone", "age"], year=2024)


def _export_and_read_csv(db, village_id) -> list[list[str]]:
    header, found = exporter.residents_table(db, village_id)
    blob = exporter.to_csv(header, found)
    assert blob.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8 Chinese
    return list(csv.reader(io.StringIO(blob.decode("utf-8-sig"))))


def _hostile_resident(db, ids, tmp_path):
    path = tmp_path / "hostile.csv"
    path.write_text('姓名,电话,备注,标签\n"=cmd|\' /C calc\'!A0",13900070001,@SUM(A1),+坏\n'
                    "张三,13900070002,-2+3,\n", encoding="utf-8")
    assert importer.import_file(db, str(path), ids["yang"])["created"] == 2


def test_csv_export_neutralises_formulas_and_round_trips(db, ids, tmp_path):
    _hostile_resident(db, ids, tmp_path)
    table = _export_and_read_csv(db, ids["yang"])
    by_name = {r[0]: r for r in table[1:]}
    assert "'=cmd|' /C calc'!A0" in by_name
    assert by_name["张三"][-1] == "'-2+3"
    assert by_name["'=cmd|' /C calc'!A0"][-1] == "'@SUM(A1)"
    assert "张秀英" in by_name and by_name["张秀英"][2] == "一网格/1小组"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)
    # the export imports back unchanged: everyone updated, nobody created, names restored
    export = tmp_path / "export.csv"
    export.write_bytes(exporter.to_csv(table[0], table[1:]))
    before = scalar(db, "SELECT COUNT(*) FROM residents WHERE village_id = ?", [ids["yang"]])
    result = importer.import_file(db, str(export), ids["yang"])
    assert (result["created"], result["updated"], result["errors"]) == (0, before, 0)
    assert resident(db, ids["yang"], "=cmd|' /C calc'!A0")["notes"] == "@SUM(A1)"
    assert "+坏" in resident(db, ids["yang"], "=cmd|' /C calc'!A0")["tags"]


def test_xlsx_export_has_no_formulas(db, ids, tmp_path):
    _hostile_resident(db, ids, tmp_path)
    header, found = exporter.residents_table(db, ids["yang"])
    path = tmp_path / "export.xlsx"
    path.write_bytes(exporter.to_xlsx(header, found, sheet_title="杨家坪村"))
    wb = openpyxl.load_workbook(path)
    ws = wb["杨家坪村"]
    cells = [c for row in ws.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert "'=cmd|' /C calc'!A0" in [c.value for c in cells]
    result = importer.import_file(db, str(path), ids["yang"])
    assert result["created"] == 0 and result["errors"] == 0


def test_error_file_fixed_and_reimported(db, ids, tmp_path):
    result = importer.import_file(db, data("bad_rows_gbk.csv"), ids["yang"])
    job = importer.get_import(db, result["import_id"])
    header, found = exporter.errors_table(job["meta"]["header"], importer.errors(db, result["import_id"]))
    assert header[-1] == "Error reason" and len(found) == 11
    assert found[0][-1] == "Name is missing"
    fixed = []
    for i, row in enumerate(found):
        row = list(row)
        row[0] = row[0].strip() or f"补名{i}"
        row[1] = f"1390008{i:04d}"  # a fresh, valid number for everyone
        row[2], row[3], row[4], row[7] = "1950", "", "男", ""
        fixed.append(row)
    path = tmp_path / "fixed.xlsx"
    path.write_bytes(exporter.to_xlsx(header, fixed))
    again = importer.import_file(db, str(path), ids["yang"])
    assert (again["created"], again["errors"]) == (11, 0)


def test_new_number_for_a_known_person_in_a_known_household_updates_them(db, ids, tmp_path):
    path = tmp_path / "new_number.csv"
    path.write_text("姓名,电话,门牌号\n张秀英,13900090001,1组001号\n", encoding="utf-8")
    result = importer.import_file(db, str(path), ids["yang"])
    assert (result["created"], result["updated"]) == (0, 1)
    assert resident(db, ids["yang"], "张秀英")["phones"] == ["+8613900001111", "+8613900090001"]


def test_per_segment_answers_match_phonenumbers():
    """The 号段 shortcut must agree with phones.normalise for every number it answers."""
    import random

    from outreach.registry import phones
    from outreach.registry.import_columns import normalise_phone

    rng = random.Random(3)
    for _ in range(300):
        segment = f"1{rng.randint(0, 999999):06d}"
        for _ in range(3):
            number = f"{segment}{rng.randint(0, 9999):04d}"
            try:
                expected = phones.normalise(number)
            except phones.InvalidPhone:
                expected = None
            try:
                got = normalise_phone(number)
            except phones.InvalidPhone:
                got = None
            assert got == expected, number


def test_same_name_and_house_twice_in_a_file_is_a_duplicate(db, ids, tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("姓名,电话,门牌号\n张三,13900091001,5号\n张三,13900091002,5号\n张三,,6号\n", encoding="utf-8")
    result = importer.import_file(db, str(path), ids["yang"])
    assert (result["created"], result["errors"]) == (2, 1)
    assert importer.errors(db, result["import_id"])[0]["reason"] == "Duplicate of row 2 (same name and house number)"


def test_progress_is_reported_per_batch_and_a_crash_marks_the_import_failed(db, ids, monkeypatch):
    table = importer.read(data("bad_rows_gbk.csv"))
    import_id = importer.create_import(db, ids["yang"], table, guess_mapping(table.header), filename="bad.csv")
    seen = []
    importer.run_import(db, import_id, table, batch_size=4, progress=seen.append)
    assert [s["processed"] for s in seen] == [4, 8, 12, 13]
    import_id = importer.create_import(db, ids["yang"], table, guess_mapping(table.header), filename="bad.csv")

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(importer, "parse_row", broken)
    with pytest.raises(RuntimeError):
        importer.run_import(db, import_id, table)
    job = importer.get_import(db, import_id)
    assert job["status"] == importer.FAILED and "disk on fire" in job["error_message"]


def test_reimport_of_a_row_without_phone_or_house_number_does_not_duplicate(tmp_path, db, ids):
    from outreach.registry import importer

    path = tmp_path / "loose.csv"
    path.write_text("姓名,网格,出生年份\n赵大爷,二网格,1940\n", encoding="utf-8")
    for _ in range(2):
        importer.import_file(db, str(path), ids["yang"])
    assert db.execute("SELECT COUNT(*) FROM residents WHERE name = '赵大爷'").fetchone()[0] == 1
