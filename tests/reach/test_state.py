"""Reach state per resident and notice, from mixed channel histories (table-driven).

Each case is a history written as the delivery code would leave it; the expected triple is
(state, unreachable reason, via).
"""
from __future__ import annotations

import pytest

from outreach.reach import state

# (name, history steps, expected (state, reason, via), resident options)
CASES = [
    ("nothing sent", [], ("not_contacted", "", ""), {}),
    ("call in flight", [("send", "voice", "wired", None)], ("attempted", "", ""), {}),
    ("busy, retry pending", [("send", "voice", "retry", "busy")], ("attempted", "", ""), {}),
    ("sms delivered", [("send", "sms", "done", "delivered")], ("delivered", "", ""), {}),
    ("call answered, hung up early", [("send", "voice", "done", "answered")], ("delivered", "", ""), {}),
    ("answering machine is not a person", [("send", "voice", "done", "machine")], ("attempted", "", ""), {}),
    ("answered and heard to the end", [("heard",)], ("heard_full", "", ""), {}),
    ("pressed 1", [("heard",), ("respond", "ack")], ("acknowledged", "", "self"), {}),
    ("replied 1 by text", [("send", "sms", "done", "delivered"), ("respond", "ack", "sms")],
     ("acknowledged", "", "self"), {}),
    ("pledged (key 2) counts as acknowledged", [("respond", "pledge")], ("acknowledged", "", "self"), {}),
    ("asked to repeat: delivered", [("respond", "repeat")], ("delivered", "", ""), {}),
    ("all attempts failed", [("send", "voice", "failed", "no-answer")], ("unreachable", "all_failed", ""), {}),
    ("voice failed, sms fallback still pending", [("send", "voice", "failed", "busy"), ("send", "sms", "pending", None)],
     ("attempted", "", ""), {}),
    ("voice failed, sms delivered", [("send", "voice", "failed", "busy"), ("send", "sms", "done", "delivered")],
     ("delivered", "", ""), {}),
    ("opted out at the provider", [("send", "sms", "failed", None, 21610)], ("unreachable", "opted_out", ""), {}),
    ("texted STOP", [("respond", "opt_out", "sms")], ("unreachable", "opted_out", ""), {}),
    ("no phone, nothing else", [], ("unreachable", "no_phone", ""), {"phones": []}),
    ("tagged no working phone", [], ("unreachable", "no_phone", ""), {"tags": ["no_phone"]}),
    ("no phone, visited and informed", [("visit", "informed")], ("acknowledged", "", "self"), {"phones": []}),
    ("visit: not home", [("visit", "not_home")], ("attempted", "", ""), {}),
    ("no phone, visit: not home (revisit due)", [("visit", "not_home")], ("attempted", "", ""), {"phones": []}),
    ("visit: moved away", [("send", "voice", "failed", "no-answer"), ("visit", "moved")],
     ("unreachable", "moved", ""), {}),
    ("visit: refused", [("visit", "refused")], ("unreachable", "refused", ""), {}),
    ("not home, then informed on the revisit", [("visit", "not_home", "2024-05-02T01:00:00.000Z"),
                                                ("visit", "informed", "2024-05-03T01:00:00.000Z")],
     ("acknowledged", "", "self"), {}),
    ("acknowledged beats unreachable", [("send", "voice", "failed", "busy"), ("respond", "ack", "replay")],
     ("acknowledged", "", "self"), {}),
    ("delivered beats a later refusal", [("send", "sms", "done", "delivered"), ("visit", "refused")],
     ("delivered", "", ""), {}),
]


def _apply(hist, rid, steps):
    for step in steps:
        kind = step[0]
        if kind == "send":
            _, channel, status, outcome, *code = step
            hist.send(rid, channel, status, outcome, attempts=0 if status == "pending" else 1,
                      error_code=code[0] if code else None)
        elif kind == "heard":
            hist.send(rid, "voice", "done", "answered", heard=True)
        elif kind == "respond":
            hist.respond(rid, step[1], *(step[2:] or ["voice"]))
        elif kind == "visit":
            hist.visit(rid, *step[1:])


@pytest.mark.parametrize("name,steps,expected,options", CASES, ids=[c[0] for c in CASES])
def test_state_from_history(hist, name, steps, expected, options):
    rid = hist.resident("测试人", **options)
    _apply(hist, rid, steps)
    assert hist.state(rid) == expected


def test_other_notices_do_not_count(hist, db, ids):
    rid = hist.resident("刘春华")
    other = db.execute("INSERT INTO notices (village_id, title) VALUES (?, '另一个通知')", [ids["yang"]]).lastrowid
    hist.send(rid, "voice", "done", "answered", heard=True, campaign_id=hist.campaign("voice", notice_id=other))
    assert hist.state(rid) == ("not_contacted", "", "")


def test_son_in_the_city_acknowledges_for_the_household(hist):
    mother = hist.resident("陈桂芳", house="1组020号", birth_year=1940)
    father = hist.resident("陈德福", house="1组020号", birth_year=1938)
    son = hist.resident("陈建国", house="1组020号", birth_year=1970, lives_elsewhere=True)
    hist.send(mother, "voice", "failed", "no-answer")
    hist.respond(son, "ack", "sms")
    assert hist.state(son) == ("acknowledged", "", "self")
    assert hist.state(mother) == ("acknowledged", "", "proxy")
    assert hist.state(father) == ("acknowledged", "", "proxy")


def test_member_at_home_answers_only_for_those_without_a_phone(hist):
    wife = hist.resident("周玉兰", house="1组030号")
    husband = hist.resident("周大山", house="1组030号")
    grandma = hist.resident("周老太", house="1组030号", birth_year=1935, phones=[])
    hist.respond(wife, "ack")
    assert hist.state(wife)[0] == "acknowledged"
    assert hist.state(husband) == ("not_contacted", "", "")  # has a phone: must answer himself
    assert hist.state(grandma) == ("acknowledged", "", "proxy")


def test_as_of_cuts_the_history(hist):
    rid = hist.resident("何小梅")
    hist.send(rid, "voice", "done", "answered", at="2024-05-01T02:00:00.000Z")
    hist.respond(rid, "ack", at="2024-05-03T02:00:00.000Z")
    notice = hist.notice
    assert state.state_of(hist.db, notice, rid)["state"] == "acknowledged"
    rows = state.query(hist.db, notice, "SELECT state FROM people WHERE resident_id = :rid",
                       as_of="2024-05-02T00:00:00.000Z", extra={"rid": rid})
    assert rows[0]["state"] == "delivered"


def test_counts_add_up_per_grid(hist, ids):
    a = hist.resident("甲", grid="一网格", birth_year=1940, tags=["lives_alone"])
    b = hist.resident("乙", grid="一网格")
    c = hist.resident("丙", grid="二网格", birth_year=1945)
    hist.send(a, "voice", "done", "answered", heard=True)
    hist.respond(a, "ack")
    hist.send(b, "sms", "done", "delivered")
    hist.send(c, "voice", "failed", "busy")
    per_grid = {r["key"]: r for r in state.counts(hist.db, hist.notice, group_by="grid_id")}
    g1 = per_grid[ids["grid1"]]
    assert (g1["targeted"], g1["delivered"], g1["heard"], g1["acknowledged"]) == (2, 2, 1, 1)
    assert (g1["alone"], g1["alone_acknowledged"], g1["acknowledged_rate"]) == (1, 1, 50.0)
    g2 = per_grid[ids["grid2"]]
    # 李德明 of the base data lives in 二网格 too and was never contacted
    assert (g2["targeted"], g2["unreachable"], g2["r_all_failed"], g2["elderly"]) == (2, 1, 1, 1)
    whole = state.counts(hist.db, hist.notice)[0]
    assert whole["targeted"] == sum(r["targeted"] for r in per_grid.values())


def test_memoised_counts_follow_every_change(hist):
    from outreach.reach import cache
    rid = hist.resident("钱秀云")
    before = state.counts(hist.db, hist.notice)[0]
    assert state.counts(hist.db, hist.notice)[0] == before  # served from the memo
    hist.respond(rid, "ack")
    after = state.counts(hist.db, hist.notice)[0]
    assert after["acknowledged"] == before["acknowledged"] + 1
    hist.visit(hist.ids["res_a2"], "moved")
    assert state.counts(hist.db, hist.notice)[0]["r_moved"] == 1
    cache.enabled = False
    try:
        assert state.counts(hist.db, hist.notice)[0]["r_moved"] == 1
    finally:
        cache.enabled = True


def test_people_without_a_phone_are_not_counted_as_contacted_until_visited(hist):
    hidden = hist.resident("丁", grid="二网格", phones=[])
    before = state.counts(hist.db, hist.notice)[0]
    assert before["unreachable"] >= 1 and before["contacted"] == 0  # nobody has been called, texted or visited
    hist.visit(hidden, "not_home")
    after = state.counts(hist.db, hist.notice)[0]
    assert after["contacted"] == 1
