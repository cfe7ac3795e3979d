"""Issue 3 in a real browser: a secretary makes a notice, uploads a voice memo with the loudspeaker
loop and chime, hears both renditions in the page, reads the checks, writes the SMS text against the
live counter, previews it for a resident — and a web page renamed .mp3 is refused in the page.

The test switches the UI to English at the start (the Chinese UI has its own tests in
test_registry_flow.py), so it can name what it expects; data and SMS text stay Chinese.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from outreach.notices import sms_text

pytestmark = pytest.mark.browser

CORPUS = Path(__file__).resolve().parents[1] / "audio" / "corpus"
SPEECH = CORPUS / "speech.m4a"        # AAC voice memo, no quality warnings expected
WEB_PAGE = CORPUS / "web_page.mp3"    # HTML renamed .mp3: must be refused as not audio
TITLE = "关于暂停举办宴席的通知"
SHORT_SMS = "{name}您好：即日起暂停举办各类宴席。"
# 71 Chinese characters: with the reply hint it no longer fits one UCS-2 message of 70.
LONG_BODY = ("各位村民：为做好疫情防控工作，经村两委研究决定，即日起本村暂停举办婚宴寿宴满月酒等各类宴席，"
             "已经定好日子的请及时与村委会联系，感谢理解支持配合")
LONG_SMS = "{name}您好。" + LONG_BODY

# Resolves to {"duration": s} once the element has read its metadata, or {"error": code}.
AUDIO_METADATA = """audio => new Promise(resolve => {
  const done = () => resolve({duration: audio.duration});
  audio.addEventListener("loadedmetadata", done, {once: true});
  audio.addEventListener("error", () => resolve({error: audio.error && audio.error.code}), {once: true});
  audio.preload = "metadata";
  audio.load();
})"""
FETCH_HEAD = """async src => {
  const r = await fetch(src, {credentials: "same-origin"});
  const body = await r.arrayBuffer();
  return {status: r.status, type: r.headers.get("content-type"), bytes: body.byteLength};
}"""
IMAGE_WIDTH = """img => img.complete ? img.naturalWidth : new Promise(resolve => {
  img.addEventListener("load", () => resolve(img.naturalWidth), {once: true});
  img.addEventListener("error", () => resolve(0), {once: true});
})"""
# Reports every state of the upload's progress bar and message to the test: the page reloads itself
# straight after a successful upload, so they cannot be read afterwards.
WATCH_UPLOAD = """() => {
  const form = document.getElementById("upload-form");
  const bar = form.querySelector("progress"), message = form.querySelector(".upload-message");
  const report = () => window.uploadSeen({value: bar.value, hidden: bar.hidden, message: message.textContent});
  new MutationObserver(report).observe(bar, {attributes: true, attributeFilter: ["value", "hidden"]});
  new MutationObserver(report).observe(message, {childList: true, characterData: true, subtree: true});
}"""


def expected_count(template: str) -> sms_text.SmsCount:
    """What the carrier will bill: the text with the reply instructions appended (the notice's default)."""
    sent = sms_text.with_reply_hint(template).replace("{reply_hint}", sms_text.DEFAULT_REPLY_HINT)
    return sms_text.count_segments(sent)


def media_folders(app) -> set[str]:
    media = app.config["MEDIA_DIR"]
    return set(os.listdir(media)) if os.path.isdir(media) else set()


def test_secretary_uploads_audio_and_writes_sms(page, live_server, log_in, app, ids, artifact):
    short, long_ = expected_count(SHORT_SMS), expected_count(LONG_SMS)
    # Worked by hand, so the page is not only checked against the library it calls: the reply hint is
    # 17 units; "{name}您好：…宴席。" is 21, so 38 fit one message of 70; "{name}您好。" 9 + 71 + "。" 1 + 17
    # = 98 need two parts of 67.
    assert len(LONG_BODY) == 71 and len(sms_text.DEFAULT_REPLY_HINT) == 17
    assert (short.encoding, short.chars, short.segments) == ("UCS-2", 38, 1)
    assert (long_.encoding, long_.chars, long_.segments) == ("UCS-2", 98, 2)

    log_in(page, "sec_a")
    page.goto(f"{live_server.url}/lang/en")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # A new notice from the Notices page.
    page.locator("header nav").get_by_role("link", name="Notices", exact=True).click()
    expect(page.get_by_role("heading", name="Notices", exact=True)).to_be_visible()
    page.locator("select[name=village_id]").select_option(str(ids["yang"]))
    page.locator("input[name=title]").fill(TITLE)
    page.get_by_role("button", name="New notice").click()
    expect(page).to_have_url(re.compile(r"/notices/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(TITLE)
    notice_url = page.url
    expect(page.locator("section.audio-asset")).to_have_count(0)

    # Upload with "loop 3×" and the chime; the progress bar fills, then the page shows the audio.
    seen = []
    page.expose_function("uploadSeen", lambda state: seen.append(state))
    page.evaluate(WATCH_UPLOAD)
    form = page.locator("#upload-form")
    form.locator("input[type=file]").set_input_files(str(SPEECH))
    form.locator("input[name=repeat]").fill("3")
    form.get_by_label("Attention chime first").check()
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/audio")) as posted:
        form.get_by_role("button", name="Upload").click()
    assert posted.value.status == 200
    asset = page.locator("section.audio-asset[data-language=mandarin]")
    expect(asset).to_have_count(1)  # the page reloaded itself onto the new audio
    assert page.url.split("#")[0] == notice_url
    assert any(not s["hidden"] for s in seen), f"the progress bar was never shown: {seen}"
    assert max(s["value"] for s in seen) == 100, f"the progress bar did not reach the end: {seen}"
    assert seen[-1]["message"] == "Audio processed.", seen

    # Both renditions play in the page: each source loads as audio and has a length.
    facts = asset.locator("p.muted").last
    expect(facts).to_contain_text("looped 3×")
    expect(facts).to_contain_text("with chime")
    players = asset.locator(".players audio")
    expect(players).to_have_count(2)
    durations, kept_src = {}, players.nth(0).get_attribute("src")
    for name, player in (("loudspeaker", players.nth(0)), ("telephone", players.nth(1))):
        src = player.get_attribute("src")
        assert src.endswith(f"/{name}")
        fetched = page.evaluate(FETCH_HEAD, src)
        assert fetched["status"] == 200 and fetched["type"].startswith("audio/"), (name, fetched)
        assert fetched["bytes"] > 1000, (name, fetched)
        loaded = player.evaluate(AUDIO_METADATA)
        assert "error" not in loaded, f"chromium could not play the {name} rendition: {loaded}"
        durations[name] = loaded["duration"]
    assert durations["telephone"] > 1.0
    # The loudspeaker version is the message three times over, with gaps and the chime; a phone call
    # plays it once.
    assert durations["loudspeaker"] > 3 * durations["telephone"] + 2, durations

    # The waveform is drawn on the server and loads as a picture; the checks are shown.
    waveform = asset.locator("img.waveform")
    assert waveform.evaluate(IMAGE_WIDTH) > 0
    expect(asset.locator(".flash")).to_have_text(re.compile("No problems found"))
    page.screenshot(path=str(artifact("notice-audio.png")), full_page=True)

    # The SMS text: Chinese makes it UCS-2; the counter warns once it needs a second message.
    sms = page.locator("form.sms-form").filter(has=page.locator("input[name=language][value=mandarin]"))
    box, counter = sms.locator("textarea[name=sms_text]"), sms.locator(".sms-counter")
    box.fill(SHORT_SMS)
    expect(counter).to_have_text(re.compile(rf"^UCS-2 · {short.chars} characters · 1 SMS \(70 characters each\)"))
    expect(counter).not_to_have_class(re.compile(r"\bwarning\b"))
    box.fill(LONG_SMS)
    expect(counter).to_have_text(
        re.compile(rf"^UCS-2 · {long_.chars} characters · {long_.segments} SMS \(67 characters each\)"))
    expect(counter).to_have_attribute("data-segments", str(long_.segments))
    expect(counter).to_have_class(re.compile(r"\bwarning\b"))
    sms.get_by_role("button", name="Save SMS text").click()
    expect(page.locator(".flash", has_text="SMS text saved.")).to_be_visible()
    sms = page.locator("form.sms-form").filter(has=page.locator("input[name=language][value=mandarin]"))
    expect(sms.locator("textarea[name=sms_text]")).to_have_value(LONG_SMS)
    expect(sms.locator(".sms-counter")).to_have_attribute("data-segments", str(long_.segments))

    # Preview for a real resident: the name is filled in, the reply instructions appended.
    page.locator("#preview-resident").select_option(str(ids["res_a1"]))
    preview = page.locator("pre.sms-preview")
    expect(preview).to_contain_text("张秀英您好。" + LONG_BODY)
    expect(preview).to_contain_text(sms_text.DEFAULT_REPLY_HINT)
    expect(preview).not_to_contain_text("{name}")
    page.screenshot(path=str(artifact("notice-sms.png")), full_page=True)

    # A web page renamed .mp3: a clear message in the page, nothing kept, the audio list unchanged.
    before = media_folders(app)
    form = page.locator("#upload-form")
    form.locator("input[type=file]").set_input_files(str(WEB_PAGE))
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/audio")) as posted:
        form.get_by_role("button", name="Upload").click()
    assert posted.value.status == 400
    message = form.locator(".upload-message")
    expect(message).to_have_text(re.compile(r"^Not accepted: This file is not audio we can use"))
    expect(message).to_have_class(re.compile(r"\berror\b"))
    form.screenshot(path=str(artifact("notice-upload-refused.png")))
    assert media_folders(app) == before
    page.reload()
    expect(page.locator("section.audio-asset")).to_have_count(1)
    expect(page.locator("section.audio-asset .players audio").first).to_have_attribute("src", kept_src)
