"""Campaigns against the simulator: the real twilio client out, signed webhooks back."""
from outreach.delivery import campaigns


def outbox(db, campaign_id):
    return {r["resident_id"]: dict(r) for r in db.execute("SELECT * FROM outbox WHERE campaign_id = ?", [campaign_id])}


def test_sms_campaign_is_delivered_and_a_reply_acknowledges(network, notice, ids, db):
    for number in ("+8613900001111", "+8613900002222"):
        network.sim.sim.put_resident(number, reply_probability=0, sms_fail_probability=0)
    campaign_id = network.campaign(notice, ids["yang"], "sms")
    network.run_until_done(campaign_id)
    rows = outbox(db, campaign_id)
    assert {r: rows[r]["status"] for r in rows} == {ids["res_a1"]: "done", ids["res_a2"]: "done"}
    texts = network.sim.sim.phone("+8613900001111")["texts"]
    assert len(texts) == 1 and texts[0]["body"].startswith("即日起暂停举办各类宴席") and "回复1表示收到" in texts[0]["body"]
    network.sim.sim.inbound_sms("+8613900001111", "1")
    network.sim.sim.wait_idle(10)
    kinds = [r[0] for r in db.execute("SELECT kind FROM responses WHERE resident_id = ?", [ids["res_a1"]])]
    assert kinds == ["ack"]
    replies = network.sim.sim.phone("+8613900001111")["texts"]
    assert any("已收到" in t["body"] for t in replies)


def test_call_answered_heard_and_acknowledged_with_key_1(network, notice, ids, db):
    network.sim.sim.put_resident("+8613900001111", answer_probability=1.0, busy_probability=0,
                                 voicemail_probability=0, keys=["1"], patience_s=300)
    network.sim.sim.put_resident("+8613900002222", answer_probability=0.0, busy_probability=0,
                                 voicemail_probability=0)
    campaign_id = network.campaign(notice, ids["yang"], "voice", max_attempts=2)
    network.run_until_done(campaign_id)
    rows = outbox(db, campaign_id)
    answered, missed = rows[ids["res_a1"]], rows[ids["res_a2"]]
    assert (answered["status"], answered["outcome"], answered["heard_full"]) == ("done", "answered", 1)
    assert (missed["status"], missed["attempts"]) == ("failed", 2) and "no-answer" in missed["failed_reason"]
    acks = db.execute("SELECT kind, channel FROM responses WHERE resident_id = ?", [ids["res_a1"]]).fetchall()
    assert [tuple(a) for a in acks] == [("ack", "voice")]
    calls = [c for c in network.sim.sim.record()["calls"] if c["to"] == "+8613900002222"]
    assert len(calls) == 2  # exactly the attempts allowed, not one more


def test_pledge_by_keys(network, notice, ids, db):
    network.sim.sim.put_resident("+8613900001111", answer_probability=1.0, busy_probability=0,
                                 voicemail_probability=0, keys=["2", "3", "1"], patience_s=300)
    campaign_id = network.campaign(notice, ids["yang"], "voice",
                                   audience=campaigns.Audience(village_id=ids["yang"], resident_ids=[ids["res_a1"]]))
    network.run_until_done(campaign_id)
    pledge = db.execute("SELECT event_type, channel, resident_id FROM pledges").fetchall()
    assert [tuple(p) for p in pledge] == [("birthday", "voice", ids["res_a1"])]


def test_voice_then_sms_falls_back_after_failed_attempts(network, notice, ids, db):
    network.sim.sim.put_resident("+8613900001111", answer_probability=0.0, busy_probability=1.0,
                                 voicemail_probability=0, reply_probability=0, sms_fail_probability=0)
    campaign_id = network.campaign(notice, ids["yang"], "voice_then_sms", max_attempts=2,
                                   audience=campaigns.Audience(village_id=ids["yang"], resident_ids=[ids["res_a1"]]))
    network.run_until_done(campaign_id)
    channels = {r["channel"]: r["status"] for r in db.execute("SELECT channel, status FROM outbox")}
    assert channels == {"voice": "failed", "sms": "done"}
