"""The pledge ledger: public form by short link (no login, CSRF on), reminders, verification, totals."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest

from outreach.reach import pledges

TODAY = date(2024, 2, 10)
NOW = datetime(2024, 2, 10, 2, 0, tzinfo=timezone.utc)
GOOD = {"event_type": "lantern", "planned_date": "2024-02-20", "guests": "80", "decision": "cancel"}


@pytest.fixture
def link(db, ids):
    return pledges.create_link(db, village_id=ids["yang"], resident_id=ids["res_a1"])


def test_token_is_short_and_unguessable(db, ids):
    tokens = {pledges.create_link(db, village_id=ids["yang"]) for _ in range(50)}
    assert len(tokens) == 50 and all(re.fullmatch(r"[A-Za-z0-9_-]{12}", t) for t in tokens)


@pytest.mark.parametrize("form,field", [
    ({**GOOD, "event_type": "party"}, "event_type"),
    ({**GOOD, "decision": ""}, "decision"),
    ({**GOOD, "planned_date": "20.2.2024"}, "planned_date"),
    ({**GOOD, "planned_date": ""}, "planned_date"),
    ({**GOOD, "planned_date": "2031-01-01"}, "planned_date"),
    ({**GOOD, "guests": "-3"}, "guests"),
    ({**GOOD, "guests": "lots"}, "guests"),
    ({**GOOD, "decision": "postpone"}, "new_date"),
    ({**GOOD, "decision": "postpone", "new_date": "2024-02-19"}, "new_date"),
])
def test_bad_input_names_the_field(form, field):
    with pytest.raises(pledges.PledgeError) as caught:
        pledges.parse(form, today=TODAY)
    assert field in caught.value.errors


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_public_form_without_login_with_csrf(app, client, link, db):
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get(f"/p/{link}")
    assert page.status_code == 200 and "张秀英" in page.get_data(as_text=True)
    # without the form's token the post is refused and nothing is stored
    assert client.post(f"/p/{link}", data=GOOD).status_code == 400
    assert db.execute("SELECT COUNT(*) FROM pledges").fetchone()[0] == 0
    token = _csrf(page.get_data(as_text=True))
    bad = client.post(f"/p/{link}", data={**GOOD, "guests": "lots", "csrf_token": token})
    assert bad.status_code == 400 and 'id="guests-error"' in bad.get_data(as_text=True)
    ok = client.post(f"/p/{link}", data={**GOOD, "planned_date": date.today().isoformat(), "csrf_token": token})
    assert ok.status_code == 200
    row = db.execute("SELECT event_type, decision, guests, channel, resident_id FROM pledges").fetchone()
    assert tuple(row)[:4] == ("lantern", "cancel", 80, "form")
    again = client.post(f"/p/{link}", data={**GOOD, "csrf_token": token})
    assert again.status_code == 200 and db.execute("SELECT COUNT(*) FROM pledges").fetchone()[0] == 1


def test_bad_token_is_404(client):
    assert client.get("/p/not-a-real-token").status_code == 404
    assert client.get("/p/../../etc").status_code == 404
    assert client.post("/p/x" * 1, data=GOOD).status_code == 404


def test_reminders_and_verification(db, ids):
    user = {"id": 1, "username": "admin"}
    due = pledges.record_by_worker(db, resident={"id": ids["res_a1"], "village_id": ids["yang"]}, notice_id=None,
                                   form={**GOOD, "planned_date": "2024-02-11"}, user=user, today=TODAY)
    later = pledges.record_by_worker(db, resident={"id": ids["res_a2"], "village_id": ids["yang"]}, notice_id=None,
                                     form={**GOOD, "planned_date": "2024-03-01"}, user=user, today=TODAY)
    assert [p["id"] for p in pledges.due_for_reminder(db, TODAY)] == [due]
    assert pledges.mark_reminded(db, due, NOW) and not pledges.mark_reminded(db, due, NOW)
    assert pledges.due_for_reminder(db, TODAY) == []
    with pytest.raises(ValueError):
        pledges.verify(db, later, kept=True, user=user, today=TODAY, now=NOW)  # before the date
    pledges.verify(db, due, kept=False, user=user, today=date(2024, 2, 12), now=NOW)
    assert db.execute("SELECT status, verified_by FROM pledges WHERE id = ?", [due]).fetchone()[:] == ("not_kept", 1)
    with pytest.raises(ValueError):
        pledges.verify(db, due, kept=True, user=user, today=date(2024, 2, 12), now=NOW)


def test_totals_in_the_field_notes_words(db, ids):
    for house in range(8):
        rid = db.execute("INSERT INTO residents (village_id, name) VALUES (?, ?)", [ids["yang"], f"村民{house}"]).lastrowid
        db.execute("INSERT INTO pledges (village_id, resident_id, household_id, event_type, decision, channel) "
                   "VALUES (?, ?, ?, 'lantern', 'cancel', 'sms')", [ids["yang"], rid, None])
    db.execute("INSERT INTO pledges (village_id, resident_id, event_type, decision, channel) "
               "VALUES (?, ?, 'birthday', 'cancel', 'voice')", [ids["yang"], ids["res_a1"]])
    [yang] = pledges.sentences(db, [ids["yang"]])
    assert yang["text"] == "8户取消开灯酒，1户取消寿宴"


def test_ledger_page_and_verify_button(client, login, db, ids):
    pledges.record_by_worker(db, resident={"id": ids["res_a1"], "village_id": ids["yang"]}, notice_id=None,
                             form={**GOOD, "planned_date": "2024-01-02"}, user={"id": 1, "username": "admin"},
                             today=date(2024, 1, 1))
    login(client, "grid_a")
    page = client.get("/reach/pledges").get_data(as_text=True)
    assert "张秀英" in page and "/verify" in page
    pid = db.execute("SELECT id FROM pledges").fetchone()[0]
    assert client.post(f"/reach/pledges/{pid}/verify", data={"kept": "1"}).status_code == 302
    assert db.execute("SELECT status FROM pledges").fetchone()[0] == "kept"
    login(client, "official")
    page = client.get("/reach/pledges").get_data(as_text=True)
    assert "1户取消开灯酒" in page and "张秀英" not in page
