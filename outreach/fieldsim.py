"""Field simulation: one full day in the demo village with the default policy, next to a one-shot call blast.

``flask --app wsgi field-sim`` (see :func:`simulate`). The day, in the village's local time::

    06:00  demo village seeded (outreach.demo + demo_content: notice with audio, loudspeaker schedule)
    07:00  loudspeaker fire (ALSA null device, 3 loops) — held by the village's quiet hours until 07:30;
           village-wide coverage, never an acknowledgement
    09:00  call campaign, voice then SMS: 3 attempts, busy +10 min, no answer +30 min, SMS fallback
    12:00  loudspeaker fire — held by the noon quiet hours until 13:30
    14:00  grid workers get their door-knock lists (elderly only: everyone not yet confirmed, incl. those
           a text reached) and visit each household
    17:00  households nobody answered at 14:00 are revisited; 19:30 once more, when people are back from
           the fields (the field notes' 敲门行动 runs into the evening)
    20:30  report, from the product's reach statistics (outreach.reach.state)

The blast: a copy of the same freshly seeded database, a voice-only campaign at 09:00 with one
attempt — no retries, no SMS, no loudspeaker, no door-knocking — on a fresh phone network with the
same seed (so each resident's first call goes exactly as in the full policy).

Phones, keys and replies are drawn per resident from the seed (:mod:`outreach.fieldsim_people`);
answer rates come from the simulator (age and the hour of the simulated clock). Nothing here
imports Flask: the caller passes ``make_app(instance_dir)`` returning the WSGI app to serve.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, time as dtime
from typing import Callable
from zoneinfo import ZoneInfo

from . import demo, fieldsim_people as people, fieldsim_report as report
from .db import connect
from .delivery import campaigns, outbox
from .fieldsim_stack import PhoneNetwork, SimClock
from .migrations import apply
from .reach import state

EVERYONE = "everyone"  # the call campaign targets every resident (household members can answer for the elderly)
ELDERLY = "elderly"    # only residents aged 70+
AUDIENCES = (EVERYONE, ELDERLY)
LISTS = ("unreached", "unacknowledged")  # which product list the grid workers get (fieldsim_people.knock)
# Default policy, in simulated seconds.
WAITS = {"busy": 600, "no-answer": 1800, "failed": 3600, "canceled": 1800, "machine": 1800}
MAX_ATTEMPTS = 3


@dataclass
class Options:
    households: int = 800        # main demo village (~2,000 residents, ~570 aged 70+)
    seed: int = 2020
    speed: float = 60.0          # simulated seconds per real second while calls are running
    audience: str = EVERYONE
    lists: str = "unreached"
    calls_per_s: float = 1.0     # simulated sending rate (Twilio's default: 1 call per second)
    day: date | None = None      # simulated date; today in the village by default

    def check(self) -> None:
        if not 1 <= self.households <= 20000:
            raise ValueError("households must be between 1 and 20000")
        if not 1 <= self.speed <= 1000:
            raise ValueError("speed must be between 1 and 1000")
        if self.audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}")
        if self.lists not in LISTS:
            raise ValueError(f"lists must be one of {', '.join(LISTS)}")
        if not 0.05 <= self.calls_per_s * self.speed <= 1000:
            raise ValueError("calls per second times speed must be between 0.05 and 1000")


def instance_config(instance: str) -> dict:
    """App settings for a simulated instance: its own database and media in ``instance``, nothing else
    shared with the real instance (the caller passes this to ``create_app``)."""
    return {"INSTANCE_PATH": instance, "SECRET_KEY": "fieldsim-" + os.path.basename(instance),
            "DATABASE": os.path.join(instance, "dalaba.sqlite"), "MEDIA_DIR": os.path.join(instance, "media"),
            "UPLOAD_DIR": os.path.join(instance, "uploads")}


class Day:
    """Local times of the simulated day as aware datetimes."""

    def __init__(self, day: date, tz: str):
        self.day, self.tz = day, ZoneInfo(tz)

    def at(self, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(self.day, dtime(hour, minute), tzinfo=self.tz)


def seed_village(make_app: Callable, instance: str, options: Options) -> tuple[int, int, date]:
    """Build the demo county in a fresh instance folder; returns (village id, notice id, simulated date)."""
    from .demo_content import NOTICE_TITLE, seed_content

    app = make_app(instance)
    db = connect(app.config["DATABASE"])
    try:
        apply(db)
        demo.seed(db, seed_value=options.seed, households=options.households)
        village, tz = db.execute("SELECT id, timezone FROM villages WHERE name = '杨家坪村'").fetchone()
        day = Day(options.day or datetime.now(ZoneInfo(tz)).date(), tz)
        seed_content(db, village, app.config["MEDIA_DIR"], now=day.at(6))
        notice = db.execute("SELECT id FROM notices WHERE village_id = ? AND title = ?",
                            [village, NOTICE_TITLE]).fetchone()[0]
    finally:
        db.close()
    return village, notice, day.day


def copy_instance(make_app: Callable, source: str, target: str) -> None:
    """A fresh copy of a seeded instance (SQLite backup API, media folder copied)."""
    src_app, dst_app = make_app(source), make_app(target)
    src, dst = connect(src_app.config["DATABASE"]), connect(dst_app.config["DATABASE"])
    try:
        src.conn.backup(dst.conn)
    finally:
        src.close()
        dst.close()
    shutil.copytree(src_app.config["MEDIA_DIR"], dst_app.config["MEDIA_DIR"], dirs_exist_ok=True)


def _campaign(db, village: int, notice: int, options: Options, clock: SimClock, *, blast: bool) -> tuple[int, dict]:
    audience = campaigns.Audience(village_id=village, min_age=70 if options.audience == ELDERLY else None)
    waits = {k: clock.real_seconds(v) for k, v in WAITS.items()}
    # The window is enforced by the simulated day (calls run from 09:00 to about noon); the product
    # compares it with the real clock, so here it must allow the whole day.
    campaign_id = campaigns.create(
        db, village_id=village, notice_id=notice, name="一次性外呼" if blast else "宴席通知 外呼+短信",
        channel="voice" if blast else "voice_then_sms", audience=audience,
        max_attempts=1 if blast else MAX_ATTEMPTS, retry_waits=waits, window="00:00-24:00",
        throttle_per_s=options.calls_per_s * options.speed)
    selection = campaigns.start(db, campaign_id, outbox.now_utc())
    return campaign_id, {"planned": len(selection.targets), "skipped": dict(selection.skipped)}


def _call_phase(app, db, village: int, notice: int, options: Options, clock: SimClock, day: Day,
                *, blast: bool, speakers: "Loudspeakers | None" = None) -> str:
    """09:00: the campaign on a fresh phone network until done; loudspeaker fires due meanwhile play on time."""
    last = day.at(13, 55)  # door-knocking starts at 14:00 whatever is still in flight
    with PhoneNetwork(app, seed=options.seed) as net:
        net.add_residents(people.phone_profiles(db, village, options.seed))
        clock.jump(day.at(9))
        net.sim.set_clock(clock.now())
        campaign_id, sel = _campaign(db, village, notice, options, clock, blast=blast)
        said = (f"call campaign to {options.audience}: {sel['planned']} residents called, skipped "
                + (", ".join(f"{k} {v}" for k, v in sel["skipped"].items()) or "none"))
        while True:
            due = speakers.next_due() if speakers else None
            status = net.run_campaign(campaign_id, clock, until=min(due, last) if due else last)
            if status in (campaigns.DONE, campaigns.CANCELLED) or clock.now() >= last:
                break
            speakers.play_until(clock.now())
        return f"{said}; campaign {status} at {clock.now():%H:%M}"


class Loudspeakers:
    """The village's broadcast schedules, run by the product's runner on the simulated clock."""

    def __init__(self, app, db, clock: SimClock, timeline: list):
        from schedules.runner import Runner

        self.db, self.clock, self.timeline = db, clock, timeline
        self.runner = Runner(app.config["DATABASE"], app.config["MEDIA_DIR"])

    def next_due(self) -> datetime | None:
        from schedules import planner

        return planner.next_due(self.db)

    def play_until(self, until: datetime) -> None:
        """Fire every schedule due up to ``until`` at its due time (after the village's quiet hours)."""
        for _ in range(100):  # each pass settles at least one fire; bounded all the same
            due = self.next_due()
            if due is None or due > until:
                return
            now = self.clock.jump(due)
            result = self.runner.run_once(now, wait=True)
            for fired in result["fired"]:
                row = self.db.execute("SELECT fire_at FROM fires WHERE id = ?", [fired.fire_id]).fetchone()
                planned = datetime.fromisoformat(row[0].replace("Z", "+00:00")).astimezone(now.tzinfo)
                self.timeline.append((f"{now:%H:%M}", f"loudspeaker: {len(fired.play_ids)} play(s) of the notice "
                                                      f"(scheduled {planned:%H:%M}, held until quiet hours ended)"
                                      if planned != now else f"loudspeaker: {len(fired.play_ids)} play(s)"))

    def close(self) -> None:
        self.runner.stop()


def run_policy(make_app: Callable, instance: str, village: int, notice_id: int, options: Options) -> dict:
    """The full day with the default policy; returns its timeline and figures."""
    started = time.monotonic()
    app = make_app(instance)
    db = connect(app.config["DATABASE"])
    notice = state.notice_of(db, notice_id)
    day = Day(options.day, notice["timezone"])
    clock = SimClock(day.at(7), options.speed)
    timeline: list = []
    speakers = Loudspeakers(app, db, clock, timeline)
    try:
        speakers.play_until(day.at(9))
        timeline.append(("09:00", _call_phase(app, db, village, notice_id, options, clock, day, blast=False,
                                               speakers=speakers)))
        speakers.play_until(day.at(14))
        rounds = {}
        for round_no, (hour, minute) in ((1, (14, 0)), (2, (17, 0)), (3, (19, 30))):
            clock.jump(day.at(hour, minute))
            only = rounds[round_no - 1]["not_home_ids"] if round_no > 1 else None
            rounds[round_no] = t = people.knock(db, notice, when=clock.now(), seed=options.seed, round_no=round_no,
                                                only=only, lists=options.lists)
            timeline.append((clock.now().strftime("%H:%M"),
                             f"door-knock round {round_no}: {t['listed']} elderly in {t['households']} households "
                             f"→ informed {t['informed']}, not home {t['not_home']}, refused {t['refused']}, "
                             f"moved {t['moved']}"))
        speakers.play_until(day.at(20, 30))
        clock.jump(day.at(20, 30))
        timeline.append(("20:30", "end of day: report"))
        timeline.sort(key=lambda entry: entry[0])
        coverage = state.coverage(db, notice_id)
        return {"timeline": timeline, "channels": report.channel_counts(db, notice),
                "left_over": report.left_over(db, notice), "figure": report.elderly_figure(db, notice),
                "plays": coverage["played"], "seconds": time.monotonic() - started}
    finally:
        speakers.close()
        db.close()


def run_blast(make_app: Callable, instance: str, village: int, notice_id: int, options: Options) -> dict:
    """The one-shot call blast on its own copy of the database."""
    started = time.monotonic()
    app = make_app(instance)
    db = connect(app.config["DATABASE"])
    try:
        notice = state.notice_of(db, notice_id)
        day = Day(options.day, notice["timezone"])
        clock = SimClock(day.at(9), options.speed)
        said = _call_phase(app, db, village, notice_id, options, clock, day, blast=True)
        return {"timeline": [("09:00", said)], "channels": report.channel_counts(db, notice),
                "left_over": report.left_over(db, notice), "figure": report.elderly_figure(db, notice),
                "plays": state.coverage(db, notice_id)["played"], "seconds": time.monotonic() - started}
    finally:
        db.close()


def simulate(make_app: Callable[[str], object], workdir: str | None, options: Options,
             say: Callable[[str], None] = print) -> dict:
    """Seed, run the full day and the blast, and return the report (``fieldsim_report.lines`` prints it).

    ``make_app(instance_dir)`` returns the app whose DATABASE and MEDIA_DIR live in that folder.
    ``workdir`` must be empty or missing: two instance folders (policy, blast) are made in it;
    None uses a temporary folder, removed afterwards.
    """
    options.check()
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="fieldsim-") as tmp:
            return simulate(make_app, tmp, options, say)
    if os.path.isdir(workdir) and os.listdir(workdir):
        raise ValueError(f"{workdir} is not empty")
    started = time.monotonic()
    policy_dir, blast_dir = os.path.join(workdir, "policy"), os.path.join(workdir, "blast")
    say(f"seeding the demo village ({options.households} households, seed {options.seed}) …")
    village, notice, day = seed_village(make_app, policy_dir, options)
    options = replace(options, day=day)  # both runs simulate the same date
    copy_instance(make_app, policy_dir, blast_dir)
    seed_s = time.monotonic() - started
    say(f"simulating the day at x{options.speed:g} …")
    policy = run_policy(make_app, policy_dir, village, notice, options)
    say("simulating the one-shot blast …")
    blast = run_blast(make_app, blast_dir, village, notice, options)
    return {"village": "杨家坪村", "seed": options.seed, "speed": options.speed, "audience": options.audience,
            "lists": options.lists, "policy": policy, "blast": blast, "seed_s": seed_s,
            "seconds": time.monotonic() - started}
