"""Issue 6 in a real browser: an official reads the reach dashboard (charts, per-village figures,
live campaign counts); a grid worker on a phone-sized screen records a door-knock visit and the
person leaves the list and counts as acknowledged.

Data: a notice of 杨家坪村 sent by a running call campaign — 张秀英 answered and pressed 1, 李德明
was busy to the end — and 孙奶奶, aged 86 with no phone, in 一网格 (grid_a's grid).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from outreach.db import connect
from outreach.reach import cache, state
from outreach.registry.residents import ResidentInput, upsert

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def sent(app, ids):
    cache.clear()
    db = connect(app.config["DATABASE"])
    granny = upsert(db, ids["yang"], ResidentInput(name="孙奶奶", grid_name="一网格", house_number="1组002号",
                                                     birth_year=1938, tags={"lives_alone"}))[0]
    notice_id = db.execute("INSERT INTO notices (village_id, title, status) VALUES (?, '暂停办酒通知', 'ready')",
                           [ids["yang"]]).lastrowid
    campaign_id = db.execute("""INSERT INTO campaigns (village_id, notice_id, name, channel, status, started_at)
                                VALUES (?, ?, '通知老人', 'voice', 'running', '2024-05-01T01:00:00.000Z')""",
                             [ids["yang"], notice_id]).lastrowid
    for rid, status, outcome in ((ids["res_a1"], "done", "answered"), (ids["res_a2"], "failed", "busy")):
        db.execute("""INSERT INTO outbox (campaign_id, resident_id, village_id, channel, to_e164, status, attempts,
                      outcome, heard_full) VALUES (?, ?, ?, 'voice', '+8613900001111', ?, 1, ?, 1)""",
                   [campaign_id, rid, ids["yang"], status, outcome])
    db.execute("""INSERT INTO responses (village_id, resident_id, campaign_id, notice_id, channel, kind, dedupe_key)
                  VALUES (?, ?, ?, ?, 'voice', 'ack', 'b1')""", [ids["yang"], ids["res_a1"], campaign_id, notice_id])
    db.close()
    yield {"notice_id": notice_id, "campaign_id": campaign_id, "granny": granny}
    cache.clear()


def test_official_reads_the_dashboard(page, live_server, log_in, sent):
    log_in(page, "official")
    page.locator("header nav a[href='/reach/']").click()  # the 统计 (Dashboard) link
    expect(page).to_have_url(re.compile(r"/reach/$"))
    charts = page.locator("svg.chart[role=img]")
    expect(charts).to_have_count(3)
    for i in range(3):  # every chart says in words what it shows
        assert charts.nth(i).locator("title").text_content().strip()
    row = page.locator("table.counts tbody tr", has_text="杨家坪村")
    expect(row).to_contain_text("暂停办酒通知")
    expect(row.locator("td").nth(2)).to_have_text("3")  # residents: 张秀英, 李德明, 孙奶奶
    # live counts of the running campaign arrive without a reload
    live = page.locator("tr.live", has_text="通知老人")
    expect(live.locator("[data-live-key='campaign.planned']")).to_have_text("2")
    expect(live.locator("[data-live-key='campaign.acknowledged']")).to_have_text("1")
    # an official never sees people
    page.goto(f"{live_server.url}/reach/notices/{sent['notice_id']}/people")
    expect(page.locator("main")).not_to_contain_text("张秀英")


def test_grid_worker_records_a_visit_on_a_phone(browser, live_server, app, sent):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE,
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login")
        page.locator("#username").fill("grid_a")
        page.locator("#password").fill("password123")
        page.locator("form.login button[type=submit]").click()
        expect(page).not_to_have_url(re.compile(r"/login"))
        page.goto(f"{live_server.url}/reach/door-knock")
        page.get_by_role("link", name="暂停办酒通知").click()
        card = page.locator(f"#r{sent['granny']}")
        expect(card).to_contain_text("孙奶奶")
        expect(page.locator("ul.door > li[data-resident]")).to_have_count(1)  # 李德明 is in another grid
        button = card.get_by_role("button", name=re.compile("告知|Informed"))
        box = button.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 150  # big enough for a thumb
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
        card.locator("textarea").fill("已当面告知，本人确认")
        button.click()
        expect(page.locator("main > p.flash")).to_contain_text("孙奶奶")
        expect(page.locator(f"#r{sent['granny']}")).to_have_count(0)
    finally:
        context.close()
    db = connect(app.config["DATABASE"])
    try:
        notice = state.notice_of(db, sent["notice_id"])
        assert state.state_of(db, notice, sent["granny"])["state"] == "acknowledged"
        assert db.execute("SELECT note FROM visits").fetchone()[0] == "已当面告知，本人确认"
    finally:
        db.close()
