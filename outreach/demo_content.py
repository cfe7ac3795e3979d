"""Demo content beside the registry: a ready notice with audio, a loudspeaker and its week of plays.

Kept apart from :mod:`demo` (the people) because it needs the audio pipeline and the scheduler's
store; the notice audio is a synthetic draft when espeak-ng is installed, else the notice is
text-only (calls then read it with <Say>) and the seed says so.
"""
from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from audio.errors import AudioRejected, TTSFailed, TTSUnavailable
from schedules import planner, store as schedule_store
from schedules.recurrence import Rule

from .notices import store as notices
from .notices.drafts import synthesize_into

NOTICE_TITLE = "关于暂停举办宴席的通知"
NOTICE_TEXT = ("各位村民：为做好疫情防控，即日起暂停举办婚宴、寿宴、满月酒、开灯酒等各类宴席，"
               "红白喜事一律从简。已定好日子的，请联系网格员。听清楚了请按1。")
SMS_TEXT = "【杨家坪村】{name}您好，即日起暂停举办各类宴席，红白喜事从简。"


def seed_content(db, village_id: int, media_dir: str, *, now: datetime.datetime | None = None) -> list[str]:
    """Create the demo notice, loudspeakers and schedule; returns lines to print. Commits."""
    said = []
    now = now or datetime.datetime.now(datetime.timezone.utc)
    notice_id = notices.create(db, village_id, NOTICE_TITLE, NOTICE_TEXT)
    notices.update(db, notice_id, title=NOTICE_TITLE, text=NOTICE_TEXT, status=notices.READY, append_reply_hint=True)
    notices.set_sms_text(db, notice_id, "mandarin", SMS_TEXT)
    try:
        synthesize_into(db, media_dir, notice_id, "mandarin", NOTICE_TEXT, chime=True)
        said.append("demo notice has a synthetic Mandarin draft (record a real voice on the notice page)")
    except (TTSUnavailable, TTSFailed, AudioRejected, ValueError) as exc:
        said.append(f"demo notice is text-only: {exc}")
    notices.create(db, village_id, "春节返乡人员登记提醒", "请近期返乡的村民主动到村委会登记。")
    speaker = schedule_store.save_loudspeaker(db, village_id, name="村委会大喇叭", kind="alsa",
                                              config={"device": "null"})
    schedule_store.save_loudspeaker(db, village_id, name="流动宣传车", kind="portable", config={})
    local_today = now.astimezone(ZoneInfo("Asia/Shanghai")).date()
    rule = Rule.daily(["07:00", "12:00", "18:30"], start=local_today, until=local_today + datetime.timedelta(days=6),
                      timezone="Asia/Shanghai")
    schedule_store.create(db, village_id=village_id, kind=schedule_store.BROADCAST, name="宴席通知 每日三次",
                          notice_id=notice_id, rule=rule, now=now, loudspeaker_id=speaker, loops=3)
    planner.plan(db, now)  # the calendar shows the week at once; the worker plans further ahead
    said.append("loudspeaker 村委会大喇叭 (ALSA null device) plays the notice 07:00, 12:00, 18:30 for a week, 3 loops")
    return said
