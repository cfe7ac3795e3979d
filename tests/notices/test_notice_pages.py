"""Notices through the web: create, upload real audio, hear renditions, SMS scripts, access."""
import io
import os
import pathlib

import pytest

CORPUS = pathlib.Path(__file__).parent.parent / "audio" / "corpus"


@pytest.fixture
def notice_id(client, login, ids):
    client.get("/lang/en")  # assertions below read the English texts
    login(client, "sec_a")
    response = client.post("/notices/new", data={"village_id": ids["yang"], "title": "暂停举办宴席",
                                                 "text": "各位村民：即日起暂停举办婚宴寿宴，请按1表示收到。"})
    assert response.status_code == 302
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def media_files(app):
    return sorted(p for p in pathlib.Path(app.config["MEDIA_DIR"]).rglob("*") if p.is_file())


def test_upload_makes_both_renditions_and_shows_them(client, notice_id, app):
    with open(CORPUS / "speech.m4a", "rb") as fh:
        response = client.post(f"/notices/{notice_id}/audio", data={
            "file": (fh, "通知.mp3"), "language": "mandarin", "repeat": "3", "chime": "1"},
            content_type="multipart/form-data", headers={"X-Requested-With": "fetch"})
    assert response.status_code == 200 and response.json["ok"], response.json
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "LUFS" in page and "waveform.svg" in page
    asset_links = [part.split('"')[0] for part in page.split('src="/audio/')[1:]]
    assert any(link.endswith("/loudspeaker") for link in asset_links)
    speaker = client.get("/audio/" + next(l for l in asset_links if l.endswith("/loudspeaker")))
    assert speaker.status_code == 200 and speaker.mimetype == "audio/mpeg" and len(speaker.data) > 10_000
    phone = client.get("/audio/" + next(l for l in asset_links if l.endswith("/telephone")))
    assert phone.data[:4] == b"RIFF" and phone.data[20:22] == b"\x07\x00"  # WAVE_FORMAT_MULAW
    svg = client.get("/audio/" + next(l for l in asset_links if l.endswith("/telephone")).split("/")[0]
                     + "/waveform.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data


def test_rejected_upload_leaves_nothing_and_says_why(client, notice_id, app):
    before = media_files(app)
    response = client.post(f"/notices/{notice_id}/audio", data={
        "file": (io.BytesIO(b"<html><body>not audio</body></html>"), "../../etc/passwd.mp3")},
        content_type="multipart/form-data", headers={"X-Requested-With": "fetch"})
    assert response.status_code == 400
    assert "not audio" in response.json["message"]
    assert media_files(app) == before
    assert not list(pathlib.Path(app.config["MEDIA_DIR"]).iterdir())


def test_quality_warnings_are_shown(client, notice_id):
    with open(CORPUS / "too_quiet.wav", "rb") as fh:
        client.post(f"/notices/{notice_id}/audio", data={"file": (fh, "quiet.wav"), "language": "mandarin"},
                    content_type="multipart/form-data")
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "very quiet" in page


def test_oversize_upload_is_refused_cleanly(client, notice_id, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post(f"/notices/{notice_id}/audio", data={
        "file": (io.BytesIO(b"\0" * 4096), "big.wav")}, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_public_telephone_link_needs_the_token(client, notice_id, db):
    with open(CORPUS / "speech.m4a", "rb") as fh:
        client.post(f"/notices/{notice_id}/audio", data={"file": (fh, "a.mp3"), "language": "mandarin"},
                    content_type="multipart/form-data")
    token = db.execute("SELECT public_token FROM audio_assets").fetchone()[0]
    client.post("/logout")
    assert client.get(f"/media/t/{token}.wav").data[:4] == b"RIFF"
    assert client.get(f"/media/t/{token[:-2]}xx.wav").status_code == 404
    assert client.get("/audio/1/telephone").status_code == 302  # the private route needs a login


def test_synthetic_draft_is_labelled(client, notice_id):
    response = client.post(f"/notices/{notice_id}/tts", data={"language": "mandarin"},
                           headers={"X-Requested-With": "fetch"})
    if response.status_code == 503:
        pytest.fail("espeak-ng missing: " + response.json["message"])
    assert response.status_code == 200, response.json
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "Synthetic speech" in page and "familiar voice" in page


def test_fallback_chain_for_a_dialect(client, notice_id):
    with open(CORPUS / "speech.m4a", "rb") as fh:
        client.post(f"/notices/{notice_id}/audio", data={"file": (fh, "a.mp3"), "language": "mandarin"},
                    content_type="multipart/form-data")
    client.post(f"/notices/{notice_id}/sms", data={"language": "重庆话", "sms_text": "{name}，莫办酒席了。"})
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "recording in 重庆话 ✗" in page and "recording in Mandarin ✓" in page


def test_sms_counter_and_preview(client, notice_id, ids):
    count = client.post("/notices/sms-count", data={"text": "a" * 160}).json
    assert (count["encoding"], count["segments"]) == ("GSM-7", 1)
    count = client.post("/notices/sms-count", data={"text": "通" * 71}).json
    assert (count["encoding"], count["segments"]) == ("UCS-2", 2)
    client.post(f"/notices/{notice_id}/sms", data={"language": "mandarin", "sms_text": "{name}您好，{village}通知"})
    preview = client.get(f"/notices/{notice_id}/sms/preview?resident_id={ids['res_a1']}").json
    assert preview["text"].startswith("张秀英您好，杨家坪村通知") and "回复1表示收到" in preview["text"]


def test_unknown_placeholder_is_refused(client, notice_id, db):
    response = client.post(f"/notices/{notice_id}/sms", data={"language": "mandarin", "sms_text": "{phone}"},
                           follow_redirects=True)
    assert "unknown placeholder" in response.get_data(as_text=True)
    assert db.execute("SELECT COUNT(*) FROM notice_variants").fetchone()[0] == 0


def test_other_village_secretary_gets_404(client, notice_id, login):
    client.post("/logout")
    login(client, "sec_b")
    assert client.get(f"/notices/{notice_id}").status_code == 404
    assert client.post(f"/notices/{notice_id}/audio", data={}).status_code == 404
