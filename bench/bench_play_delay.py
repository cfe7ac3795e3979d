"""P6: start delay of loudspeaker plays vs their scheduled time, through the real fire path, under P2 load.

    .venv/bin/python bench/bench_play_delay.py [--seconds 30] [--spacing 0.75] [--endpoints 4]
        [--load p2|busy|none] [--clients 4] [--runner scratch/runner.py]

What runs, all real: a village with a notice whose audio went through the upload processing, several
ALSA loudspeakers on the null device (ffmpeg decodes, aplay plays), and ``schedules.runner.Runner``
started with the real clock (APScheduler, planner, settle, play claims, the play thread pool, the play
log). Meanwhile the P2 load of bench_callbacks.py hits the same database file: the app under waitress
in its own process, ``--clients`` processes posting signed status callbacks as fast as it answers.

The fires: one village-wide broadcast with a real one-off rule on the next whole minute inside the
window (all loudspeakers at once, woken by APScheduler and by the runner's own timer), plus one
broadcast every ``--spacing`` seconds, round-robin over the loudspeakers. Rules only know HH:MM, so
those get a one-off rule for tomorrow, are planned by the real planner, and only their fire time is
moved to the wanted instant; from the fires table on, the path is the product's. By default nothing
but the runner's own timer wakes it for them — the path of every fire moved by quiet hours (an 07:00
play under the default 21:00–07:30 becomes due at 07:30, while its APScheduler job rings at 07:00) and
of every retry; ``--job-wakes`` adds an APScheduler job at each instant, the path of a fire on time.

Delay = the moment audio flows into aplay (the output's ``on_started``) − the fire's ``fire_at``.
The play log's own figure (``plays.started_at − fires.fire_at``) is printed next to it, with where the
time goes: wake (fire_at → the pass that fired it), the pass (plan, settle, claim), the hand-off to a
play thread, ``plays.execute`` up to ``output.play``, and ffmpeg + aplay until the first audio.
A fire without a started play counts as an infinite delay. Ends with a RESULT line; target p99 <= 1 s.
"""
import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone

from _common import make_village
from _p6_helpers import (BusyLoad, P2Load, Probe, aplay_available, load_runner, make_notice, make_speakers,
                         p2_attempts, parse_iso, pct, summary, timed_make, timed_schedules,
                         village_minute_schedule)

from outreach.db import connect, rows
from schedules import store

TARGET_P99_S = 1.0
LEAD_S = 5.0  # load clients and the runner start this long before the first fire
UTC = timezone.utc


def timeline(window_s: float, spacing: float, audio_s: float) -> tuple[float, float, list[float]]:
    """(first instant, the whole minute inside the window, the sub-minute instants), as epoch seconds.
    The window is stretched (to at most ~62 s) until it contains a whole minute: fires, not idle waiting."""
    start = time.time() + LEAD_S
    minute = math.ceil((start + 2) / 60) * 60
    stop = max(start + window_s, minute + 2)
    instants = [round(start + i * spacing, 3) for i in range(int((stop - start) / spacing) + 1)]
    # Keep the minute broadcast's loudspeakers free for it: no single-speaker fire while it plays.
    instants = [t for t in instants if not minute - audio_s - 0.5 < t < minute + audio_s + 0.5]
    return start, minute, instants


def add_wake_jobs(runner, schedule_ids, instants):
    """What sync_jobs gives a schedule whose rule fires on the minute — a job at the fire's instant that
    calls ``runner.wake(schedule id)`` — for the sub-minute fires (their rules say tomorrow)."""
    from apscheduler.triggers.date import DateTrigger

    for schedule_id, at in zip(schedule_ids, instants):
        runner.scheduler.add_job(runner.wake, DateTrigger(run_date=datetime.fromtimestamp(at, UTC)),
                                 args=[schedule_id], id=f"bench-fire-{schedule_id}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=30.0,
                    help="window with fires (stretched to contain the next whole minute)")
    ap.add_argument("--spacing", type=float, default=0.75, help="seconds between single-speaker fires")
    ap.add_argument("--endpoints", type=int, default=4, help="ALSA null loudspeakers")
    ap.add_argument("--load", choices=("p2", "busy", "none"), default="p2")
    ap.add_argument("--clients", type=int, default=4, help="P2 callback client processes")
    ap.add_argument("--threads", type=int, default=8, help="waitress threads")
    ap.add_argument("--attempts", type=int, default=15000, help="SMS attempts the callbacks move")
    ap.add_argument("--busy", type=int, default=2, help="busy processes for --load busy")
    ap.add_argument("--job-wakes", action="store_true",
                    help="also give each sub-minute fire an APScheduler job at its instant (as a fire on the "
                         "minute has); by default only the runner's own timer wakes it for them")
    ap.add_argument("--runner", default="", help="a scratch copy of schedules/runner.py to measure instead")
    args = ap.parse_args()
    if not aplay_available():
        sys.exit("needs aplay (Debian package alsa-utils)")
    began = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="bench_play_delay_") as work:
        db_path, media_dir = os.path.join(work, "dalaba.sqlite"), os.path.join(work, "media")
        os.makedirs(media_dir)
        village, _ = make_village(db_path, args.attempts if args.load == "p2" else 10)
        db = connect(db_path)
        store.set_quiet_hours(db, village, [], now=datetime.now(UTC))  # the bench runs at any hour
        notice, audio_s = make_notice(db, media_dir, village)
        speakers = make_speakers(db, village, args.endpoints)
        attempts = p2_attempts(db, village, args.attempts) if args.load == "p2" else []
        load = P2Load(work, db_path, threads=args.threads) if args.load == "p2" else None
        print(f"set-up {time.monotonic() - began:.1f} s: {len(attempts)} SMS attempts for the callbacks, "
              f"notice audio {audio_s:.2f} s, {len(speakers)} loudspeakers (ALSA null)", flush=True)

        start, minute, instants = timeline(args.seconds, args.spacing, audio_s)
        now = datetime.now(UTC)
        timed = timed_schedules(db, village, notice, speakers, [datetime.fromtimestamp(t, UTC) for t in instants],
                                now)
        whole = village_minute_schedule(db, village, notice, datetime.fromtimestamp(minute, UTC), now)
        end = max(instants[-1], minute) + audio_s + 3.0  # the last play has started long before this

        busy = BusyLoad(args.busy) if args.load == "busy" else None
        if load:
            load.start(attempts, end - time.time(), args.clients)
        module = load_runner(args.runner)
        probe = Probe()
        runner = module.Runner(db_path, media_dir, make=timed_make(probe, module.default_make))
        undo = probe.install(runner)
        try:
            runner.start()
            if args.job_wakes:
                add_wake_jobs(runner, timed, instants)
            time.sleep(max(0.0, end - time.time()))
        finally:
            runner.stop()
            probe.uninstall(undo)
            callbacks = load.finish() if load else None
            if load:
                load.stop()
            if busy:
                busy.stop()
        found = rows(db, f"""SELECT f.id AS fire_id, f.schedule_id, f.fire_at, f.decided_at, f.status AS fire_status,
                                    f.note, p.id AS play_id, p.status, p.created_at, p.started_at, p.error, p.attempts
                             FROM fires f LEFT JOIN plays p ON p.fire_id = f.id
                             WHERE f.schedule_id IN ({','.join('?' * (len(timed) + 1))}) ORDER BY f.fire_at, p.id""",
                     [*timed, whole])
        db.close()

    report(args, found, probe, callbacks, start, end, instants, whole, time.monotonic() - began)


def report(args, found, probe, callbacks, start, end, instants, whole, took_s):
    true, logged, problems = [], [], []
    steps = {k: [] for k in ("wake", "pass", "handoff", "execute", "output")}
    for r in found:
        fire_at = parse_iso(r["fire_at"])
        marks = probe.play.get(r["play_id"], {})
        if r["play_id"] is None or "audio" not in marks:
            problems.append(f"fire {r['fire_id']} ({r['fire_status']} {r['note']}) play {r['play_id']} "
                            f"{r['status']} {r['error'] or ''}".strip())
            true.append(math.inf)
            logged.append(math.inf)
            continue
        true.append(marks["audio"] - fire_at)
        logged.append(parse_iso(r["started_at"]) - fire_at if r["started_at"] else math.inf)
        decided = parse_iso(r["decided_at"])
        steps["wake"].append(decided - fire_at)
        for name, a, b in (("pass", None, "claimed"), ("handoff", "claimed", "thread"),
                           ("execute", "thread", "output"), ("output", "output", "audio")):
            if b in marks and (a is None or a in marks):
                steps[name].append(marks[b] - (decided if a is None else marks[a]))

    minute_plays = sum(1 for r in found if r["schedule_id"] == whole)
    print(f"fires: {len(instants)} single-speaker every {args.spacing:g} s + 1 village-wide on the minute "
          f"({minute_plays} plays); load {args.load}; window {end - start:.0f} s; woken by "
          f"{'APScheduler jobs and the runner timer' if args.job_wakes else 'the runner timer'}")
    if callbacks:
        count, p99_ms = callbacks
        print(f"P2 load during the window: {count} signed status callbacks, {count / (end - start + 1):.0f}/s, "
              f"p99 {p99_ms:.0f} ms")
    finite = [d for d in true if d != math.inf]
    print(summary("start delay (audio flowing)", finite))
    print(summary("start delay (play log started_at)", [d for d in logged if d != math.inf]))
    if finite:
        print(f"  mean {statistics.mean(finite) * 1000:.0f} ms; play log minus truth "
              f"{statistics.mean(l - t for l, t in zip(logged, true) if t != math.inf) * 1000:+.0f} ms on average")
    print("where the time goes:")
    labels = {"wake": "wake: fire_at → pass start", "pass": "pass: start → play claimed",
              "handoff": "claimed → play thread", "execute": "execute → output.play",
              "output": "output.play → audio (ffmpeg+aplay)"}
    for key, label in labels.items():
        print("  " + summary(label, steps[key]))
    print("runner calls in the window:")
    for name, calls in sorted(probe.calls.items()):
        inside = [s for t0, s in calls if start - 1 <= t0 <= end]
        if inside:
            print(f"  {name:<30} n={len(inside):4d}  p50 {pct(inside, .5) * 1000:6.1f}  "
                  f"max {max(inside) * 1000:6.1f} ms")
    # A sleep that began with a fire already due and lasted past it: the fire waited for the sleep to end.
    overslept = []
    for r in {r["fire_id"]: r for r in found}.values():
        fire_at, decided = parse_iso(r["fire_at"]), parse_iso(r["decided_at"])
        for t0, timeout, slept in probe.sleeps:
            if fire_at - 0.02 <= t0 < (decided or math.inf) and slept > 0.5:
                overslept.append((slept, timeout, t0 - fire_at))
                break
    if overslept:
        slept, timeout, late = max(overslept)
        print(f"the loop went to sleep with a fire already due {len(overslept)} time(s): worst slept {slept:.2f} s "
              f"(timeout {timeout:.2f} s) from {late * 1000:+.0f} ms after the fire time")
    if probe.wakes:
        print(f"APScheduler wakes: {len(probe.wakes)} (schedules {sorted({s for _, s in probe.wakes})[:5]})")
    for line in problems[:5]:
        print("  not started: " + line)
    p99 = pct(true, 0.99)
    print(f"took {took_s:.0f} s")
    ok = not problems and p99 <= TARGET_P99_S
    print(f"RESULT play_start_delay_p99 {p99:.3f} s target <= {TARGET_P99_S:g} {'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
