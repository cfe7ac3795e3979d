"""Issue 2 in a real browser: a village secretary imports a roster with bad rows, reads the error
report and finds an imported resident; the UI is Chinese first with an English switch; visitors
who are not logged in land on the login page.

The roster (data/roster_gbk.csv) is saved in GBK as Excel in China does, with a title row above
the header, so spreadsheet row numbers start at 3 for data:
  3 陈玉兰 ok · 4 刘建华 ok · 5 周淑芬 ok · 6 吴志强 phone "12345" (invalid) · 7 (no name) ·
  8 郑小红 same phone as row 3 · 9 黄丽 ok.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ROSTER = Path(__file__).parent / "data" / "roster_gbk.csv"
IMPORTED = ["陈玉兰", "刘建华", "周淑芬", "黄丽"]
HAN = re.compile(r"[\u4e00-\u9fff]")  # at least one Chinese character
REJECTED = {6: "吴志强", 7: "13822223333", 8: "郑小红"}


def result_rows(page):
    """Rows of the residents table that are residents (not the "no match" row)."""
    return page.locator("main table tbody tr").filter(has=page.locator("a[href*='/residents/']"))


def search(page, text: str):
    box = page.get_by_role("search").locator("input[name=q]")
    box.fill(text)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q="))


def test_logged_out_visitor_is_sent_to_login_and_back(page, live_server, log_in, ids):
    wanted = f"/residents?grid_id={ids['grid2']}"
    page.goto(live_server.url + wanted)
    url = urlsplit(page.url)
    assert url.path == "/login"
    assert parse_qs(url.query)["next"] == [wanted]
    expect(page.locator("table")).to_have_count(0)  # no resident data leaked on the way
    # Logging in from there returns to the page that was asked for.
    page.locator("#username").fill("sec_a")
    page.locator("#password").fill("password123")
    page.locator("form.login button[type=submit]").click()
    expect(page).to_have_url(live_server.url + wanted)
    expect(result_rows(page)).to_have_count(1)
    expect(result_rows(page)).to_contain_text("李德明")


def test_chinese_by_default(page, live_server, log_in):
    """A Chinese browser or not, the first page a villager sees is in Chinese."""
    page.goto(f"{live_server.url}/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    form = page.locator("form.login")
    # Whatever words the translator chose, the labels are Chinese and the English ones are gone.
    expect(form.locator("label[for=username]")).to_have_text(HAN)
    expect(form.locator("label[for=password]")).to_have_text(HAN)
    expect(form.locator("button[type=submit]")).to_have_text(HAN)
    expect(form.get_by_text(re.compile(r"Username|Password|Log in"))).to_have_count(0)
    log_in(page, "sec_a")
    nav = page.locator("header nav")
    expect(nav.locator("a[href$='/residents']")).to_have_text(HAN)
    expect(nav.locator("a[href$='/imports/new']")).to_have_text(HAN)


def test_switch_to_english_and_back(page, live_server, log_in):
    log_in(page, "sec_a")
    page.goto(f"{live_server.url}/residents")
    page.get_by_role("link", name="English").click()
    # The switch keeps the user on the page they were reading.
    expect(page).to_have_url(re.compile(r"/residents$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Residents", exact=True)).to_be_visible()
    expect(page.locator("header nav").get_by_role("link", name="Import", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("columnheader", name="House number")).to_be_visible()
    # The choice survives navigation, and the Chinese switch is offered back.
    page.goto(f"{live_server.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def test_secretary_imports_roster_with_bad_rows_and_finds_resident(page, live_server, log_in, ids, db, artifact):
    log_in(page, "sec_a")

    # Upload: the secretary only sees her own village.
    page.locator("header nav a[href$='/imports/new']").click()
    village = page.locator("select#village_id")
    expect(village.locator("option")).to_have_count(1)
    expect(village.locator("option")).to_contain_text("杨家坪村")
    village.select_option(str(ids["yang"]))
    page.locator("input#file").set_input_files(str(ROSTER))
    page.locator("form[enctype='multipart/form-data'] button[type=submit]").click()

    # Preview: encoding detected, header found under the title row, columns mapped, bad rows flagged.
    expect(page).to_have_url(re.compile(r"/imports/preview/"))
    expect(page.locator("#encoding")).to_have_text(re.compile(r"gb", re.I))
    expect(page.locator("#total-rows")).to_have_text("7")
    expect(page.locator("select[name=col0]")).to_have_value("name")
    expect(page.locator("select[name=col1]")).to_have_value("phone")
    expect(page.locator("select[name=col2]")).to_have_value("grid")
    preview = page.locator("main table tbody tr")
    expect(preview.filter(has_text="陈玉兰").locator(".good")).to_be_visible()
    expect(preview.filter(has_text="吴志强").locator(".bad")).to_contain_text("12345")
    assert db.execute("SELECT COUNT(*) FROM residents WHERE name = '陈玉兰'").fetchone()[0] == 0  # nothing yet
    page.screenshot(path=str(artifact("import-preview.png")), full_page=True)

    page.locator("button[name=action][value=start]").click()

    # Report: the page follows the background import and reloads itself when it is done.
    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    expect(page.locator("#import-status")).to_have_attribute("data-status", "done")
    expect(page.locator("#count-total")).to_have_text("7")
    expect(page.locator("#count-created")).to_have_text("4")
    expect(page.locator("#count-errors")).to_have_text("3")
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(3)
    expect(errors.locator("td:first-child")).to_have_text(["6", "7", "8"])
    reasons = errors.locator("td:nth-child(2)")
    expect(reasons.nth(0)).to_contain_text("12345")
    expect(reasons.nth(1)).not_to_be_empty()
    expect(reasons.nth(2)).to_contain_text(re.compile(r"3\D.*139 1234 5678"))
    for i, cell in enumerate(REJECTED.values()):
        expect(errors.nth(i)).to_contain_text(cell)
    page.screenshot(path=str(artifact("import-error-report.png")), full_page=True)

    # The rejected rows download as a file to fix and re-import: the three rows and their reasons.
    with page.expect_download() as info:
        page.locator("a[href*='/errors?format=csv']").click()
    text = Path(info.value.path()).read_bytes().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:2] == ["姓名", "手机号码"]
    assert [row[0] for row in lines[1:]] == ["吴志强", "", "郑小红"]
    assert lines[2][1] == "13822223333"
    assert all(row[-1] for row in lines[1:]), "every rejected row carries its reason"

    # Residents list: the good rows are there, the bad ones are not.
    page.locator("main a[href*='/residents?village_id=']").click()
    expect(page).to_have_url(re.compile(r"/residents\?"))
    for name in IMPORTED + ["张秀英", "李德明"]:
        expect(result_rows(page).filter(has_text=name)).to_have_count(1)
    expect(result_rows(page)).to_have_count(6)
    page.screenshot(path=str(artifact("residents-list.png")), full_page=True)

    search(page, "吴志强")
    expect(result_rows(page)).to_have_count(0)
    search(page, "陈玉兰")
    expect(result_rows(page)).to_have_count(1)
    search(page, "chenyulan")
    expect(result_rows(page)).to_have_count(1)
    row = result_rows(page).first
    expect(row).to_contain_text("陈玉兰")
    expect(row).to_contain_text("一网格")

    # Detail page: phone as people write it, grid, house number, the "lives alone" tag.
    row.get_by_role("link", name="陈玉兰").click()
    expect(page).to_have_url(re.compile(r"/residents/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("陈玉兰")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("139 1234 5678")
    expect(facts).to_contain_text("一网格")
    expect(facts).to_contain_text("1组005号")
    expect(page.locator("h1 .tag.lives_alone")).to_be_visible()
