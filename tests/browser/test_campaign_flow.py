"""Issue 4 in a real browser: a secretary sends a notice to the elderly of 一网格 by phone with SMS
fallback, watches the progress move without reloading, and reads each person's outcome — through the
real twilio client (the dispatcher) and signed webhooks from the phone-network simulator.

Audience (杨家坪村, 一网格 and its sub-grid, aged 70 or more):
  张秀英 (82+, sub-grid)  answers and presses 1                   → acknowledged
  吴德福 (1948)           answers, 2 → 1 (wedding) → 1 (confirm)   → pledge
  孙明山 (1950)           never picks up                           → 2 calls, then an SMS that is delivered
  孙奶奶 (1938)           no phone                                 → skipped (no phone)
  郑大妈 (1945)           on the do-not-call list                  → skipped (do not call)
  周小军 (1990)           too young: not in the audience at all

The UI is switched to English at the start so the test can name what it expects.
"""
from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from outreach.db import connect
from outreach.delivery import dnc
from outreach.delivery.dispatcher import Dispatcher
from outreach.delivery.gateway import Gateway, GatewayConfig
from outreach.registry.residents import ResidentInput, upsert
from phonesim import SimServer

pytestmark = pytest.mark.browser

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "browser-campaign-token"
VILLAGE_NUMBER = "+8657100000009"
ACK, PLEDGE, SILENT = "+8613900001111", "+8613900005555", "+8613900006666"  # 张秀英, 吴德福, 孙明山
DO_NOT_CALL = "+8613900008888"
TICK_S = 0.1
CAMPAIGN_TIMEOUT_MS = 20_000  # the page polls every 2 s; the whole campaign takes a few seconds


class Worker:
    """The dispatcher process, played by a thread: ``tick()`` every 0.1 s once switched on.

    It starts switched off so the campaign page is open before anything is sent — the test must
    see the counters move in a page that does not reload.
    """

    def __init__(self, dispatcher: Dispatcher):
        self.dispatcher = dispatcher
        self.on, self.stop = threading.Event(), threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="test-dispatcher", daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.wait(TICK_S):
            if self.on.is_set():
                try:
                    self.dispatcher.tick()
                except Exception as exc:  # reported by the test, not lost in a thread
                    self.errors.append(exc)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.dispatcher.drain(10)
        self.dispatcher.close()


@pytest.fixture
def network(app, live_server):
    """Simulator (webhooks signed, pointed at the live server) and a dispatcher sending to it."""
    app.config.update(PUBLIC_BASE_URL=live_server.url, TWILIO_AUTH_TOKEN=AUTH_TOKEN)
    sim = SimServer(ACCOUNT_SID, AUTH_TOKEN, seed="browser", step_ms=5, phone_number=VILLAGE_NUMBER,
                    sms_url=f"{live_server.url}/twilio/inbound/sms",
                    voice_url=f"{live_server.url}/twilio/inbound/voice").start()
    config = GatewayConfig(ACCOUNT_SID, AUTH_TOKEN, "+15005550006", None, live_server.url, sim.url)
    worker = Worker(Dispatcher(app.config["DATABASE"], Gateway(config), workers=4))
    yield sim.sim, worker
    worker.close()
    sim.stop()


@pytest.fixture
def elders(app, db, ids, network):
    """The residents above, their phones' behaviour, and a ready notice with audio."""
    import pathlib

    from audio.process import process_upload
    from outreach.notices import store

    sim, _worker = network
    yang = ids["yang"]
    people = {"吴德福": (1948, [PLEDGE]), "孙明山": (1950, [SILENT]), "孙奶奶": (1938, []),
              "郑大妈": (1945, [DO_NOT_CALL]), "周小军": (1990, ["+8613900007777"])}
    for n, (name, (born, phones)) in enumerate(people.items()):
        upsert(db, yang, ResidentInput(name=name, phones=phones, grid_name="一网格", birth_year=born,
                                       house_number=f"1组0{20 + n}号"))
    dnc.add(db, yang, DO_NOT_CALL, "本人要求不再来电")
    steady = dict(answer_probability=1.0, busy_probability=0, voicemail_probability=0, patience_s=300)
    sim.put_resident(ACK, keys=["1"], **steady)
    sim.put_resident(PLEDGE, keys=["2", "1", "1"], **steady)  # pledge → 1 wedding → 1 confirm
    sim.put_resident(SILENT, answer_probability=0.0, busy_probability=0, voicemail_probability=0,
                     reply_probability=0, sms_fail_probability=0)

    notice_id = store.create(db, yang, "暂停举办宴席", "即日起暂停举办各类宴席。")
    store.update(db, notice_id, title="暂停举办宴席", text="即日起暂停举办各类宴席。", status="ready",
                 append_reply_hint=True)
    media = app.config["MEDIA_DIR"]
    folder, absolute = store.new_asset_folder(media)
    original = pathlib.Path(absolute) / "original"
    original.write_bytes((pathlib.Path(__file__).parents[1] / "audio" / "corpus" / "speech.m4a").read_bytes())
    store.add_audio(db, media, notice_id, "mandarin", "upload", folder, str(original),
                    process_upload(str(original), absolute))
    return notice_id


def calling_window(app, ids) -> tuple[str, str]:
    """A window around the village's present time (any hour the test runs at is inside it)."""
    db = connect(app.config["DATABASE"])
    try:
        tz = db.execute("SELECT timezone FROM villages WHERE id = ?", [ids["yang"]]).fetchone()[0]
    finally:
        db.close()
    now = datetime.now(ZoneInfo(tz))
    return (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=2)).strftime("%H:%M")


def person(page, name: str, channel: str):
    return page.locator("#people tr").filter(has=page.get_by_role("link", name=name, exact=True)) \
        .filter(has=page.get_by_role("cell", name=channel, exact=True))


def test_secretary_sends_to_the_elderly_of_a_grid(page, live_server, log_in, app, db, ids, network, elders,
                                                  artifact):
    sim, worker = network
    log_in(page, "sec_a")
    page.goto(f"{live_server.url}/lang/en")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # The notice, then "Send by phone and SMS".
    page.locator("header nav").get_by_role("link", name="Notices", exact=True).click()
    page.get_by_role("link", name="暂停举办宴席").click()
    page.get_by_role("link", name="Send by phone and SMS").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/new\?notice_id={elders}$"))

    # Who: grid 一网格 (its sub-grid included), aged 70 or more. How: call, then SMS.
    page.get_by_label("Grid").select_option(label="一网格")
    page.get_by_label("Aged at least").fill("70")
    page.get_by_label("Phone call, then SMS if not reached").check()
    page.get_by_label("Attempts per person").fill("2")
    for field in ("Wait after busy (minutes)", "Wait after no answer (minutes)",
                  "Wait after a failed call (minutes)"):
        page.get_by_label(field).fill("0")
    start, end = calling_window(app, ids)
    page.locator("input[name=window_start]").fill(start)
    page.locator("input[name=window_end]").fill(end)
    page.get_by_label("Sends per second").fill("10")
    page.get_by_role("button", name="Preview", exact=True).click()

    # Preview: how many, who is skipped and why — nothing sent yet.
    preview = page.locator("#preview")
    expect(preview.locator(".preview-count")).to_have_attribute("data-count", "3")
    expect(preview.locator(".preview-count")).to_have_attribute("data-total", "5")
    expect(preview.locator(".preview-count")).to_have_text(
        "3 people will be contacted, of 5 who match the audience.")
    expect(preview.get_by_role("heading", name="Skipped: 2")).to_be_visible()
    skipped = preview.locator("table.skipped tr")
    expect(skipped.filter(has_text="No phone")).to_contain_text("1")
    expect(skipped.filter(has_text="do-not-call")).to_contain_text("1")
    sample = preview.locator("table.sample tbody td:first-child")
    expect(sample).to_have_text(["张秀英", "吴德福", "孙明山"])
    page.screenshot(path=str(artifact("campaign-preview.png")), full_page=True)
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    assert sim.record()["calls"] == [] and sim.record()["messages"] == []

    page.get_by_role("button", name="Start: contact 3 people").click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+$"))
    expect(page.locator(".flash", has_text="Campaign started: 3 people will be contacted.")).to_be_visible()
    funnel = page.locator("#campaign .funnel")
    expect(funnel.locator("[data-funnel=planned]")).to_have_text("3")
    expect(funnel.locator("[data-funnel=sent]")).to_have_text("0")
    expect(page.locator("[data-field=status_label]")).to_have_text("Running")
    expect(page.locator("#people tr td:nth-child(5)")).to_have_text(["Waiting"] * 3)

    # The worker starts sending while the secretary watches the same page.
    page.evaluate("window.__sameDocument = 1")
    worker.on.set()
    expect(funnel.locator("[data-funnel=sent]")).not_to_have_text("0", timeout=CAMPAIGN_TIMEOUT_MS)
    expect(page.locator("[data-field=status_label]")).to_have_text("Finished", timeout=CAMPAIGN_TIMEOUT_MS)
    assert page.evaluate("window.__sameDocument") == 1, "the page reloaded instead of updating itself"
    assert not worker.errors, worker.errors

    # Counts: three calls answered or failed over to SMS, one acknowledgement, one pledge.
    expect(funnel.locator("[data-funnel=planned]")).to_have_text("4")  # the SMS fallback joined
    expect(funnel.locator("[data-funnel=sent]")).to_have_text("4")
    expect(funnel.locator("[data-funnel=reached]")).to_have_text("3")
    expect(funnel.locator("[data-funnel=acknowledged]")).to_have_text("1")
    expect(funnel.locator("[data-funnel=pledges]")).to_have_text("1")
    expect(funnel.locator("[data-funnel=failed]")).to_have_text("1")
    expect(page.locator("[data-outcome=no_answer]")).to_have_text("1")
    expect(page.locator("#campaign-progress")).to_have_js_property("value", 4)

    # Each person's outcome.
    ack = person(page, "张秀英", "Phone call")
    expect(ack).to_have_count(1)
    expect(ack.locator("td").nth(4)).to_have_text("Reached")
    expect(ack.locator("td").nth(5)).to_have_text(re.compile(r"^Answered\s+heard in full$"))
    expect(ack.locator("td").nth(6)).to_have_text("Acknowledged")
    pledge = person(page, "吴德福", "Phone call")
    expect(pledge.locator("td").nth(4)).to_have_text("Reached")
    expect(pledge.locator("td").nth(6)).to_contain_text("Pledge")
    called = person(page, "孙明山", "Phone call")
    expect(called.locator("td").nth(3)).to_have_text("2")
    expect(called.locator("td").nth(4)).to_have_text("Not reached")
    expect(called.locator("td").nth(5)).to_have_text("No answer")
    texted = person(page, "孙明山", "SMS")
    expect(texted.locator("td").nth(4)).to_have_text("Reached")
    expect(texted.locator("td").nth(5)).to_have_text("Delivered")
    expect(page.locator("#people tr")).to_have_count(4)
    for absent in ("孙奶奶", "郑大妈", "周小军"):
        expect(page.locator("#people")).not_to_contain_text(absent)
    page.screenshot(path=str(artifact("campaign-finished.png")), full_page=True)

    # The page told the truth: the simulator saw exactly these calls and texts.
    record = sim.record()
    calls = sorted(c["to"] for c in record["calls"])
    assert calls == sorted([ACK, PLEDGE, SILENT, SILENT])
    assert [m["to"] for m in record["messages"] if m["direction"].startswith("outbound")] == [SILENT]
    pledges = db.execute("SELECT event_type, channel FROM pledges").fetchall()
    assert [tuple(p) for p in pledges] == [("wedding", "voice")]
