"""The simulator playing Twilio's side against a receiver app that validates every signature."""
import time

import requests

from phonesim import SimServer

FROM = "+8657112345678"


def statuses(receiver, key, sid):
    return [p[key] for route, p, _ in receiver.hits if route in ("status", "flaky") and
            sid in (p.get("MessageSid"), p.get("CallSid"))]


def all_signed(receiver):
    return bool(receiver.hits) and all(valid for _, _, valid in receiver.hits)


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


# -- SMS ------------------------------------------------------------------------------------------

def test_sms_callbacks_arrive_in_order_and_signed(client, sim, receiver, reliable):
    reliable("+8613900000001")
    reliable("+861088880001")  # a Beijing landline
    reliable("+8613900000002", sms_fail_probability=1.0)
    sids = [client.messages.create(to=n, from_=FROM, body="通知", status_callback=f"{receiver.url}/status/{i}?d=é").sid
            for i, n in enumerate(["+8613900000001", "+861088880001", "+8613900000002"])]
    assert sim.wait_idle(5)
    assert statuses(receiver, "MessageStatus", sids[0]) == ["sent", "delivered"]
    assert statuses(receiver, "MessageStatus", sids[1]) == ["sent", "undelivered"]
    assert statuses(receiver, "MessageStatus", sids[2]) == ["failed"]
    codes = {p["MessageSid"]: p.get("ErrorCode") for r, p, _ in receiver.hits if r == "status"}
    assert (codes[sids[0]], codes[sids[1]], codes[sids[2]]) == (None, "30006", "30008")
    assert all_signed(receiver)
    assert [m["status"] for m in sim.record()["messages"]] == ["delivered", "undelivered", "failed"]
    assert [t["body"] for t in sim.phone("+8613900000001")["texts"]] == ["通知"]
    assert sim.phone("+861088880001")["texts"] == []


def test_resident_reply_reaches_app_signed_and_twiml_reply_reaches_phone(client, sim, receiver, reliable):
    reliable("+8613900000003", reply_probability=1.0, sms_reply="1")
    client.messages.create(to="+8613900000003", from_=FROM, body="收到请回复1")
    assert sim.wait_idle(5)
    [(_, form, valid)] = receiver.of("sms")
    assert (form["From"], form["To"], form["Body"], valid) == ("+8613900000003", FROM, "1", True)
    assert form["MessageSid"].startswith("SM")
    assert [t["body"] for t in sim.phone("+8613900000003")["texts"]] == ["收到请回复1", "收到: 1"]


def test_inbound_sms_through_control_api(server, receiver):
    auth = (server.config.account_sid, server.config.auth_token)
    answer = requests.post(server.url + "/sim/inbound/sms", json={"from": "+8613900000004", "body": "退订"},
                           auth=auth)
    assert answer.status_code == 201
    assert server.sim.wait_idle(5)
    [(_, form, valid)] = receiver.of("sms")
    assert valid and form["Body"] == "退订" and form["SmsSid"] == answer.json()["sid"]


def test_callback_failure_is_retried(client, sim, receiver, reliable):
    reliable("+8613900000005")
    sid = client.messages.create(to="+8613900000005", from_=FROM, body="x",
                                 status_callback=f"{receiver.url}/flaky/m1").sid
    assert sim.wait_idle(10)
    # The first delivery got 503 and was retried; nothing is lost or reordered.
    assert statuses(receiver, "MessageStatus", sid) == ["sent", "sent", "delivered"]
    tries = [c["attempts"] for c in sim.callbacks() if c["kind"] == "message-status"]
    assert tries == [2, 1]


def test_forged_signature_is_what_the_receiver_rejects(receiver, reliable):
    # A simulator signing with another token: the app must refuse, and the log shows it.
    other = SimServer("AC" + "6" * 32, "some-other-token", step_ms=5).start()
    try:
        other.sim.put_resident("+8613900000006", reply_probability=0.0)
        other.sim.configure(sms_url=receiver.url + "/sms")
        other.sim.inbound_sms("+8613900000006", "1")
        assert other.sim.wait_idle(5)
        assert [valid for _, _, valid in receiver.hits] == [False]
        assert [c["status"] for c in other.sim.callbacks()] == [403]
    finally:
        other.stop()


# -- calls ----------------------------------------------------------------------------------------

def test_answered_call_full_flow(client, sim, receiver, reliable):
    reliable("+8613900000011", keys=["1"])
    call = client.calls.create(
        to="+8613900000011", from_=FROM, url=receiver.url + "/voice/menu",
        status_callback=receiver.url + "/status/c1",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    assert sim.wait_idle(5)
    assert statuses(receiver, "CallStatus", call.sid) == ["initiated", "ringing", "in-progress", "completed"]
    [(_, voice, _)] = receiver.of("voice")
    assert (voice["CallSid"], voice["To"], voice["From"], voice["Direction"], voice["CallStatus"]) == (
        call.sid, "+8613900000011", FROM, "outbound-api", "in-progress")
    assert "AnsweredBy" not in voice  # no machine detection asked
    [(_, gather, _)] = receiver.of("gather")
    assert gather["Digits"] == "1" and gather["CallSid"] == call.sid
    assert len(receiver.of("audio")) == 1
    assert all_signed(receiver)
    completed = [p for r, p, _ in receiver.hits if r == "status" and p["CallStatus"] == "completed"][0]
    assert int(completed["CallDuration"]) >= 2  # the 2-second notice and the thanks
    events = sim.phone("+8613900000011")["calls"][0]["events"]
    play = [e for e in events if e["verb"] == "play"][0]
    assert play["fetched"] and play["format"] == "wav" and play["duration_s"] == 2.0 and play["complete"]
    assert [e["verb"] for e in events][-2:] == ["say", "hangup"]  # <Hangup> ended it: no "never said"
    assert not any(e.get("text") == "never said" for e in events)


def test_no_input_falls_through_and_redirect_is_followed(client, sim, receiver, reliable):
    reliable("+8613900000012", keys=[""])
    client.calls.create(to="+8613900000012", from_=FROM, url=receiver.url + "/voice/menu")
    assert sim.wait_idle(5)
    assert receiver.of("gather") == []
    assert len(receiver.of("goodbye")) == 1
    texts = [e.get("text") for e in sim.phone("+8613900000012")["calls"][0]["events"]]
    assert texts.index("no input") < texts.index("goodbye")


def test_busy_sends_only_completed_by_default(client, sim, receiver, reliable):
    reliable("+8613900000013", busy_probability=1.0)
    call = client.calls.create(to="+8613900000013", from_=FROM, url=receiver.url + "/voice/menu",
                               status_callback=receiver.url + "/status/c2")
    assert sim.wait_idle(5)
    assert statuses(receiver, "CallStatus", call.sid) == ["busy"]
    assert receiver.of("voice") == []
    assert client.calls(call.sid).fetch().status == "busy"


def test_machine_detection_reports_answered_by(client, sim, receiver, reliable):
    reliable("+8613900000014", answer_probability=0.0, voicemail_probability=1.0, keys=["1"])
    call = client.calls.create(to="+8613900000014", from_=FROM, url=receiver.url + "/voice/menu",
                               machine_detection="Enable", status_callback=receiver.url + "/status/c3",
                               status_callback_event=["answered", "completed"])
    assert sim.wait_idle(5)
    [(_, voice, _)] = receiver.of("voice")
    assert voice["AnsweredBy"] == "machine_start"
    assert [p["AnsweredBy"] for r, p, _ in receiver.hits if r == "status"] == ["machine_start"] * 2
    assert receiver.of("gather") == []  # voicemail never presses keys
    assert client.calls(call.sid).fetch().answered_by == "machine_start"


def test_impatient_resident_does_not_hear_the_whole_notice(client, sim, receiver, reliable):
    reliable("+8613900000015", patience_s=1.0)
    client.calls.create(to="+8613900000015", from_=FROM, url=receiver.url + "/voice/menu")
    assert sim.wait_idle(5)
    entry = sim.phone("+8613900000015")["calls"][0]
    play = [e for e in entry["events"] if e["verb"] == "play"][0]
    assert not play["complete"] and play["played_s"] == 1.0
    assert entry["ended_by"] == "resident" and receiver.of("gather") == []


def test_unfetchable_audio_is_recorded_and_skipped(client, sim, receiver, reliable):
    reliable("+8613900000020")
    client.calls.create(to="+8613900000020", from_=FROM, url=receiver.url + "/voice/broken-audio")
    assert sim.wait_idle(5)
    play, say = sim.phone("+8613900000020")["calls"][0]["events"]
    assert (play["verb"], play["fetched"], play["http_status"], play["complete"]) == ("play", False, 404, False)
    assert say["text"] == "after"


def test_redirect_loop_is_cut_by_the_loop_guard(client, sim, receiver, reliable):
    reliable("+8613900000016")
    call = client.calls.create(to="+8613900000016", from_=FROM, url=receiver.url + "/voice/loop")
    assert sim.wait_idle(10)
    assert len(receiver.of("loop")) == sim.config.max_fetches
    assert client.calls(call.sid).fetch().status == "completed"
    assert sim.phone("+8613900000016")["calls"][0]["ended_by"] == "loop-guard"


def test_inbound_call_runs_the_apps_voice_twiml(sim, receiver, reliable):
    reliable("+8613900000017", keys=["1"])
    sid = sim.inbound_call("+8613900000017")
    assert sim.wait_idle(5)
    [(_, voice, valid)] = receiver.of("voice")
    assert valid and (voice["CallSid"], voice["Direction"], voice["CallStatus"]) == (sid, "inbound", "ringing")
    assert (voice["From"], voice["To"]) == ("+8613900000017", FROM)
    assert receiver.of("gather")[0][1]["Digits"] == "1"


def test_interactive_phone_waits_for_a_person(client, server, sim, receiver):
    number = "+8613900000018"
    auth = (server.config.account_sid, server.config.auth_token)
    requests.put(f"{server.url}/sim/residents/{number}", json={"interactive": True}, auth=auth)
    client.calls.create(to=number, from_=FROM, url=receiver.url + "/voice/menu")
    waiting = wait_for(lambda: requests.get(f"{server.url}/sim/phones/{number}", auth=auth).json()["waiting"])
    assert waiting["num_digits"] == 1
    assert [e["verb"] for e in waiting["prompt"]] == ["play", "say"]
    assert receiver.of("gather") == []  # nothing happens until a person presses
    pressed = requests.post(f"{server.url}/sim/phones/{number}/press", json={"digits": "1"}, auth=auth)
    assert pressed.status_code == 200
    assert sim.wait_idle(5)
    assert receiver.of("gather")[0][1]["Digits"] == "1"
    reply = requests.post(f"{server.url}/sim/phones/{number}/reply", json={"body": "好"}, auth=auth)
    assert reply.status_code == 201 and sim.wait_idle(5)
    assert receiver.of("sms")[0][1]["Body"] == "好"


def test_interactive_phone_without_a_press_times_out_as_no_input(client, sim, receiver, reliable):
    reliable("+8613900000019", interactive=True)
    sim.configure(interactive_timeout_s=0.3)
    client.calls.create(to="+8613900000019", from_=FROM, url=receiver.url + "/voice/menu")
    assert sim.wait_idle(5)
    assert receiver.of("gather") == [] and len(receiver.of("goodbye")) == 1


def test_api_hangup_ends_a_call_in_progress(client, sim, receiver, reliable):
    reliable("+8613900000021", interactive=True)
    call = client.calls.create(to="+8613900000021", from_=FROM, url=receiver.url + "/voice/menu")
    wait_for(lambda: sim.phone("+8613900000021")["waiting"])
    assert client.calls(call.sid).update(status="completed").sid == call.sid
    assert sim.wait_idle(5)
    assert client.calls(call.sid).fetch().status == "completed"
    entry = sim.phone("+8613900000021")["calls"][0]
    assert entry["ended_by"] == "api" and receiver.of("gather") == []
