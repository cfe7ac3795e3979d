"""The registry: phone numbers, dedupe, search and the resident screens."""
import pytest

from outreach.registry import phones
from outreach.registry.residents import ResidentInput, get, upsert
from outreach.registry.search import ResidentQuery, search


@pytest.mark.parametrize("raw,e164,kind", [
    ("13812345678", "+8613812345678", "mobile"),
    ("138-1234-5678", "+8613812345678", "mobile"),
    ("+86 138 1234 5678", "+8613812345678", "mobile"),
    ("１３８１２３４５６７８", "+8613812345678", "mobile"),
    ("13812345678.0", "+8613812345678", "mobile"),  # Excel's float
    ("023-6212 3456", "+862362123456", "landline"),
])
def test_phone_normalisation(raw, e164, kind):
    assert phones.normalise(raw) == (e164, kind)


@pytest.mark.parametrize("raw", ["", "12345", "abc", "1381234567", "=cmd|' /C calc'!A0"])
def test_bad_phone_numbers_say_why(raw):
    with pytest.raises(phones.InvalidPhone) as err:
        phones.normalise(raw)
    assert str(err.value)


def test_masking_hides_the_middle_digits():
    assert phones.mask("+8613812345678") == "+86138****5678"


def test_same_phone_is_the_same_person(db, ids):
    rid, created = upsert(db, ids["yang"], ResidentInput(name="张秀英", phones=["+8613900001111"], birth_year=1943))
    assert (rid, created) == (ids["res_a1"], False)
    assert get(db, rid)["birth_year"] == 1943


def test_same_name_in_same_household_is_the_same_person(db, ids):
    first, created = upsert(db, ids["yang"], ResidentInput(name="刘大山", house_number="3组005号"))
    assert created
    again, created = upsert(db, ids["yang"], ResidentInput(name="刘大山", house_number="3组005号",
                                                           phones=["+8613900009999"]))
    assert (again, created) == (first, False)
    assert [p["e164"] for p in get(db, first)["phones"]] == ["+8613900009999"]


def test_same_phone_in_another_village_is_another_person(db, ids):
    rid, created = upsert(db, ids["shimen"], ResidentInput(name="张秀英", phones=["+8613900001111"]))
    assert created and rid != ids["res_a1"]


def test_a_number_cannot_belong_to_two_residents(db, ids):
    with pytest.raises(ValueError, match="already belongs"):
        upsert(db, ids["yang"], ResidentInput(name="李德明", phones=["+8613900002222", "+8613900001111"]))
    # Nothing of the failed write remains.
    assert [p["e164"] for p in get(db, ids["res_a2"])["phones"]] == ["+8613900002222"]


@pytest.mark.parametrize("text,expected", [
    ("张秀", {"张秀英"}), ("zhangxiuying", {"张秀英"}), ("zxy", {"张秀英"}), ("0000111", {"张秀英"}),
    ("ldm", {"李德明"}), ("wang", set()),
])
def test_search_by_name_pinyin_initials_and_phone(db, ids, text, expected):
    found, total = search(db, ResidentQuery(village_ids=[ids["yang"]], text=text))
    assert {r["name"] for r in found} == expected and total == len(expected)


def test_filters_age_tags_language_grid(db, ids):
    def names(**kw):
        return {r["name"] for r in search(db, ResidentQuery(**kw))[0]}
    assert names(min_age=70) == {"张秀英", "王桂兰"}
    assert names(tags=["lives_alone"]) == {"张秀英"}
    assert names(language="重庆话") == {"王桂兰"}
    assert names(grid_id=ids["grid1"]) == {"张秀英"}  # sub-grid included
    assert names(village_ids=[ids["shimen"]]) == {"王桂兰"}


def test_pagination(db, ids):
    for i in range(120):
        upsert(db, ids["yang"], ResidentInput(name=f"测试{i:03d}", house_number=f"9组{i:03d}号"))
    first, total = search(db, ResidentQuery(village_ids=[ids["yang"]], text="测试", page=1))
    third, _ = search(db, ResidentQuery(village_ids=[ids["yang"]], text="测试", page=3))
    assert total == 120 and len(first) == 50 and len(third) == 20
    assert not {r["id"] for r in first} & {r["id"] for r in third}


def test_secretary_adds_and_edits_a_resident(client, login, ids, db):
    login(client, "sec_a")
    response = client.post(f"/villages/{ids['yang']}/residents/new", data={
        "name": "陈玉兰", "phones": "139 0000 5555", "grid_name": "二网格", "house_number": "2组011号",
        "birth_year": "1938", "sex": "F", "language": "mandarin", "tags": ["lives_alone", "hard_of_hearing"],
        "free_tags": "低保户"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "陈玉兰" in page and "139 0000 5555" in page and "低保户" in page
    rid = int(response.headers["Location"].rsplit("/", 1)[1])
    response = client.post(f"/residents/{rid}/edit", data={"name": "陈玉兰", "phones": "13900005556",
                                                            "birth_year": "1939", "house_number": "2组011号"})
    assert response.status_code == 302
    saved = get(db, rid)
    assert saved["birth_year"] == 1939 and [p["e164"] for p in saved["phones"]] == ["+8613900005556"]
    assert saved["tags"] == []
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE object_id = ?", [str(rid)])]
    assert actions == ["resident_created", "resident_updated"]


@pytest.mark.parametrize("form,reason", [  # the reasons as the default (Chinese) page says them
    ({"name": ""}, "请填写姓名"),
    ({"name": "某人", "phones": "12345"}, "电话号码无效"),
    ({"name": "某人", "birth_year": "1800"}, "出生年份1800不在有效范围内"),
    ({"name": "某人", "birth_year": "abc"}, "出生年份须是数字"),
    ({"name": "某人", "phones": "13900001111"}, "已经登记过了，是张秀英"),
    ({"name": "<script>alert(1)</script>" * 5}, "姓名超过50个字"),
])
def test_bad_resident_form_keeps_input_and_says_why(client, login, ids, form, reason):
    login(client, "sec_a")
    response = client.post(f"/villages/{ids['yang']}/residents/new", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert reason in page
    assert "<script>alert" not in page  # escaped, never rendered as markup


def test_resident_detail_shows_household_and_caretakers(client, login, ids, db):
    upsert(db, ids["yang"], ResidentInput(name="张建国", house_number="1组001号", relation="儿子",
                                          lives_elsewhere=True))
    worker = db.execute("INSERT INTO caretakers (village_id, name, kind) VALUES (?, '李芳', 'grid_worker')",
                        [ids["yang"]]).lastrowid
    hh = db.execute("SELECT household_id FROM residents WHERE id = ?", [ids["res_a1"]]).fetchone()[0]
    db.execute("INSERT INTO caretaker_assignments (caretaker_id, household_id) VALUES (?, ?)", [worker, hh])
    login(client, "sec_a")
    page = client.get(f"/residents/{ids['res_a1']}").get_data(as_text=True)
    assert "张建国" in page and "李芳" in page


def test_resident_page_shows_the_history_across_channels(client, login, ids, db):
    from outreach.delivery import campaigns
    from outreach.delivery.interactions import record_pledge, record_response
    from outreach.delivery.outbox import now_utc
    from outreach.notices import store

    notice = store.create(db, ids["yang"], "暂停宴席", "请按1。")
    campaign = campaigns.create(db, village_id=ids["yang"], notice_id=notice, name="老人外呼", channel="voice",
                                audience=campaigns.Audience(village_id=ids["yang"], resident_ids=[ids["res_a1"]]))
    campaigns.start(db, campaign, now_utc())
    db.execute("UPDATE outbox SET status = 'done', outcome = 'answered', attempts = 2, heard_full = 1")
    record_response(db, village_id=ids["yang"], kind="ack", channel="voice", dedupe_key="k1",
                    resident_id=ids["res_a1"], campaign_id=campaign, notice_id=notice, raw="1")
    record_pledge(db, village_id=ids["yang"], channel="sms", dedupe_key="k2", resident_id=ids["res_a1"],
                  event_type="birthday", planned_date="2026-12-08", notice_id=notice)
    client.get("/lang/en")
    login(client, "sec_a")
    page = client.get(f"/residents/{ids['res_a1']}").get_data(as_text=True)
    history = page.split('id="history"')[1]
    for text in ("Phone call", "老人外呼", "Reached", "Answered", "2 attempt(s)", "heard in full",
                 "Confirmed: heard it", "Birthday banquet", "2026-12-08"):
        assert text in history, text
