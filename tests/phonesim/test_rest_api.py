"""The simulator's REST API, driven through the real twilio client (make_client → RedirectingHttpClient)."""
import datetime as dt
import time

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from outreach.delivery.twilio_http import RedirectingHttpClient, make_client

FROM = "+8657112345678"


def test_rewrite_keeps_path_and_query():
    http = RedirectingHttpClient("http://127.0.0.1:8081")
    url = "https://api.sydney.au1.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=%2B8613&Page=2"
    assert http.rewrite(url) == "http://127.0.0.1:8081/2010-04-01/Accounts/AC1/Messages.json?To=%2B8613&Page=2"


@pytest.mark.parametrize("bad", ["127.0.0.1:8081", "http://127.0.0.1:8081/api", "ftp://x"])
def test_base_url_must_be_an_origin(bad):
    with pytest.raises(ValueError):
        RedirectingHttpClient(bad)


def test_create_message_answers_201_and_client_parses_it(client, server, reliable):
    reliable("+8613800000001")
    msg = client.messages.create(to="+8613800000001", from_=FROM, body="今晚八点开会")
    assert server.sim.store.get("message", msg.sid) is not None
    assert msg.sid.startswith("SM") and len(msg.sid) == 34
    assert (msg.status, msg.to, msg.from_, msg.body) == ("queued", "+8613800000001", FROM, "今晚八点开会")
    assert isinstance(msg.date_created, dt.datetime)
    assert msg.direction == "outbound-api"
    assert client.http_client._test_only_last_response.status_code == 201


def test_messaging_service_send_is_accepted_then_gets_a_from(client, sim, reliable):
    reliable("+8613800000001")
    msg = client.messages.create(to="+8613800000001", messaging_service_sid="MG" + "1" * 32, body="hi")
    assert msg.status == "accepted" and msg.from_ is None
    assert sim.wait_idle(5)
    fetched = client.messages(msg.sid).fetch()
    assert fetched.status == "delivered" and fetched.from_ == sim.config.phone_number


def test_create_call_then_fetch_final_state(client, sim, reliable):
    reliable("+8613800000002", keys=[])
    call = client.calls.create(to="+8613800000002", from_=FROM,
                               twiml="<Response><Say>通知</Say></Response>")
    assert call.sid.startswith("CA") and call.status == "queued" and call.to == "+8613800000002"
    assert sim.wait_idle(5)
    done = client.calls(call.sid).fetch()
    assert done.status == "completed"
    assert int(done.duration) >= 1
    assert isinstance(done.start_time, dt.datetime) and done.end_time >= done.start_time


def test_fetch_unknown_sid_is_404(client):
    with pytest.raises(TwilioRestException) as err:
        client.messages("SM" + "0" * 32).fetch()
    assert err.value.status == 404 and err.value.code == 20404


def test_list_filters_by_to_and_follows_pages(client, sim):
    for i in range(5):
        client.messages.create(to="+8613800000011", from_=FROM, body=f"n{i}")
    client.messages.create(to="+8613800000012", from_=FROM, body="other")
    listed = client.messages.list(to="+8613800000011", page_size=2)
    assert sorted(m.body for m in listed) == [f"n{i}" for i in range(5)]
    assert [m.body for m in client.messages.list(to="+8613800000012")] == ["other"]
    assert client.messages.list(to="+8613800000011", limit=3, page_size=2)[0].body == "n4"


def test_list_by_date_sent(client, sim):
    client.messages.create(to="+8613800000013", from_=FROM, body="today")
    assert sim.wait_idle(5)
    now = dt.datetime.now(dt.timezone.utc)
    assert len(client.messages.list(to="+8613800000013", date_sent_after=now - dt.timedelta(hours=1))) == 1
    assert client.messages.list(to="+8613800000013", date_sent_after=now + dt.timedelta(hours=1)) == []
    assert len(client.messages.list(date_sent=now.date())) >= 1


def test_list_calls_by_to_and_status(client, sim, reliable):
    reliable("+8613800000014", has_working_phone=False)
    call = client.calls.create(to="+8613800000014", from_=FROM, url="http://127.0.0.1:9/never")
    assert sim.wait_idle(5)
    assert [c.sid for c in client.calls.list(to="+8613800000014", status="failed")] == [call.sid]
    assert client.calls.list(to="+8613800000014", status="completed") == []


def test_bad_credentials_are_refused(server):
    wrong = make_client(server.config.account_sid, "not-the-token", api_base_url=server.url)
    with pytest.raises(TwilioRestException) as err:
        wrong.messages.create(to="+8613800000001", from_=FROM, body="x")
    assert err.value.status == 401 and err.value.code == 20003
    assert server.sim.record()["messages"] == []


@pytest.mark.parametrize("to", ["13800000001", "+0123456789", "+86abc", "+1234"])
def test_invalid_to_number_is_21211(client, to):
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=to, from_=FROM, body="x")
    assert err.value.status == 400 and err.value.code == 21211
    with pytest.raises(TwilioRestException) as err:
        client.calls.create(to=to, from_=FROM, url="http://127.0.0.1:9/x")
    assert err.value.code == 21211


def test_stop_opts_out_until_start(client, sim):
    number = "+8613800000021"
    client.messages.create(to=number, from_=FROM, body="first")
    sim.inbound_sms(number, "STOP")
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=number, from_=FROM, body="second")
    assert err.value.status == 400 and err.value.code == 21610
    sim.inbound_sms(number, "start")
    assert client.messages.create(to=number, from_=FROM, body="third").status == "queued"
    bodies = [m["body"] for m in sim.record()["messages"] if m["direction"] == "outbound-api"]
    assert bodies == ["first", "third"]


def test_injected_429_surfaces_as_twilio_rest_exception(client, sim):
    sim.configure(error_429=1.0)
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to="+8613800000001", from_=FROM, body="x")
    assert err.value.status == 429 and err.value.code == 20429
    sim.configure(error_429=0.0, error_500=1.0)
    with pytest.raises(TwilioRestException) as err:
        client.calls.create(to="+8613800000001", from_=FROM, url="http://127.0.0.1:9/x")
    assert err.value.status == 500
    assert sim.record() == {"messages": [], "calls": [], "pending": 0}


def test_error_rate_is_roughly_the_configured_share(client, sim):
    sim.configure(error_429=0.3)
    failures = 0
    for i in range(100):
        try:
            client.messages.create(to="+8613800000031", from_=FROM, body=str(i))
        except TwilioRestException as err:
            assert err.code == 20429
            failures += 1
    assert 15 <= failures <= 45
    sent = [m for m in sim.record()["messages"] if m["direction"] == "outbound-api"]
    assert len(sent) == 100 - failures


def test_latency_is_added_to_api_calls(client, sim):
    sim.configure(latency_ms=150)
    started = time.monotonic()
    client.messages.create(to="+8613800000001", from_=FROM, body="slow")
    assert time.monotonic() - started >= 0.15


def test_region_setting_still_reaches_the_simulator(server, monkeypatch):
    # TWILIO_REGION changes the host the client builds; the http client rewrites it anyway.
    monkeypatch.setenv("TWILIO_REGION", "au1")
    client = make_client(server.config.account_sid, server.config.auth_token, api_base_url=server.url)
    assert client.messages.create(to="+8613800000001", from_=FROM, body="x").status == "queued"


def test_control_api_needs_auth_and_sets_residents(server):
    base = server.url + "/sim"
    assert requests.get(base + "/health").json() == {"ok": True}
    assert requests.get(base + "/record").status_code == 401
    auth = (server.config.account_sid, server.config.auth_token)
    put = requests.put(base + "/residents/%2B8613800000041", json={"age": 83, "keys": ["2", "1"]},
                       auth=auth)
    assert put.status_code == 200 and put.json()["age"] == 83
    assert requests.get(base + "/residents/+8613800000041", auth=auth).json()["keys"] == ["2", "1"]
    bad = requests.put(base + "/residents/+8613800000041", json={"shoe_size": 3}, auth=auth)
    assert bad.status_code == 400 and "shoe_size" in bad.json()["error"]
    assert requests.post(base + "/phones/+8613800000041/press", json={"digits": "1"},
                         auth=auth).status_code == 409
