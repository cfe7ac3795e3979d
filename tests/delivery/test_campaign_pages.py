"""Campaign pages through the web: who may open what, the preview (counts, skip reasons, nothing sent),
start, pause/resume/cancel, the live progress JSON, and the demo resident's phone against a real simulator."""
import re

import pytest

from outreach.delivery import campaigns, dnc, interactions
from outreach.delivery.twilio_http import make_client
from outreach.notices import store
from outreach.registry.residents import ResidentInput, upsert
from phonesim import SimServer

ACCOUNT_SID = "AC" + "3" * 32
AUTH_TOKEN = "phone-page-token"
VILLAGE_NUMBER = "+8657100000009"
FORM = {"name": "宴席通知外呼", "channel": "voice", "max_attempts": "3", "wait_busy": "10", "wait_no_answer": "30",
        "wait_failed": "60", "window_start": "08:00", "window_end": "20:30", "throttle_per_s": "1",
        "machine_behaviour": "leave_message"}


@pytest.fixture
def notice_id(db, ids):
    return store.create(db, ids["yang"], "暂停举办宴席", "即日起暂停举办各类宴席，请按1表示收到。")


@pytest.fixture
def campaign_id(db, ids, notice_id):
    cid = campaigns.create(db, village_id=ids["yang"], notice_id=notice_id, name="外呼", channel="voice",
                           audience=campaigns.Audience(village_id=ids["yang"]))
    campaigns.start(db, cid, campaigns.outbox.now_utc())
    return cid


@pytest.fixture
def english(client, login):
    """sec_a (杨家坪村) logged in, pages in English (logging in resets the language)."""
    login(client, "sec_a")
    client.get("/lang/en")
    return client


def count(db, sql, params=()):
    return db.execute(sql, params).fetchone()[0]


def preview(client, notice_id, **fields):
    response = client.post(f"/campaigns/new?notice_id={notice_id}",
                           data={**FORM, "notice_id": notice_id, "action": "preview", **fields})
    page = response.get_data(as_text=True)
    found = re.search(r'data-count="(\d+)" data-total="(\d+)"', page)
    key = re.search(r'name="preview_key" value="(\w+)"', page)
    return response, page, (int(found[1]), int(found[2])) if found else None, key[1] if key else None


# ---- access --------------------------------------------------------------------------------------

PAGES = ["/campaigns", "/campaigns/new?notice_id={notice}", "/campaigns/{campaign}",
         "/campaigns/{campaign}/progress.json", "/villages/{yang}/do-not-call", "/villages/{yang}/do-not-call.csv"]
EXPECTED = {"admin": 200, "sec_a": 200, "sec_b": 404, "grid_a": 403, "official": 403, "official_east": 403}


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_access_matrix(client, login, ids, notice_id, campaign_id, url, username):
    login(client, username)
    status = client.get(url.format(**ids, notice=notice_id, campaign=campaign_id)).status_code
    expected = 200 if url == "/campaigns" and username == "sec_b" else EXPECTED[username]
    assert status == expected


@pytest.mark.parametrize("username,status", [("sec_b", 404), ("grid_a", 403), ("official", 403)])
def test_outsiders_cannot_pause_or_add_numbers(client, login, db, ids, campaign_id, username, status):
    login(client, username)
    assert client.post(f"/campaigns/{campaign_id}/pause").status_code == status
    assert client.post(f"/villages/{ids['yang']}/do-not-call", data={"phone": "13911112222"}).status_code == status
    assert count(db, "SELECT status FROM campaigns WHERE id = ?", [campaign_id]) == "running"
    assert count(db, "SELECT COUNT(*) FROM do_not_call") == 0


def test_campaign_list_shows_only_own_village(client, login, ids, campaign_id):
    login(client, "sec_b")
    assert f"/campaigns/{campaign_id}" not in client.get("/campaigns").get_data(as_text=True)
    login(client, "sec_a")
    assert f"/campaigns/{campaign_id}" in client.get("/campaigns").get_data(as_text=True)


# ---- preview and start ---------------------------------------------------------------------------

@pytest.fixture
def hard_cases(db, ids):
    """Three more residents of 杨家坪村: tagged no phone, number on the do-not-call list, opted out of SMS."""
    yang = ids["yang"]
    upsert(db, yang, ResidentInput(name="孙无机", phones=["+8613900005555"], birth_year=1940, tags={"no_phone"}))
    upsert(db, yang, ResidentInput(name="周勿扰", phones=["+8613900006666"], birth_year=1945))
    upsert(db, yang, ResidentInput(name="吴退订", phones=["+8613900007777"], birth_year=1950))
    dnc.add(db, yang, "139 0000 6666", "家属要求")
    interactions.opt_out(db, "+8613900007777", "sms")


def test_preview_counts_skip_reasons_and_sends_nothing(english, hard_cases, db, notice_id):
    response, page, (planned, total), key = preview(english, notice_id, channel="sms")
    assert response.status_code == 200 and key
    assert (planned, total) == (2, 5)
    skipped = dict(re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td></tr>", page))
    assert skipped == {"No phone, or tagged “no working phone”": "1", "On the do-not-call list": "1",
                       "Opted out of text messages": "1"}
    assert "张秀英" in page and "139 0000 1111" in page  # a sample; secretaries see numbers, as on the campaign page
    assert count(db, "SELECT COUNT(*) FROM outbox") == 0 and count(db, "SELECT COUNT(*) FROM campaigns") == 0

    # Opting out of texts does not stop a call.
    _response, _page, (planned, total), _key = preview(english, notice_id, channel="voice")
    assert (planned, total) == (3, 5)


def test_start_plans_exactly_the_previewed_audience(english, db, ids, notice_id):
    audience = {"grid_id": str(ids["grid1"]), "min_age": "70"}  # 一网格 includes its sub-grid 1小组
    _response, _page, (planned, _total), key = preview(english, notice_id, **audience)
    assert planned == 1
    response = english.post(f"/campaigns/new?notice_id={notice_id}",
                            data={**FORM, **audience, "notice_id": notice_id, "action": "start", "preview_key": key})
    assert response.status_code == 302
    cid = int(response.headers["Location"].rsplit("/", 1)[1])
    planned_rows = [tuple(r) for r in db.execute("SELECT resident_id, channel, to_e164, status FROM outbox "
                                                 "WHERE campaign_id = ?", [cid])]
    assert planned_rows == [(ids["res_a1"], "voice", "+8613900001111", "pending")]
    camp = campaigns.get(db, cid)
    assert camp["status"] == "running" and camp["window_start"] == "08:00" and camp["window_end"] == "20:30"
    detail = db.execute("SELECT detail FROM audit_log WHERE action = 'campaign_started'").fetchone()[0]
    assert '"planned": 1' in detail
    assert "张秀英" in english.get(f"/campaigns/{cid}").get_data(as_text=True)


def test_audience_filters_from_the_form(english, db, ids, notice_id, campaign_id):
    interactions.record_response(db, village_id=ids["yang"], kind="ack", channel="sms", dedupe_key="ack-a1",
                                 resident_id=ids["res_a1"], notice_id=notice_id)
    with db.conn:
        db.execute("UPDATE outbox SET status = 'done', outcome = 'answered' WHERE resident_id = ?", [ids["res_a1"]])
    cases = [({}, 2), ({"tags": "lives_alone"}, 1), ({"house_number": "2组010号"}, 1), ({"language": "重庆话"}, 0),
             ({"not_acknowledged_notice": str(notice_id)}, 1), ({"unreached_in_campaign": str(campaign_id)}, 1),
             ({"grid_id": str(ids["grid2"]), "min_age": "70"}, 0)]
    for fields, expected in cases:
        _response, page, (planned, _total), _key = preview(english, notice_id, **fields)
        assert planned == expected, fields
        assert ('value="start"' in page) == bool(expected)  # nothing to start for an empty audience


def test_start_refuses_an_audience_changed_since_the_preview(english, db, ids, notice_id):
    _response, _page, _counts, key = preview(english, notice_id)
    response = english.post(f"/campaigns/new?notice_id={notice_id}", data={
        **FORM, "notice_id": notice_id, "min_age": "70", "action": "start", "preview_key": key})
    assert response.status_code == 400
    assert "changed since the preview" in response.get_data(as_text=True)
    assert count(db, "SELECT COUNT(*) FROM campaigns") == 0


def test_settings_reach_the_campaign(english, db, notice_id):
    fields = {"channel": "voice_then_sms", "max_attempts": "5", "wait_busy": "5", "wait_no_answer": "45",
              "wait_failed": "90", "retry_until_ack": "1", "window_start": "09:00", "window_end": "18:00",
              "expires_at": "2099-01-01T08:00", "throttle_per_s": "2.5", "machine_behaviour": "hangup_retry"}
    _response, _page, _counts, key = preview(english, notice_id, **fields)
    response = english.post(f"/campaigns/new?notice_id={notice_id}",
                            data={**FORM, **fields, "notice_id": notice_id, "action": "start", "preview_key": key})
    camp = campaigns.get(db, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert camp["expires_at"] == "2099-01-01T00:00:00.000Z"  # 08:00 in Asia/Shanghai
    assert (camp["channel"], camp["max_attempts"], camp["retry_until_ack"], camp["throttle_per_s"]) == \
        ("voice_then_sms", 5, 1, 2.5)
    assert (camp["window_start"], camp["window_end"], camp["machine_behaviour"]) == ("09:00", "18:00", "hangup_retry")
    assert '"no-answer": 2700' in camp["retry_waits"] and '"busy": 300' in camp["retry_waits"]


@pytest.mark.parametrize("fields,message", [
    ({"max_attempts": "lots"}, "Attempts must be a number between 1 and 10."),
    ({"house_number": "9组999号"}, "No household with house number 9组999号 in this village."),
    ({"expires_at": "2001-01-01T08:00"}, "The expiry time has already passed."),
    ({"throttle_per_s": "0"}, "Sends per second must be a number between 0.05 and 100."),
])
def test_bad_values_are_shown_with_the_form_kept(english, db, notice_id, fields, message):
    response, page, counts, _key = preview(english, notice_id, name="保留这个名字", **fields)
    assert response.status_code == 400
    assert message in page and 'value="保留这个名字"' in page
    assert counts is None and count(db, "SELECT COUNT(*) FROM campaigns") == 0


def test_domain_refusal_at_start_is_shown_and_nothing_is_created(english, db, notice_id):
    _response, _page, _counts, key = preview(english, notice_id, window_start="25:00")
    response = english.post(f"/campaigns/new?notice_id={notice_id}", data={
        **FORM, "window_start": "25:00", "notice_id": notice_id, "action": "start", "preview_key": key})
    assert response.status_code == 400
    assert "Not started: bad window" in response.get_data(as_text=True)
    assert count(db, "SELECT COUNT(*) FROM campaigns") == 0 and count(db, "SELECT COUNT(*) FROM outbox") == 0


def test_notice_of_another_village_is_not_found(client, login, db, ids):
    other = store.create(db, ids["shimen"], "石门通知", "")
    login(client, "sec_a")
    assert client.post(f"/campaigns/new?notice_id={other}", data={**FORM, "notice_id": other,
                                                                   "action": "preview"}).status_code == 404


# ---- pause, resume, cancel -----------------------------------------------------------------------

def test_pause_resume_cancel_and_bad_transitions(client, login, db, campaign_id):
    login(client, "sec_a")
    status = lambda: count(db, "SELECT status FROM campaigns WHERE id = ?", [campaign_id])  # noqa: E731
    assert client.post(f"/campaigns/{campaign_id}/resume").status_code == 400
    assert client.post(f"/campaigns/{campaign_id}/pause").status_code == 302 and status() == "paused"
    assert client.post(f"/campaigns/{campaign_id}/pause").status_code == 400 and status() == "paused"
    assert client.post(f"/campaigns/{campaign_id}/resume").status_code == 302 and status() == "running"
    assert client.post(f"/campaigns/{campaign_id}/cancel").status_code == 302 and status() == "cancelled"
    assert client.post(f"/campaigns/{campaign_id}/resume").status_code == 400 and status() == "cancelled"
    assert client.post(f"/campaigns/{campaign_id}/cancel").status_code == 400
    assert {r[0] for r in db.execute("SELECT status FROM outbox WHERE campaign_id = ?", [campaign_id])} == {"cancelled"}
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE object_type = 'campaign' ORDER BY id")]
    assert actions == ["campaign_paused", "campaign_resumed", "campaign_cancelled"]
    assert client.get(f"/campaigns/{campaign_id}/pause").status_code == 405


# ---- live progress -------------------------------------------------------------------------------

def test_progress_json_counts_what_the_outbox_holds(client, login, db, ids, notice_id):
    yang = ids["yang"]
    people = [ids["res_a1"], ids["res_a2"]] + [
        upsert(db, yang, ResidentInput(name=f"村民{i}", phones=[f"+86139000100{i:02d}"], birth_year=1950))[0]
        for i in range(4)]
    cid = campaigns.create(db, village_id=yang, notice_id=notice_id, name="进度", channel="voice_then_sms",
                           audience=campaigns.Audience(village_id=yang))
    rows = [  # resident, channel, status, attempts, outcome, heard_full, error_code
        (people[0], "voice", "done", 1, "answered", 1, None),
        (people[1], "voice", "failed", 3, "busy", 0, None),
        (people[2], "voice", "retry", 1, "no-answer", 0, None),
        (people[3], "voice", "done", 2, "machine", 0, None),
        (people[3], "sms", "failed", 1, None, 0, 21610),
        (people[4], "voice", "expired", 0, None, 0, None),
        (people[5], "voice", "wired", 1, None, 0, None),
    ]
    with db.conn:
        db.execute("UPDATE campaigns SET status = 'running' WHERE id = ?", [cid])
        for resident, channel, status, attempts, outcome, heard, code in rows:
            db.execute("""INSERT INTO outbox (campaign_id, resident_id, village_id, channel, to_e164, status, attempts,
                          outcome, heard_full, error_code) VALUES (?, ?, ?, ?, '+8613900001111', ?, ?, ?, ?, ?)""",
                       [cid, resident, yang, channel, status, attempts, outcome, heard, code])
    interactions.record_response(db, village_id=yang, kind="ack", channel="voice", dedupe_key="a1",
                                 resident_id=people[0], campaign_id=cid, notice_id=notice_id)
    interactions.record_pledge(db, village_id=yang, channel="voice", dedupe_key="p1", resident_id=people[0],
                               campaign_id=cid, notice_id=notice_id, event_type="wedding")
    login(client, "sec_a")
    data = client.get(f"/campaigns/{cid}/progress.json").json
    assert data["status"] == "running" and data["total"] == 7 and data["finished"] == 5 and data["percent"] == 71
    assert data["funnel"] == {"planned": 7, "sent": 6, "reached": 2, "heard_full": 1, "acknowledged": 1,
                              "pledges": 1, "failed": 2, "expired": 1, "cancelled": 0, "waiting": 1, "in_flight": 1}
    assert data["outcomes"] == {"busy": 1, "no_answer": 1, "machine": 1, "failed": 0, "opted_out": 1}
    first = next(p for p in data["people"] if p["resident_id"] == people[0])
    assert first["phone"] == "139 0000 1111" and first["heard_full"] and first["attempts"] == 1
    assert first["status"] == "done" and first["outcome"] == "answered" and len(first["responses"]) == 1
    assert first["url"] == f"/residents/{people[0]}"
    assert len(data["people"]) == 7
    page = client.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert 'data-funnel="reached">2<' in page and "campaigns.js" in page


# ---- the resident's phone (demo) -----------------------------------------------------------------

def test_phone_pages_are_not_found_outside_demo_mode(app, client, login, ids):
    app.config.update(DEMO_MODE=False, PHONESIM_URL="http://127.0.0.1:9")
    login(client, "sec_a")
    assert client.get("/phone").status_code == 404
    assert client.get(f"/phone/{ids['res_a1']}").status_code == 404
    assert client.post(f"/phone/{ids['res_a1']}/reply", data={"body": "1"}).status_code == 404
    app.config.update(DEMO_MODE=True, PHONESIM_URL="")
    assert client.get("/phone").status_code == 404


@pytest.fixture
def phonesim(app):
    server = SimServer(ACCOUNT_SID, AUTH_TOKEN, seed="pages", step_ms=5, phone_number=VILLAGE_NUMBER,
                       interactive_timeout_s=10).start()
    app.config.update(DEMO_MODE=True, PHONESIM_URL=server.url, TWILIO_ACCOUNT_SID=ACCOUNT_SID,
                      TWILIO_AUTH_TOKEN=AUTH_TOKEN)
    yield server
    server.stop()


@pytest.mark.parametrize("username,url,status", [
    ("sec_a", "/phone", 200), ("grid_a", "/phone", 200), ("official", "/phone", 403),
    ("sec_b", "/phone/{res_a1}", 404), ("grid_a", "/phone/{res_a2}", 404), ("grid_a", "/phone/{res_a1}", 200)])
def test_phone_access(client, login, ids, phonesim, username, url, status):
    login(client, username)
    assert client.get(url.format(**ids)).status_code == status


def test_phone_page_shows_what_the_simulator_holds_and_acts_on_it(english, ids, phonesim):
    twilio = make_client(ACCOUNT_SID, AUTH_TOKEN, api_base_url=phonesim.url)
    twilio.messages.create(to="+8613900001111", from_=VILLAGE_NUMBER, body="【杨家坪村】即日起暂停举办宴席，回复1确认。")
    assert phonesim.sim.wait_idle(5)
    resident = ids["res_a1"]
    page = english.get(f"/phone/{resident}").get_data(as_text=True)
    assert "即日起暂停举办宴席" in page and "No calls yet." in page
    assert "即日起暂停举办宴席" in english.get(f"/phone/{resident}/state").get_data(as_text=True)

    reply = english.post(f"/phone/{resident}/reply", data={"body": "收到"}, headers={"X-Requested-With": "fetch"})
    assert reply.json["ok"]
    assert [m["body"] for m in phonesim.sim.record()["messages"] if m["from"] == "+8613900001111"] == ["收到"]

    pressed = english.post(f"/phone/{resident}/press", data={"digits": "1"}, headers={"X-Requested-With": "fetch"})
    assert not pressed.json["ok"] and "waiting for keys" in pressed.json["message"]
    assert english.post(f"/phone/{resident}/press", data={"digits": "5"}).status_code == 400

    assert english.post(f"/phone/{resident}/interactive", data={"interactive": "1"}).status_code == 302
    assert phonesim.sim.resident("+8613900001111").interactive


def test_interactive_phone_waits_for_a_key_pressed_on_the_page(english, ids, phonesim):
    number = "+8613900001111"
    phonesim.sim.put_resident(number, interactive=True)
    twilio = make_client(ACCOUNT_SID, AUTH_TOKEN, api_base_url=phonesim.url)
    twilio.calls.create(to=number, from_=VILLAGE_NUMBER, twiml='<Response><Gather numDigits="1">'
                        '<Say language="cmn-CN">听清楚了请按1</Say></Gather></Response>')
    for _ in range(200):
        page = english.get(f"/phone/{ids['res_a1']}/state").get_data(as_text=True)
        if 'data-waiting="1"' in page:
            break
        phonesim.sim.wait_idle(0.02)
    assert "A call is waiting for you to press a key." in page and "听清楚了请按1" in page
    assert english.post(f"/phone/{ids['res_a1']}/press", data={"digits": "1"},
                        headers={"X-Requested-With": "fetch"}).json["ok"]
    assert phonesim.sim.wait_idle(5)
    assert "Pressed 1" in english.get(f"/phone/{ids['res_a1']}/state").get_data(as_text=True)


def test_played_audio_of_this_app_plays_from_this_app(app):
    from outreach.delivery.phone_views import local_audio

    app.config["PUBLIC_BASE_URL"] = "https://dalaba.example.org"
    with app.test_request_context("/phone/1", base_url="http://127.0.0.1:5000"):
        assert local_audio("https://dalaba.example.org/media/t/abc.wav") == "/media/t/abc.wav"
        assert local_audio("http://127.0.0.1:5000/media/t/abc.wav?x=1") == "/media/t/abc.wav?x=1"
        assert local_audio("https://cdn.example.com/notice.mp3") is None  # the CSP would block it: a link instead
        assert local_audio(None) is None


def test_phone_page_says_when_the_simulator_is_down(app, english, ids):
    app.config.update(DEMO_MODE=True, PHONESIM_URL="http://127.0.0.1:9", TWILIO_ACCOUNT_SID=ACCOUNT_SID)
    response = english.get(f"/phone/{ids['res_a1']}")
    assert response.status_code == 200 and "The phone simulator did not answer" in response.get_data(as_text=True)
