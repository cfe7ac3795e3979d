"""Import and export through the web: upload → preview → background import → report and downloads."""
from __future__ import annotations

import csv
import io
import os
import re
import time

import openpyxl
import pytest

from outreach.db import rows, scalar

DATA = os.path.join(os.path.dirname(__file__), "data")


def english(client, login, username="sec_a"):
    assert login(client, username).status_code == 302
    client.get("/lang/en")


def upload(client, village_id, name, content: bytes | None = None):
    if content is None:
        with open(os.path.join(DATA, name), "rb") as fh:
            content = fh.read()
    return client.post("/imports/new", data={"village_id": str(village_id), "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def token_of(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"/imports/preview/([A-Za-z0-9_-]+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def wait_done(client, import_id: int, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/imports/{import_id}/progress").get_json()
        if not state["running"]:
            return state
        time.sleep(0.05)
    raise AssertionError("import did not finish")


def run_import(client, village_id, name, content=None) -> tuple[int, dict]:
    token = token_of(upload(client, village_id, name, content))
    response = client.post(f"/imports/preview/{token}", data=dict(_mapping(client, token), action="start"))
    assert response.status_code == 302, response.get_data(as_text=True)
    import_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    return import_id, wait_done(client, import_id)


def _mapping(client, token) -> dict:
    """The mapping the preview page proposes, as the browser would submit it."""
    page = client.get(f"/imports/preview/{token}").get_data(as_text=True)
    chosen = {}
    for col, body in re.findall(r'<select name="(col\d+)"[^>]*>(.*?)</select>', page, re.S):
        selected = re.search(r'<option value="([^"]*)" selected', body)
        chosen[col] = selected.group(1) if selected else ""
    return chosen


def uploads_left(app) -> list[str]:
    return os.listdir(app.config["UPLOAD_DIR"])


def test_gbk_roster_preview_import_and_report(app, client, login, ids, db):
    english(client, login)
    with open(os.path.join(DATA, "residents_gbk.csv"), "rb") as fh:
        token = token_of(upload(client, ids["yang"], "花名册.csv", fh.read()))
    assert uploads_left(app) == [f"import-{token}.upload"]  # generated name, never the user's
    page = client.get(f"/imports/preview/{token}").get_data(as_text=True)
    assert "GBK (GB18030)" in page
    assert "花名册.csv" in page and "王秀英" in page
    assert "ID card numbers are never stored" in page
    assert '<dd id="total-rows">5</dd>' in page
    response = client.post(f"/imports/preview/{token}", data=dict(_mapping(client, token), action="start"))
    import_id = int(response.headers["Location"].split("/")[-1])
    state = wait_done(client, import_id)
    assert state == {"status": "done", "total": 5, "processed": 5, "created": 4, "updated": 1, "errors": 0,
                     "running": False}
    report = client.get(f"/imports/{import_id}").get_data(as_text=True)
    assert "imports.js" in report and "<script>" not in report  # CSP: no inline script
    assert "tagged “No working phone”" in report
    assert uploads_left(app) == []
    assert scalar(db, "SELECT COUNT(*) FROM residents WHERE village_id = ? AND name = '刘长福'", [ids["yang"]]) == 1
    actions = [r["action"] for r in rows(db, "SELECT action FROM audit_log WHERE object_type = 'import'")]
    assert actions == ["import_started", "import_finished"]


def test_bad_rows_report_download_fix_and_reimport(app, client, login, ids, db):
    english(client, login)
    with open(os.path.join(DATA, "bad_rows_gbk.csv"), "rb") as fh:
        import_id, state = run_import(client, ids["yang"], "bad.csv", fh.read())
    assert (state["created"], state["errors"], state["total"]) == (2, 11, 13)
    report = client.get(f"/imports/{import_id}").get_data(as_text=True)
    assert "Impossible birth year: 1820" in report
    assert re.search(r'<td class="num">10</td><td>Phone 139 0000 2222 already belongs to another resident', report)
    download = client.get(f"/imports/{import_id}/errors?format=csv")
    assert download.status_code == 200 and download.data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert table[0] == ["姓名", "手机", "出生年份", "年龄", "性别", "网格", "门牌号", "独居", "Error reason"]
    assert [r[-1] for r in table[1:3]] == ["Name is missing", "Not a valid phone number: 12345"]
    for i, row in enumerate(table[1:]):
        row[0] = row[0].strip() or f"补名{i}"
        row[1], row[2], row[3], row[4], row[7] = f"1390009{i:04d}", "1950", "", "女", "否"
    out = io.StringIO()
    csv.writer(out).writerows(table)
    _again, state = run_import(client, ids["yang"], "fixed.csv", out.getvalue().encode("utf-8"))
    assert (state["created"], state["errors"]) == (11, 0)
    xlsx = client.get(f"/imports/{import_id}/errors?format=xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    assert ws.max_row == 12 and ws.cell(row=2, column=9).value == "Name is missing"


def test_xlsx_upload(client, login, ids):
    english(client, login, "admin")
    _id, state = run_import(client, ids["yang"], "residents.xlsx")
    assert (state["created"], state["updated"], state["errors"]) == (4, 1, 0)


def test_mapping_can_be_changed_on_the_preview(client, login, ids, db):
    english(client, login)
    token = token_of(upload(client, ids["yang"], "residents_utf8.csv"))
    mapping = _mapping(client, token)
    assert mapping["col0"] == "name" and mapping["col11"] == "notes"
    mapping["col0"] = ""
    page = client.post(f"/imports/preview/{token}", data=dict(mapping, action="start"))
    assert page.status_code == 200 and "No column is mapped to Name." in page.get_data(as_text=True)
    mapping["col0"], mapping["col11"] = "name", ""  # keep the notes out this time
    response = client.post(f"/imports/preview/{token}", data=dict(mapping, action="start"))
    wait_done(client, int(response.headers["Location"].split("/")[-1]))
    assert scalar(db, "SELECT notes FROM residents WHERE name = '刘长福'") == ""


def test_cancel_deletes_the_upload(app, client, login, ids):
    english(client, login)
    token = token_of(upload(client, ids["yang"], "residents_utf8.csv"))
    client.post(f"/imports/preview/{token}", data={"action": "cancel"})
    assert uploads_left(app) == []
    assert client.get(f"/imports/preview/{token}").status_code == 404


def test_preview_token_belongs_to_the_session(app, client, login, ids):
    english(client, login)
    token = token_of(upload(client, ids["yang"], "residents_utf8.csv"))
    other = app.test_client()
    login(other, "sec_a")
    assert other.get(f"/imports/preview/{token}").status_code == 404


@pytest.mark.parametrize("name,content,message", [
    ("empty.csv", b"", "The file is empty."),
    ("blank.csv", b"\r\n  \r\n", "The file is empty."),
    ("header.csv", "姓名,手机\r\n".encode("gbk"), "The file has a header row but no data rows."),
    ("garbage.csv", bytes(range(256)) * 4, "CSV or XLSX"),
    ("nul.csv", b"\x00\x01\x02abc" * 200, "binary data"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old Excel .xls file"),
    ("broken.xlsx", b"PK\x03\x04" + bytes(600), "not a readable XLSX"),
])
def test_unusable_uploads_get_clear_messages_and_leave_nothing(app, client, login, ids, name, content, message):
    english(client, login)
    response = upload(client, ids["yang"], name, content)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert uploads_left(app) == []


def test_missing_file_and_oversize_upload(app, client, login, ids):
    english(client, login)
    response = client.post("/imports/new", data={"village_id": str(ids["yang"])})
    assert response.status_code == 400 and "Choose a file" in response.get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 2000
    response = upload(client, ids["yang"], "big.csv", b"a,b\r\n" * 1000)
    assert response.status_code == 413
    assert uploads_left(app) == []


def test_secretary_of_another_village_gets_404(client, login, ids):
    owner = client
    english(owner, login, "sec_a")
    import_id, _state = run_import(owner, ids["yang"], "bad_rows_gbk.csv")
    token = token_of(upload(owner, ids["yang"], "residents_utf8.csv"))
    owner.post("/logout")
    english(owner, login, "sec_b")
    assert upload(owner, ids["yang"], "residents_utf8.csv").status_code == 404
    for url in (f"/imports/{import_id}", f"/imports/{import_id}/progress", f"/imports/{import_id}/errors?format=csv",
                f"/residents/export?village_id={ids['yang']}&format=csv", f"/imports/preview/{token}"):
        assert owner.get(url).status_code == 404, url
    assert owner.get(f"/residents/export?village_id={ids['shimen']}&format=csv").status_code == 200


@pytest.mark.parametrize("username", ["grid_a", "official"])
def test_grid_workers_and_officials_get_403(client, login, ids, username):
    login(client, username)
    for url in ("/imports/new", "/imports/1", "/imports/1/progress", "/imports/1/errors",
                f"/residents/export?village_id={ids['yang']}"):
        assert client.get(url).status_code == 403, url
    assert upload(client, ids["yang"], "residents_utf8.csv").status_code == 403


def test_export_residents_csv_and_xlsx(client, login, ids, db):
    english(client, login)
    response = client.get(f"/residents/export?village_id={ids['yang']}&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8-sig")
    assert "张秀英" in text and "139 0000 1111" in text and "王桂兰" not in text
    response = client.get(f"/residents/export?village_id={ids['yang']}&format=xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert ws.cell(row=1, column=1).value == "Name" and ws.max_row == 3
    assert client.get(f"/residents/export?village_id={ids['yang']}&format=pdf").status_code == 400
    exports = rows(db, "SELECT detail FROM audit_log WHERE action = 'residents_exported'")
    assert len(exports) == 2
