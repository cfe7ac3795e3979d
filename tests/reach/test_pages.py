"""Reach pages through the test client: dashboard numbers, scope, visits, resend, roll call, daily report."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest

@pytest.fixture
def world(hist, ids):
    """杨家坪村 after a call campaign: 张秀英 (70+, alone) acknowledged, 李德明 busy to the end,
    a no-phone grandmother in 一网格, a delivered text in 二网格; 石门村 has nothing sent."""
    h = hist
    h.granny = h.resident("孙奶奶", house="1组002号", grid="一网格", birth_year=1938, phones=[], tags=["lives_alone"])
    h.texted = h.resident("吴小红", house="2组011号", grid="二网格", birth_year=1990)
    h.send(ids["res_a1"], "voice", "done", "answered", heard=True)
    h.respond(ids["res_a1"], "ack")
    h.send(ids["res_a2"], "voice", "failed", "busy")
    h.send(h.texted, "sms", "done", "delivered")
    h.db.execute("INSERT INTO pledges (village_id, resident_id, notice_id, event_type, decision, planned_date, channel)"
                 " VALUES (?, ?, ?, 'lantern', 'cancel', '2024-02-20', 'sms')", [ids["yang"], ids["res_a1"], h.notice_id])
    return h


def test_dashboard_numbers_for_the_township_official(client, login, world):
    login(client, "official")
    page = client.get("/reach/").get_data(as_text=True)
    assert "杨家坪村" in page and "石门村" in page and "东岭村" not in page
    assert "<svg" in page and "<title" in page  # charts, with accessible titles
    assert "1户取消开灯酒" in page
    from outreach.reach import stats
    d = stats.dashboard(world.db, [world.ids["yang"]])
    row = d["villages"][0]
    assert (row["targeted"], row["delivered"], row["heard"], row["acknowledged"], row["unreachable"]) == (4, 2, 1, 1, 2)
    assert (row["elderly"], row["elderly_acknowledged"], row["alone"], row["alone_acknowledged"]) == (2, 1, 2, 1)
    assert (row["r_no_phone"], row["r_all_failed"], row["pledges"]) == (1, 1, 1)
    assert d["breakdown"]["voice"]["busy"] == 1 and d["breakdown"]["sms"]["delivered"] == 1


def test_official_sees_aggregates_but_no_people(client, login, world):
    login(client, "official")
    assert client.get(f"/reach/notices/{world.notice_id}").status_code == 200
    assert client.get(f"/reach/notices/{world.notice_id}/people").status_code == 404
    assert client.get(f"/reach/notices/{world.notice_id}/roll-call").status_code == 404
    assert "张秀英" not in client.get(f"/reach/notices/{world.notice_id}").get_data(as_text=True)


def test_official_of_another_township_sees_nothing_of_ours(client, login, world):
    login(client, "official_east")
    assert "杨家坪村" not in client.get("/reach/").get_data(as_text=True)
    assert client.get(f"/reach/notices/{world.notice_id}").status_code == 404
    assert client.get(f"/reach/live/{world.campaign_id}.json").status_code == 404
    assert "杨家坪村" not in client.get("/reach/daily").get_data(as_text=True)


def test_secretary_of_another_village_gets_404(client, login, world):
    login(client, "sec_b")
    for path in ("", "/people", "/roll-call", "/door-knock"):
        assert client.get(f"/reach/notices/{world.notice_id}{path}").status_code == 404
    assert client.post(f"/reach/notices/{world.notice_id}/visits",
                       data={"resident_id": world.ids["res_a1"], "outcome": "informed"}).status_code == 404


def test_grid_worker_sees_only_their_grids(client, login, world, ids):
    login(client, "grid_a")
    page = client.get(f"/reach/notices/{world.notice_id}/door-knock").get_data(as_text=True)
    assert "孙奶奶" in page and "李德明" not in page  # 李德明 is in 二网格
    roll = client.get(f"/reach/notices/{world.notice_id}/roll-call").get_data(as_text=True)
    assert "孙奶奶" in roll and "吴小红" not in roll
    assert client.post(f"/reach/notices/{world.notice_id}/visits",
                       data={"resident_id": ids["res_a2"], "outcome": "informed"}).status_code == 404
    assert client.get("/reach/daily").status_code == 403


def test_recording_a_visit_changes_reach(client, login, world, db):
    login(client, "grid_a")
    url = f"/reach/notices/{world.notice_id}/visits"
    response = client.post(url, data={"resident_id": world.granny, "outcome": "informed", "note": "告知了"})
    assert response.status_code == 302 and f"#r{world.granny}" in response.headers["Location"]
    assert world.state(world.granny) == ("acknowledged", "", "self")
    assert f'id="r{world.granny}"' not in client.get(f"/reach/notices/{world.notice_id}/door-knock").get_data(as_text=True)
    audit = db.execute("SELECT action, object_id FROM audit_log WHERE action = 'visit_recorded'").fetchall()
    assert [tuple(a) for a in audit] == [("visit_recorded", str(world.granny))]
    assert client.post(url, data={"resident_id": world.granny, "outcome": "teleported"}).status_code == 302
    assert db.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == 1  # bad outcome: nothing stored


def test_not_home_keeps_them_on_the_list_moved_takes_them_off(client, login, world):
    login(client, "sec_a")
    url = f"/reach/notices/{world.notice_id}/visits"
    client.post(url, data={"resident_id": world.granny, "outcome": "not_home"})
    client.post(url, data={"resident_id": world.ids["res_a2"], "outcome": "moved"})
    page = client.get(f"/reach/notices/{world.notice_id}/door-knock").get_data(as_text=True)
    assert f'id="r{world.granny}"' in page and f'id="r{world.ids["res_a2"]}"' not in page
    assert world.state(world.ids["res_a2"]) == ("unreachable", "moved", "")


def test_door_list_order_house_number_then_most_vulnerable(world):
    from outreach.reach import doorknock
    world.resident("老大爷", house="1组002号", grid="一网格", birth_year=1930, phones=[])
    world.resident("年轻人", house="1组010号", grid="一网格", birth_year=2000)
    names = [p["name"] for p in doorknock.door_list(world.db, world.notice, grid_ids=[world.ids["grid1"]])]
    assert names == ["老大爷", "孙奶奶", "年轻人"]


def test_resend_to_the_unreached_creates_a_campaign_for_exactly_them(client, login, world, db, ids):
    from outreach.reach import doorknock
    expected = doorknock.unreached_ids(db, world.notice)
    assert set(expected) == {world.granny, ids["res_a2"]}
    login(client, "sec_a")
    response = client.post(f"/reach/notices/{world.notice_id}/resend")
    assert response.status_code == 302 and "/campaigns/" in response.headers["Location"]
    camp = db.execute("SELECT id, audience, status, notice_id FROM campaigns ORDER BY id DESC LIMIT 1").fetchone()
    import json
    assert json.loads(camp["audience"])["resident_ids"] == sorted(expected)
    assert (camp["status"], camp["notice_id"]) == ("running", world.notice_id)
    planned = {r[0] for r in db.execute("SELECT resident_id FROM outbox WHERE campaign_id = ?", [camp["id"]])}
    assert planned == {ids["res_a2"]}  # the grandmother has no phone: she stays on the door-knock list
    login(client, "official")
    assert client.post(f"/reach/notices/{world.notice_id}/resend").status_code == 403


def test_live_progress_json(client, login, world):
    login(client, "official")
    data = client.get(f"/reach/live/{world.campaign_id}.json").get_json()
    assert data["campaign"]["planned"] == 3 and data["campaign"]["acknowledged"] == 1
    assert data["notice"]["targeted"] == 4 and data["notice"]["acknowledged"] == 1


def test_roll_call_groups_by_grid_and_household(client, login, world):
    from outreach.reach import doorknock
    grids = doorknock.roll_call(world.db, world.notice)
    names = {g["grid"]: [[p["name"] for p in h["people"]] for h in g["households"]] for g in grids}
    assert names == {"一网格": [["孙奶奶"]], "二网格": [["李德明"], ["吴小红"]]}
    login(client, "sec_a")
    page = client.get(f"/reach/notices/{world.notice_id}/roll-call").get_data(as_text=True)
    assert "张秀英" not in page and "吴小红" in page


def _daily(client, fmt=""):
    return client.get(f"/reach/daily?day=2024-05-01{'&format=' + fmt if fmt else ''}")


def test_daily_report_csv_and_xlsx(client, login, world, ids):
    login(client, "official")
    page = _daily(client).get_data(as_text=True)
    assert "杨家坪村" in page and "石门村" in page
    rows = list(csv.reader(io.StringIO(_daily(client, "csv").get_data().decode("utf-8-sig"))))
    header, yang = rows[0], next(r for r in rows if r[0] == "杨家坪村")
    assert len(header) == 9 and rows[-1][0] in ("Total", "合计")
    # residents 4; one notice running that day; reached 2 (answered + delivered); acknowledged 1;
    # unreached elderly: the no-phone grandmother; the pledge was made today (default created_at: now) → 0 on May 1
    assert yang[1:8] == ["4", "1", "2", "1", "1", "0", "0"]
    book = openpyxl.load_workbook(io.BytesIO(_daily(client, "xlsx").get_data()))
    cells = [[c.value for c in r] for r in book.active.iter_rows()]
    assert next(r for r in cells if r[0] == "杨家坪村")[1:5] == [4, 1, 2, 1]


def test_dashboard_chart_text_is_escaped(client, login, world, db):
    db.execute("UPDATE villages SET name = '<script>x</script>村' WHERE id = ?", [world.ids["shimen"]])
    login(client, "admin")
    page = client.get("/reach/").get_data(as_text=True)
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page


def test_pages_render_in_english_too(client, login, world):
    login(client, "sec_a")
    client.get("/lang/en")
    for path in ("/reach/", f"/reach/notices/{world.notice_id}", f"/reach/notices/{world.notice_id}/people",
                 f"/reach/notices/{world.notice_id}/roll-call", f"/reach/notices/{world.notice_id}/door-knock",
                 f"/reach/notices/{world.notice_id}/door-knock/print", "/reach/door-knock", "/reach/pledges",
                 "/reach/daily?print=1"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert "Door-knock list" in client.get(f"/reach/notices/{world.notice_id}/door-knock").get_data(as_text=True)


def test_door_list_includes_those_reached_who_never_confirmed(world):
    """A delivered text is no proof anybody read it: without a confirmation, the grid worker knocks."""
    from outreach.reach import doorknock
    on_list = {p["resident_id"] for p in doorknock.door_list(world.db, world.notice)}
    assert world.texted in on_list and world.ids["res_a1"] not in on_list  # res_a1 pressed 1
    assert world.texted not in doorknock.unreached_ids(world.db, world.notice)  # no second text for them
