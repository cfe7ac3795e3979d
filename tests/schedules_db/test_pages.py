"""Schedule pages: the week's calendar, a broadcast in a few fields, the overlap warning before saving,
past schedules refused, quiet hours and overrides, loudspeakers, portable bundles, and who may do what."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schedules import planner, store
from schedules.recurrence import Rule

SH = ZoneInfo("Asia/Shanghai")


def tomorrow():
    return (datetime.now(SH) + timedelta(days=1)).date()


def broadcast_form(notice, **changes):
    form = {"name": "宴席通知", "notice_id": str(notice), "times": "07:00, 12:00, 18:30", "repeat": "daily",
            "start": tomorrow().isoformat(), "end": "until", "until": (tomorrow() + timedelta(days=6)).isoformat(),
            "loops": "3", "loudspeaker_id": ""}
    form.update(changes)
    return form


@pytest.fixture
def sec_a(client, login):
    login(client, "sec_a")
    client.get("/lang/en")  # assertions below read the English texts
    return client


def test_a_week_of_broadcasts_takes_one_form_and_shows_on_the_7_day_calendar(sec_a, db, ids, notice, speaker):
    store.set_quiet_hours(db, ids["yang"], [], now=datetime.now(SH))
    page = sec_a.get(f"/schedule/new?village_id={ids['yang']}&kind=broadcast")
    assert page.status_code == 200 and "07:00, 12:00, 18:30" in page.text  # the defaults are the common case

    saved = sec_a.post(f"/schedule/new?village_id={ids['yang']}&kind=broadcast", data=broadcast_form(notice))
    assert saved.status_code == 302
    calendar = sec_a.get(f"/schedule?village_id={ids['yang']}")
    assert calendar.text.count('<section class="day') == 7
    assert calendar.text.count("宴席通知</a>") >= 18  # 3 a day on the 6 days shown after today
    assert db.execute("SELECT COUNT(*) FROM fires").fetchone()[0] >= 18  # planned at once, 7 days ahead
    planner.plan(db, datetime.now(SH) + timedelta(days=2))  # the worker plans the rest as days pass
    assert db.execute("SELECT COUNT(*) FROM fires").fetchone()[0] == 21
    schedule = db.execute("SELECT loops, rule FROM schedules").fetchone()
    assert schedule[0] == 3 and json.loads(schedule[1])["until"] == (tomorrow() + timedelta(days=6)).isoformat()


def test_overlapping_plays_on_one_loudspeaker_are_flagged_before_saving(sec_a, db, ids, notice, speaker):
    sec_a.post(f"/schedule/new?village_id={ids['yang']}&kind=broadcast", data=broadcast_form(notice))
    clash = broadcast_form(notice, name="防火通知", times="12:00", loops="1")

    warned = sec_a.post(f"/schedule/new?village_id={ids['yang']}&kind=broadcast", data=clash)
    assert warned.status_code == 409
    assert "宴席通知" in warned.text and 'name="confirm_overlap"' in warned.text
    assert db.execute("SELECT COUNT(*) FROM schedules").fetchone()[0] == 1  # nothing saved yet

    confirmed = sec_a.post(f"/schedule/new?village_id={ids['yang']}&kind=broadcast", data={**clash, "confirm_overlap": "1"})
    assert confirmed.status_code == 302
    assert db.execute("SELECT COUNT(*) FROM schedules").fetchone()[0] == 2

    apart = broadcast_form(notice, name="晚间通知", times="20:00", loops="1")
    assert sec_a.post(f"/schedule/new?village_id={ids['yang']}&kind=broadcast", data=apart).status_code == 302


def test_missed_fires_of_the_past_week_are_highlighted(sec_a, db, ids, notice, speaker):
    store.set_quiet_hours(db, ids["yang"], [], now=datetime.now(SH))
    yesterday = (datetime.now(SH) - timedelta(days=1)).replace(second=0, microsecond=0)
    store.create(db, village_id=ids["yang"], kind="broadcast", name="昨日广播", notice_id=notice,
                 rule=Rule.once(yesterday.date(), yesterday.strftime("%H:%M")), now=yesterday - timedelta(hours=1))
    planner.plan(db, yesterday - timedelta(hours=1))
    planner.settle(db, datetime.now(SH))  # the worker was down all day

    page = sec_a.get(f"/schedule?village_id={ids['yang']}")
    assert '<tr class="missed">' in page.text and '<strong class="missed">' in page.text
    assert "past its grace period" in page.text


def test_a_schedule_in_the_past_is_refused_with_a_clear_message(sec_a, db, ids, notice, speaker):
    yesterday = (datetime.now(SH) - timedelta(days=1)).date().isoformat()
    page = sec_a.post(f"/schedule/new?village_id={ids['yang']}&kind=broadcast",
                      data=broadcast_form(notice, repeat="once", times="07:00", start=yesterday))
    assert page.status_code == 400
    assert "already in the past" in page.text
    assert db.execute("SELECT COUNT(*) FROM schedules").fetchone()[0] == 0


def test_emergency_override_needs_a_reason_and_is_audited(sec_a, db, ids, notice, speaker):
    form = broadcast_form(notice, repeat="once", times="22:30", override_quiet="1", override_reason="")
    refused = sec_a.post(f"/schedule/new?village_id={ids['yang']}&kind=broadcast", data=form)
    assert refused.status_code == 400 and "needs a reason" in refused.text

    form["override_reason"] = "山洪预警，立即转移"
    assert sec_a.post(f"/schedule/new?village_id={ids['yang']}&kind=broadcast", data=form).status_code == 302
    row = db.execute("SELECT username, detail FROM audit_log WHERE action = 'quiet_hours_override'").fetchone()
    assert row[0] == "sec_a" and "山洪预警" in row[1]


def test_quiet_hours_are_edited_per_village_and_move_planned_plays(sec_a, db, ids, notice, speaker):
    sec_a.post(f"/schedule/new?village_id={ids['yang']}&kind=broadcast",
               data=broadcast_form(notice, repeat="once", times="07:00", loops="1"))
    assert sec_a.post(f"/villages/{ids['yang']}/quiet-hours", data={"quiet_hours": "21:00-07:30, 12:00-13:30"}
                      ).status_code == 302
    due = store.parse(db.execute("SELECT due_at FROM fires").fetchone()[0]).astimezone(SH)
    assert due.strftime("%H:%M") == "07:30"
    bad = sec_a.post(f"/villages/{ids['yang']}/quiet-hours", data={"quiet_hours": "25:00-07:00"},
                     follow_redirects=True)
    assert "not changed" in bad.text


def test_health_check_template_schedules_a_daily_call_to_monitored_residents(sec_a, db, ids, notice):
    page = sec_a.get(f"/schedule/new?village_id={ids['yang']}&kind=campaign&template=health_check")
    assert 'value="health_check" checked' in page.text and "09:00" in page.text
    form = {"name": "每日健康打卡", "notice_id": str(notice), "times": "09:00", "repeat": "daily",
            "start": tomorrow().isoformat(), "end": "never", "campaign_kind": "health_check", "channel": "voice",
            "tags": "home_monitoring", "max_attempts": "3", "call_window_start": "08:00", "call_window_end": "20:30"}
    assert sec_a.post(f"/schedule/new?village_id={ids['yang']}&kind=campaign", data=form).status_code == 302
    options = json.loads(db.execute("SELECT campaign_options FROM schedules").fetchone()[0])
    assert options["kind"] == "health_check" and options["audience"]["tags"] == ["home_monitoring"]


def test_pause_resume_cancel_and_the_broadcast_page(sec_a, db, ids, notice, speaker):
    sid = store.create(db, village_id=ids["yang"], kind="broadcast", name="早间广播", notice_id=notice,
                       rule=Rule.daily(["07:00"], start=tomorrow()), now=datetime.now(SH))
    assert sec_a.post(f"/schedule/{sid}/pause").status_code == 302
    assert store.get(db, sid)["status"] == "paused"
    assert sec_a.post(f"/schedule/{sid}/resume").status_code == 302
    assert sec_a.post(f"/schedule/{sid}/cancel").status_code == 302
    assert store.get(db, sid)["status"] == "cancelled"
    page = sec_a.get(f"/schedule/{sid}")
    assert page.status_code == 200 and "早间广播" in page.text and "Played / audio length" in page.text


def test_loudspeakers_are_validated_by_their_kind(sec_a, db, ids):
    bad = sec_a.post(f"/villages/{ids['yang']}/loudspeakers",
                     data={"name": "村口终端", "kind": "phone_terminal", "cfg_number": "12345", "active": "1"})
    assert bad.status_code == 400 and "E.164" in bad.text
    good = sec_a.post(f"/villages/{ids['yang']}/loudspeakers",
                      data={"name": "村口终端", "kind": "phone_terminal", "cfg_number": "+8613900009999", "active": "1"})
    assert good.status_code == 302
    assert json.loads(db.execute("SELECT config FROM loudspeakers").fetchone()[0]) == {"number": "+8613900009999"}


def test_portable_bundle_download_and_confirm_page(sec_a, db, ids, notice):
    van = store.save_loudspeaker(db, ids["yang"], name="宣传车", kind="portable", config={})
    store.set_quiet_hours(db, ids["yang"], [], now=datetime.now(SH))
    sec_a.post(f"/schedule/new?village_id={ids['yang']}&kind=broadcast",
               data=broadcast_form(notice, times="08:00, 15:00", loops="1", loudspeaker_id=str(van)))
    day = tomorrow().isoformat()
    download = sec_a.get(f"/loudspeakers/{van}/bundle?date={day}")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    play_ids = [r[0] for r in db.execute("SELECT id FROM plays ORDER BY id")]
    assert len(play_ids) == 2 and f"audio/01-{play_ids[0]}.mp3" in names and "day-sheet.html" in names

    page = sec_a.get(f"/loudspeakers/{van}/confirm")
    assert f'value="{play_ids[0]}"' in page.text
    sec_a.post(f"/loudspeakers/{van}/confirm", data={"play_id": [str(play_ids[0])]})
    assert db.execute("SELECT status, confirmed_by FROM plays WHERE id = ?", [play_ids[0]]).fetchone()[:] == (
        "confirmed", "page:sec_a")


@pytest.mark.parametrize("user, method, path, expected", [
    ("official", "GET", "/schedule?village_id={yang}", 200),  # officials read the calendar
    ("official", "GET", "/schedule/new?village_id={yang}", 403),
    ("official", "POST", "/villages/{yang}/quiet-hours", 403),
    ("grid_a", "GET", "/schedule?village_id={yang}", 200),
    ("grid_a", "GET", "/villages/{yang}/loudspeakers", 403),
    ("sec_b", "GET", "/schedule?village_id={yang}", 404),  # another village: not found
    ("sec_b", "GET", "/schedule/new?village_id={yang}", 404),
    ("sec_b", "POST", "/schedule/{sid}/pause", 404),
    ("sec_b", "GET", "/schedule/{sid}", 404),
    ("official_east", "GET", "/schedule/{sid}", 404),
    ("official", "POST", "/schedule/{sid}/cancel", 403),
    ("admin", "GET", "/schedule/{sid}", 200),
])
def test_access_by_role_and_village(client, login, db, ids, notice, speaker, user, method, path, expected):
    sid = store.create(db, village_id=ids["yang"], kind="broadcast", name="早间广播", notice_id=notice,
                       rule=Rule.daily(["07:00"], start=tomorrow()), now=datetime.now(SH))
    login(client, user)
    url = path.format(yang=ids["yang"], sid=sid)
    response = client.get(url) if method == "GET" else client.post(url, data={})
    assert response.status_code == expected
    assert store.get(db, sid)["status"] == "active"


def test_the_edit_form_opens_with_the_saved_values_and_replans_the_future(sec_a, db, ids, notice, speaker):
    store.set_quiet_hours(db, ids["yang"], [], now=datetime.now(SH))
    sec_a.post(f"/schedule/new?village_id={ids['yang']}&kind=broadcast",
               data=broadcast_form(notice, repeat="weekly", weekdays=["0", "3"], times="06:30", loops="2"))
    sid = db.execute("SELECT id FROM schedules").fetchone()[0]
    page = sec_a.get(f"/schedule/{sid}/edit")
    assert page.status_code == 200
    assert 'value="06:30"' in page.text and 'name="weekdays" value="3" checked' in page.text

    changed = sec_a.post(f"/schedule/{sid}/edit", data=broadcast_form(notice, repeat="daily", times="19:00"))
    assert changed.status_code == 302
    times = {store.parse(r[0]).astimezone(SH).strftime("%H:%M")
             for r in db.execute("SELECT fire_at FROM fires WHERE status = 'planned'")}
    assert times == {"19:00"}
    assert db.execute("SELECT action FROM audit_log WHERE action = 'schedule_edited'").fetchone() is not None
