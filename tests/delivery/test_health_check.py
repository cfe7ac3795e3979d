"""Daily health check-in calls: a 2, or no answer after retries, alerts the care team by text."""
from outreach.delivery import campaigns


def add_care_team(db, ids, resident_key="res_a1"):
    hh = db.execute("SELECT household_id FROM residents WHERE id = ?", [ids[resident_key]]).fetchone()[0]
    numbers = []
    for i, (kind, note) in enumerate([("care_team", "医生"), ("care_team", "村干部"), ("grid_worker", "一网格")]):
        number = f"+861370000{i:04d}"
        cid = db.execute("INSERT INTO caretakers (village_id, name, phone, kind, role_note) VALUES (?, ?, ?, ?, ?)",
                         [ids["yang"], f"包保{i}", number, kind, note]).lastrowid
        if kind == "care_team":
            db.execute("INSERT INTO caretaker_assignments (caretaker_id, resident_id) VALUES (?, ?)",
                       [cid, ids[resident_key]])
        else:
            db.execute("INSERT INTO caretaker_assignments (caretaker_id, household_id) VALUES (?, ?)", [cid, hh])
        numbers.append(number)
    return numbers


def run_notifications(network, db, expected):
    for _ in range(200):
        network.dispatcher.tick()
        network.dispatcher.drain(5)
        network.sim.sim.wait_idle(1)
        done = db.execute("SELECT COUNT(*) FROM notifications WHERE status = 'delivered'").fetchone()[0]
        if done >= expected:
            return


def test_pressing_2_alerts_the_care_team(network, notice, ids, db):
    numbers = add_care_team(db, ids)
    network.sim.sim.put_resident("+8613900001111", answer_probability=1.0, busy_probability=0,
                                 voicemail_probability=0, keys=["2"], patience_s=300)
    for n in numbers:
        network.sim.sim.put_resident(n, reply_probability=0, sms_fail_probability=0)
    campaign_id = network.campaign(notice, ids["yang"], "voice", kind="health_check",
                                   audience=campaigns.Audience(village_id=ids["yang"], resident_ids=[ids["res_a1"]]))
    network.run_until_done(campaign_id)
    run_notifications(network, db, 3)
    alerts = db.execute("SELECT kind, resident_id FROM alerts").fetchall()
    assert [tuple(a) for a in alerts] == [("health_help", ids["res_a1"])]
    for n in numbers:
        texts = network.sim.sim.phone(n)["texts"]
        assert len(texts) == 1 and "张秀英" in texts[0]["body"] and "需要帮助" in texts[0]["body"]


def test_no_answer_after_retries_alerts_once(network, notice, ids, db):
    numbers = add_care_team(db, ids)
    network.sim.sim.put_resident("+8613900001111", answer_probability=0.0, busy_probability=0,
                                 voicemail_probability=0)
    campaign_id = network.campaign(notice, ids["yang"], "voice", kind="health_check", max_attempts=3,
                                   audience=campaigns.Audience(village_id=ids["yang"], resident_ids=[ids["res_a1"]]))
    network.run_until_done(campaign_id)
    run_notifications(network, db, 3)
    assert [tuple(a) for a in db.execute("SELECT kind FROM alerts")] == [("health_no_answer",)]
    assert db.execute("SELECT COUNT(*) FROM notifications").fetchone()[0] == len(numbers)
    sent = [m for m in network.sim.sim.record()["messages"] if m["to"] in numbers]
    assert len(sent) == 3


def test_pledge_reminder_is_texted_once_before_the_original_date(network, ids, db):
    from datetime import timedelta

    from outreach.delivery.interactions import record_pledge
    from outreach.delivery.outbox import now_utc

    soon = (now_utc() + timedelta(days=1)).date().isoformat()
    record_pledge(db, village_id=ids["yang"], channel="sms", dedupe_key="p1", resident_id=ids["res_a1"],
                  event_type="lantern", planned_date=soon)
    network.sim.sim.put_resident("+8613900001111", reply_probability=0, sms_fail_probability=0)
    for _ in range(3):  # several passes, and a second dispatcher pass later: still one reminder
        network.dispatcher._next_reminder_check = now_utc() - timedelta(seconds=1)
        run_notifications(network, db, 1)
    texts = network.sim.sim.phone("+8613900001111")["texts"]
    assert len(texts) == 1 and "开灯酒" in texts[0]["body"] and soon in texts[0]["body"]
