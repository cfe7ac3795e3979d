"""Validation errors from the Flask-free domain code reach the user in the page's language.

Domain code raises ``UserError(N_(msgid), **params)``; views show ``i18n.error_text(exc)``. A Chinese
page must never read "未保存：title is required".
"""
from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from outreach.errors import N_, UserError
from outreach.i18n import error_text
from outreach.notices import store as notices
from outreach.registry import phones

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Three English words in a row: what a Chinese page shows when a reason was not translated.
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{2,}(?:\s+[A-Za-z]{2,}){2,}")
CAMPAIGN_FORM = {"name": "宴席通知外呼", "channel": "voice", "max_attempts": "3", "wait_busy": "10",
                 "wait_no_answer": "30", "wait_failed": "60", "window_start": "08:00", "window_end": "20:30",
                 "throttle_per_s": "1", "machine_behaviour": "leave_message"}


def error_boxes(page: str) -> list[str]:
    """The text of the page's error messages (flashes and form error lists), tags removed."""
    boxes = re.findall(r'class="flash error"[^>]*>(.*?)</(?:p|div)>', page, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", box).split()) for box in boxes]


# ---- the exception and the helper ----------------------------------------------------------------

def test_user_error_is_a_value_error_whose_text_is_english():
    exc = UserError(N_("birth year %(year)s is out of range"), year=1800)
    assert isinstance(exc, ValueError)
    assert str(exc) == "birth year 1800 is out of range"  # logs, the CLI and the scheduler read this
    assert exc.msgid == "birth year %(year)s is out of range" and exc.params == {"year": 1800}
    assert str(UserError("100% sure")) == "100% sure"  # no params: the msgid is not %-formatted
    with pytest.raises(ValueError, match="invalid phone number"):
        phones.normalise("12345")
    with pytest.raises(UserError):
        phones.normalise("12345")  # InvalidPhone keeps its name and is a UserError


def test_error_text_translates_user_errors_and_hides_sqlite_wording(app):
    exc = UserError(N_("birth year %(year)s is out of range"), year=1800)
    with app.test_request_context():
        with force_locale("zh"):
            assert error_text(exc) == "出生年份1800不在有效范围内"
            conflict = error_text(sqlite3.IntegrityError("UNIQUE constraint failed: residents.id"))
            assert conflict == "与已有的记录冲突。"
            assert error_text(ValueError("already translated")) == "already translated"
        with force_locale("en"):
            assert error_text(exc) == "birth year 1800 is out of range"
            assert error_text(sqlite3.IntegrityError("FOREIGN KEY constraint failed")).startswith("This refers")


def test_domain_code_raising_user_errors_does_not_load_flask():
    # The scheduler process and the CLI import these without the web app.
    code = ("import sys; import outreach.errors, outreach.registry.residents, outreach.notices.store, "
            "outreach.delivery.campaigns, schedules.store, schedules.recurrence, schedules.quiet_hours; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'flask_babel')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ---- through the pages ---------------------------------------------------------------------------

def _bad_resident(client, ids, db):
    return client.post(f"/villages/{ids['yang']}/residents/new", data={"name": "某人", "birth_year": "1800"})


def _bad_notice_title(client, ids, db):
    return client.post("/notices/new", data={"village_id": ids["yang"], "title": "  "}, follow_redirects=True)


def _bad_campaign_window(client, ids, db):
    notice_id = notices.create(db, ids["yang"], "暂停举办宴席", "即日起暂停举办各类宴席。")
    form = {**CAMPAIGN_FORM, "notice_id": notice_id, "window_start": "25:00"}
    page = client.post(f"/campaigns/new?notice_id={notice_id}", data={**form, "action": "preview"})
    key = re.search(r'name="preview_key" value="(\w+)"', page.get_data(as_text=True))[1]
    return client.post(f"/campaigns/new?notice_id={notice_id}", data={**form, "action": "start", "preview_key": key})


def _bad_schedule_time(client, ids, db):
    notice_id = notices.create(db, ids["yang"], "暂停举办宴席", "即日起暂停举办各类宴席。")
    tomorrow = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date()
    form = {"name": "宴席通知", "notice_id": str(notice_id), "times": "07:00, 25:00", "repeat": "daily",
            "start": tomorrow.isoformat(), "end": "never", "loops": "1", "loudspeaker_id": ""}
    return client.post(f"/schedule/new?village_id={ids['yang']}&kind=broadcast", data=form)


def _bad_do_not_call_number(client, ids, db):
    return client.post(f"/villages/{ids['yang']}/do-not-call", data={"phone": "12345"}, follow_redirects=True)


CASES = [  # (what the user does, the Chinese reason, the English reason)
    (_bad_resident, "出生年份1800不在有效范围内", "birth year 1800 is out of range"),
    (_bad_notice_title, "请填写标题", "title is required"),
    (_bad_campaign_window, "小时为00到23", "hours are 00-23 (24:00 may end a window)"),
    (_bad_schedule_time, "请用24小时制", "use 24-hour HH:MM"),
    (_bad_do_not_call_number, "电话号码无效", "invalid phone number"),
]


@pytest.mark.parametrize("act,chinese,english", CASES, ids=[c[0].__name__.lstrip("_") for c in CASES])
def test_the_chinese_page_gives_the_reason_in_chinese(client, login, ids, db, act, chinese, english):
    login(client, "sec_a")
    boxes = error_boxes(act(client, ids, db).get_data(as_text=True))
    assert len(boxes) == 1 and chinese in boxes[0], boxes
    assert not ENGLISH_SENTENCE.search(boxes[0]), boxes[0]


@pytest.mark.parametrize("act,chinese,english", CASES, ids=[c[0].__name__.lstrip("_") for c in CASES])
def test_the_english_page_gives_the_reason_in_english(client, login, ids, db, act, chinese, english):
    login(client, "sec_a")
    client.get("/lang/en")
    boxes = error_boxes(act(client, ids, db).get_data(as_text=True))
    assert len(boxes) == 1 and english in boxes[0], boxes
    assert not re.search(r"[\u4e00-\u9fff]", boxes[0].split(":")[0])  # the wrapper is English too
