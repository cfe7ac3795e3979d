"""No double sends, no lost sends: crashes, 429 storms, forged and repeated webhooks."""
from datetime import timedelta

import pytest
from twilio.request_validator import RequestValidator

from outreach.delivery import campaigns, outbox as ob
from outreach.delivery.dispatcher import Dispatcher
from outreach.delivery.gateway import Gateway
from outreach.registry.residents import ResidentInput, upsert


def add_residents(db, village_id, n, prefix="+86139100"):
    for i in range(n):
        upsert(db, village_id, ResidentInput(name=f"村民{i:04d}", phones=[f"{prefix}{i:05d}"],
                                             house_number=f"8组{i:04d}号", birth_year=1940 + i % 60))


def sent_to(sim, kind="messages"):
    """Numbers the simulator received outbound sends for, with how many times each."""
    counts = {}
    for row in sim.record()[kind]:
        if row.get("direction", "outbound-api") == "outbound-api":
            counts[row["to"]] = counts.get(row["to"], 0) + 1
    return counts


def test_300_residents_match_the_simulator_exactly(network, notice, ids, db):
    add_residents(db, ids["yang"], 300)
    campaign_id = network.campaign(notice, ids["yang"], "sms")
    network.run_until_done(campaign_id, timeout_s=120)
    network.sim.sim.wait_idle(20)
    planned = {r[0] for r in db.execute("SELECT to_e164 FROM outbox WHERE campaign_id = ?", [campaign_id])}
    counts = sent_to(network.sim.sim)
    assert len(planned) == 302
    assert set(counts) == planned and set(counts.values()) == {1}  # no one twice, no one missing
    sim_status = {m["to"]: m["status"] for m in network.sim.sim.record()["messages"]
                  if m.get("direction") == "outbound-api"}
    ours = dict(db.execute("SELECT to_e164, status FROM outbox WHERE campaign_id = ?", [campaign_id]).fetchall())
    for number, status in sim_status.items():
        assert ours[number] == ("done" if status == "delivered" else "failed"), number


def test_429_and_500_storms_still_send_everyone_once(network, notice, ids, db):
    add_residents(db, ids["yang"], 60)
    network.sim.sim.configure(error_429=0.2, error_500=0.05)
    network.dispatcher.retry_after_429_s = 0.05
    campaign_id = network.campaign(notice, ids["yang"], "sms")
    deadline_rounds = 0
    while True:
        network.dispatcher.tick()
        network.dispatcher.drain(10)
        # A 500 leaves the row "unknown"; reconciliation asks the provider before any resend.
        network.dispatcher.reconcile(ob.now_utc(), stale_after=timedelta(0))
        status = db.execute("SELECT status FROM campaigns WHERE id = ?", [campaign_id]).fetchone()[0]
        deadline_rounds += 1
        if status == "done" or deadline_rounds > 400:
            break
    network.sim.sim.configure(error_429=0, error_500=0)
    network.sim.sim.wait_idle(10)
    assert status == "done"
    counts = sent_to(network.sim.sim)
    assert len(counts) == 62 and set(counts.values()) == {1}


def test_crash_after_claim_before_send_is_sent_once(network, notice, ids, db, app):
    campaign_id = network.campaign(notice, ids["yang"], "sms")
    claimed = ob.claim(db, [r["id"] for r in ob.due(db, ob.now_utc(), 10)], "dead-worker", ob.now_utc())
    assert len(claimed) == 2  # the intent is committed; then the worker "dies"
    fresh = Dispatcher(app.config["DATABASE"], Gateway(network.config))
    try:
        assert fresh.reconcile(ob.now_utc(), stale_after=timedelta(0)) == 2  # nothing found at the provider
        for _ in range(100):
            fresh.tick()
            fresh.drain(5)
            if db.execute("SELECT status FROM campaigns WHERE id = ?", [campaign_id]).fetchone()[0] == "done":
                break
    finally:
        fresh.close()
    network.sim.sim.wait_idle(10)
    assert set(sent_to(network.sim.sim).values()) == {1} and len(sent_to(network.sim.sim)) == 2


def test_crash_after_send_before_record_is_not_resent(network, notice, ids, db, app):
    network.sim.sim.configure(step_ms=400)  # callbacks slower than the crash recovery below
    campaign_id = network.campaign(notice, ids["yang"], "sms")
    claimed = ob.claim(db, [r["id"] for r in ob.due(db, ob.now_utc(), 10)], "dead-worker", ob.now_utc())
    gateway = Gateway(network.config)
    for row in claimed:  # the provider accepts, then the worker dies before storing the sid
        body = "即日起暂停举办各类宴席。回复1表示收到，回复2承诺取消聚集"
        db.execute("UPDATE attempts SET body = ? WHERE id = ?", [body, row["attempt_id"]])
        gateway.send_sms(row["to_e164"], body, gateway.url(f"/twilio/status/{row['attempt_id']}"))
    fresh = Dispatcher(app.config["DATABASE"], Gateway(network.config))
    try:
        fresh.reconcile(ob.now_utc(), stale_after=timedelta(0))
        states = {r[0] for r in db.execute("SELECT status FROM outbox WHERE campaign_id = ?", [campaign_id])}
        assert states <= {"wired", "done"}
        network.sim.sim.configure(step_ms=5)
        for _ in range(200):
            fresh.tick()
            if db.execute("SELECT status FROM campaigns WHERE id = ?", [campaign_id]).fetchone()[0] == "done":
                break
            network.sim.sim.wait_idle(0.2)
    finally:
        fresh.close()
    assert set(sent_to(network.sim.sim).values()) == {1}


def _signed_post(client, network, path, params, token=None, sign_url=None):
    url = network.url + path
    signature = RequestValidator(token or network.config.auth_token).compute_signature(sign_url or url, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def test_forged_unsigned_and_replayed_webhooks_are_rejected(network, ids, db, client):
    params = {"From": "+8613900001111", "Body": "1", "MessageSid": "SMforged"}
    assert client.post("/twilio/inbound/sms", data=params).status_code == 403
    assert _signed_post(client, network, "/twilio/inbound/sms", params, token="wrong").status_code == 403
    # A genuine signature for another URL, replayed here.
    assert _signed_post(client, network, "/twilio/inbound/sms", params,
                        sign_url=network.url + "/twilio/inbound/voice").status_code == 403
    tampered = dict(params, Body="2")
    signature = RequestValidator(network.config.auth_token).compute_signature(network.url + "/twilio/inbound/sms", params)
    assert client.post("/twilio/inbound/sms", data=tampered,
                       headers={"X-Twilio-Signature": signature}).status_code == 403
    for table in ("responses", "webhook_events", "inbox", "pledges"):
        assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table
    assert _signed_post(client, network, "/twilio/inbound/sms", params).status_code == 200


def test_duplicate_and_out_of_order_callbacks(network, notice, ids, db, client):
    campaign_id = network.campaign(notice, ids["yang"], "sms",
                                   audience=campaigns.Audience(village_id=ids["yang"], resident_ids=[ids["res_a1"]]))
    row = ob.claim(db, [r["id"] for r in ob.due(db, ob.now_utc(), 10)], "test", ob.now_utc())[0]
    path = f"/twilio/status/{row['attempt_id']}"
    base = {"MessageSid": "SMtest1", "To": row["to_e164"], "AccountSid": "AC"}
    for status in ("delivered", "sent", "delivered", "queued", "undelivered"):
        assert _signed_post(client, network, path, dict(base, MessageStatus=status)).status_code == 204
    attempt = db.execute("SELECT status, provider_sid FROM attempts WHERE id = ?", [row["attempt_id"]]).fetchone()
    assert tuple(attempt) == ("delivered", "SMtest1")
    out = db.execute("SELECT status, outcome, provider_sid FROM outbox WHERE id = ?", [row["id"]]).fetchone()
    assert tuple(out) == ("done", "delivered", "SMtest1")  # matched by our id though the send was never recorded


def test_stop_opts_out_and_later_campaigns_skip_the_number(network, notice, ids, db):
    network.sim.sim.inbound_sms("+8613900001111", "退订")
    network.sim.sim.wait_idle(10)
    assert db.execute("SELECT source FROM opt_outs WHERE e164 = '+8613900001111'").fetchone()[0] == "sms"
    selection = campaigns.select_targets(db, campaigns.Audience(village_id=ids["yang"]), "sms")
    assert selection.skipped["opted_out"] == 1 and len(selection.targets) == 1


def test_replay_line_plays_the_latest_notice(network, notice, ids, db):
    network.sim.sim.put_resident("+8613900001111", keys=["1"], patience_s=300)
    network.sim.sim.inbound_call("+8613900001111")
    network.sim.sim.wait_idle(20)
    call = network.sim.sim.phone("+8613900001111")["calls"][-1]
    plays = [e for e in call["events"] if e["verb"] == "play"]
    assert plays and plays[0]["fetched"] and plays[0]["complete"]
    kinds = [tuple(r) for r in db.execute("SELECT kind, channel FROM responses WHERE resident_id = ?", [ids["res_a1"]])]
    assert kinds == [("ack", "replay")]


def test_a_late_callback_of_an_earlier_attempt_does_not_touch_the_next(network, notice, ids, db, client):
    """Attempt 1 ended busy and attempt 2 is claimed: a repeated "busy" for attempt 1 must not mark
    the row wired (attempt 2 was never sent, and a crash now must still lead to its reconciliation)."""
    campaign_id = network.campaign(notice, ids["yang"], "voice", max_attempts=3,
                                   audience=campaigns.Audience(village_id=ids["yang"], resident_ids=[ids["res_a1"]]))
    first = ob.claim(db, [r["id"] for r in ob.due(db, ob.now_utc(), 10)], "test", ob.now_utc())[0]
    ob.mark_wired(db, first["id"], first["attempt_id"], "CAfirst", ob.now_utc())
    busy = {"CallSid": "CAfirst", "CallStatus": "busy", "To": first["to_e164"]}
    assert _signed_post(client, network, f"/twilio/status/{first['attempt_id']}", busy).status_code == 204
    row = db.execute("SELECT status, attempts FROM outbox WHERE id = ?", [first["id"]]).fetchone()
    assert tuple(row) == ("retry", 1)
    second = ob.claim(db, [first["id"]], "test", ob.now_utc())[0]
    assert second["attempt_id"] != first["attempt_id"]
    assert _signed_post(client, network, f"/twilio/status/{first['attempt_id']}", busy).status_code == 204
    row = db.execute("SELECT status, attempts, provider_sid FROM outbox WHERE id = ?", [first["id"]]).fetchone()
    assert tuple(row) == ("sending", 1, "CAfirst")
