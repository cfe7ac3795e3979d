"""Bench: the reach dashboard and the daily report over 100,000 residents and 1,000,000 deliveries.

    .venv/bin/python bench/bench_reach.py [--residents 100000] [--deliveries 1000000] [--runs 7] [--profile]

Generates a county in a temporary SQLite file with bulk inserts (2 townships × 10 villages; grids,
households of four, 30 % aged 70+, some living alone or without a phone; seven notices per village,
each sent as the product sends one — a call to everyone with a phone, a text where the call did not
reach a person, a resend round — so the outbox holds ``--deliveries`` rows, about 1/7 of them on the
notices in progress; acknowledgements, pledges, visits and loudspeaker plays). Then times, as server time on a
read-only connection (what the web app uses for dashboards), the median of ``--runs`` runs of:
- the dashboard query set for a county official (every village: the largest scope there is);
- the daily report for one township.
Each is timed cold (the per-notice memo of ``outreach/reach/cache.py`` cleared before every run) and
in the steady state of a working day: a campaign running in one village records an answer and an
acknowledgement before every run, so that village is recomputed and the others are checked against
their fingerprints. The RESULT lines give the steady-state figures; the cold ones are printed above.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from outreach.db import connect  # noqa: E402
from outreach.migrations import apply  # noqa: E402
from outreach.reach import cache, report, stats  # noqa: E402

TARGET_MS = 300
VILLAGES_PER_TOWNSHIP = 10
TOWNSHIPS = 2
GRIDS = 7
NOTICES = 7              # notices per village; the last is the one in progress
SMS_FALLBACK_SHARE = 0.36  # texts per call: the share of calls that did not reach a person, most texted
DAY = date(2024, 5, 1)  # the day the notices in progress went out (village time)
T0 = datetime(2024, 5, 1, 0, 30, tzinfo=timezone.utc)


def ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def generate(db, residents: int, deliveries: int, seed: int = 11) -> dict:
    rng = random.Random(seed)
    conn = db.conn
    conn.execute("BEGIN")
    conn.execute("INSERT INTO counties (id, name) VALUES (1, '青山县')")
    villages = TOWNSHIPS * VILLAGES_PER_TOWNSHIP
    per_village = residents // villages
    for t in range(TOWNSHIPS):
        conn.execute("INSERT INTO townships (id, county_id, name) VALUES (?, 1, ?)", [t + 1, f"第{t + 1}镇"])
    conn.execute("INSERT INTO users (id, username, password_hash, role) VALUES (1, 'bench', 'x', 'admin')")
    res_rows, hh_rows, phone_rows, tag_rows = [], [], [], []
    rid = 0
    for v in range(1, villages + 1):
        conn.execute("INSERT INTO villages (id, township_id, name) VALUES (?, ?, ?)",
                     [v, (v - 1) // VILLAGES_PER_TOWNSHIP + 1, f"第{v}村"])
        for g in range(GRIDS):
            conn.execute("INSERT INTO grids (id, village_id, name) VALUES (?, ?, ?)", [v * 100 + g, v, f"{g + 1}网格"])
        for i in range(per_village):
            rid += 1
            hh = (rid - 1) // 4 + 1
            grid = v * 100 + (i * GRIDS) // per_village
            if (rid - 1) % 4 == 0:
                hh_rows.append((hh, v, grid, f"{(i * GRIDS) // per_village + 1}组{i // 4 + 1:04d}号"))
            birth = rng.choice(range(1930, 1955)) if rng.random() < 0.3 else rng.choice(range(1955, 2010))
            res_rows.append((rid, v, hh, grid, f"村民{rid}", birth, int(rng.random() < 0.03)))
            if rng.random() < 0.06:
                tag_rows.append((rid, "no_phone"))
            else:
                phone_rows.append((rid, v, f"+86139{rid:08d}"))
            if rng.random() < 0.08:
                tag_rows.append((rid, "lives_alone"))
    conn.executemany("INSERT INTO households (id, village_id, grid_id, house_number) VALUES (?, ?, ?, ?)", hh_rows)
    conn.executemany("INSERT INTO residents (id, village_id, household_id, grid_id, name, birth_year, lives_elsewhere) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", res_rows)
    conn.executemany("INSERT INTO resident_phones (resident_id, village_id, e164) VALUES (?, ?, ?)", phone_rows)
    conn.executemany("INSERT INTO resident_tags (resident_id, tag) VALUES (?, ?)", tag_rows)
    phoned = [(r, v) for r, v, _ in phone_rows]
    # Each notice goes out as the product sends it: a call to everyone with a phone, a text to those the
    # call did not reach (voice then SMS), and a resend round to some of the rest; the per-notice share
    # of extra rounds is set so the outbox holds ``deliveries`` rows over NOTICES notices per village.
    per_resident = deliveries / (len(phoned) * NOTICES)
    resend_p = min(1.0, max(0.0, per_resident - 1 - SMS_FALLBACK_SHARE))
    outcomes_voice = [("done", "answered")] * 50 + [("done", "machine")] * 5 + [("failed", "no-answer")] * 15 + \
        [("failed", "busy")] * 8 + [("retry", "busy")] * 4 + [("pending", None)] * 3 + [("failed", "failed")] * 5 + \
        [("expired", None)] * 2
    outcomes_sms = [("done", "delivered")] * 85 + [("failed", "undelivered")] * 10 + [("wired", None)] * 5
    camp_id, notice_id, n_out = 0, 0, 0
    out_rows, resp_rows = [], []
    by_village: dict[int, list[int]] = {}
    for r, v in phoned:
        by_village.setdefault(v, []).append(r)

    def flush():
        conn.executemany("""INSERT OR IGNORE INTO outbox (campaign_id, resident_id, village_id, channel, to_e164,
            status, attempts, outcome, heard_full, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)""", out_rows)
        out_rows.clear()

    for v in range(1, villages + 1):
        for k in range(NOTICES):
            notice_id += 1
            sent = T0 + timedelta(days=k - NOTICES + 1)
            conn.execute("INSERT INTO notices (id, village_id, title, status, created_at) VALUES (?, ?, ?, 'ready', ?)",
                         [notice_id, v, f"通知{k + 1}", ts(sent)])
            main_id, resend_id = camp_id + 1, camp_id + 2
            camp_id += 2
            current = k == NOTICES - 1
            for cid, name, offset in ((main_id, "电话+短信", 0), (resend_id, "补发", 6)):
                running = current and offset > 0  # the resend round of the notice in progress is still going
                conn.execute("""INSERT INTO campaigns (id, village_id, notice_id, name, channel, status, finished_at,
                                started_at) VALUES (?, ?, ?, ?, 'voice_then_sms', ?, ?, ?)""",
                             [cid, v, notice_id, name, "running" if running else "done",
                              None if running else ts(sent + timedelta(hours=offset + 30)),
                              ts(sent + timedelta(hours=offset))])
            for r in by_village.get(v, []):
                rounds = [(main_id, "voice", 0)]
                if rng.random() < resend_p:
                    rounds.append((resend_id, "voice", 6))
                for cid, channel, offset in rounds:
                    status, outcome = rng.choice(outcomes_voice)
                    sends = [(channel, status, outcome)]
                    if outcome != "answered" and status in ("failed", "done") and \
                            rng.random() < SMS_FALLBACK_SHARE / 0.4:
                        sends.append(("sms", *rng.choice(outcomes_sms)))
                    for ch, st, oc in sends:
                        at = ts(sent + timedelta(hours=offset, minutes=rng.randint(1, 1800)))
                        heard = int(oc == "answered" and rng.random() < 0.7)
                        attempts = 0 if st == "pending" else rng.randint(1, 3)
                        out_rows.append((cid, r, v, ch, f"+86139{r:08d}", st, attempts, oc, heard, at, at))
                        n_out += 1
                        if oc in ("answered", "delivered") and rng.random() < 0.6:
                            resp_rows.append((v, r, cid, notice_id, ch, "ack" if rng.random() < 0.95 else "pledge",
                                              at, f"b{len(resp_rows)}"))
            if len(out_rows) > 50_000:
                flush()
    flush()
    conn.executemany("""INSERT OR IGNORE INTO responses (village_id, resident_id, campaign_id, notice_id, channel, kind,
        at, dedupe_key) VALUES (?,?,?,?,?,?,?,?)""", resp_rows)
    # Visits to some of the unreached, pledges, loudspeaker plays.
    visits = [(v, r, v * NOTICES, rng.choice(("informed", "not_home", "moved", "refused", "informed")),
               ts(T0 + timedelta(days=2, minutes=rng.randint(0, 600))))
              for r, v in ((rng.randint(1, rid), None) for _ in range(residents // 50))
              for v in [(r - 1) // per_village + 1]]
    conn.executemany("INSERT INTO visits (village_id, resident_id, notice_id, outcome, visited_at) VALUES (?,?,?,?,?)",
                     visits)
    conn.executemany("""INSERT INTO pledges (village_id, resident_id, notice_id, event_type, decision, planned_date,
        channel, created_at) VALUES (?,?,?,?,?,?,?,?)""",
                     [((r - 1) // per_village + 1, r, ((r - 1) // per_village + 1) * NOTICES,
                       rng.choice(("wedding", "funeral", "birthday", "lantern", "lantern")), "cancel", "2024-05-20",
                       "sms", ts(T0 + timedelta(days=rng.randint(0, 3)))) for r in
                      rng.sample(range(1, rid + 1), residents // 200)])
    for v in range(1, villages + 1):
        conn.execute("INSERT INTO loudspeakers (id, village_id, name, kind) VALUES (?, ?, '村委大喇叭', 'alsa')", [v, v])
        conn.execute("""INSERT INTO schedules (id, village_id, kind, name, notice_id, loudspeaker_id, rule, grace_s)
                        VALUES (?, ?, 'broadcast', '每日三次', ?, ?, '{}', 900)""", [v, v, v * NOTICES, v])
        for d in range(4):
            for slot, hour in enumerate((23, 4, 10)):  # 07:00, 12:00, 18:00 Beijing time
                at = T0.replace(hour=hour) + timedelta(days=d - 1)
                status = "missed" if rng.random() < 0.1 else "fired"
                fid = conn.execute("INSERT INTO fires (schedule_id, village_id, fire_at, due_at, status) "
                                   "VALUES (?, ?, ?, ?, ?)", [v, v, ts(at), ts(at), status]).lastrowid
                if status == "fired":
                    conn.execute("INSERT INTO plays (fire_id, loudspeaker_id, village_id, status, created_at) "
                                 "VALUES (?, ?, ?, ?, ?)", [fid, v, v, rng.choice(("finished",) * 9 + ("failed",)),
                                                            ts(at)])
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    return {"residents": rid, "deliveries": n_out, "responses": len(resp_rows), "visits": len(visits)}


def median_ms(fn, runs: int, before=None) -> tuple[float, list[float]]:
    """Median wall time of ``fn`` over ``runs`` runs; ``before`` runs untimed ahead of each one."""
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), times


class CampaignTick:
    """Between two dashboard loads a running campaign in one village records an answer and an ack,
    which changes that village's reach (and nothing else) — the steady state of a working day."""

    def __init__(self, path: str, village_id: int = 1):
        self.db = connect(path)
        self.village_id = village_id
        self.notice_id, self.campaign_id = self.db.execute(
            "SELECT notice_id, id FROM campaigns WHERE village_id = ? AND status = 'running'", [village_id]).fetchone()
        self.rows = [r[0] for r in self.db.execute(
            "SELECT id FROM outbox WHERE campaign_id = ? AND status != 'done' LIMIT 1000", [self.campaign_id])]
        self.n = 0

    def __call__(self):
        outbox_id = self.rows[self.n % len(self.rows)]
        self.n += 1
        now = ts(datetime.now(timezone.utc))
        with self.db.conn:
            self.db.execute("UPDATE outbox SET status = 'done', outcome = 'answered', updated_at = ? WHERE id = ?",
                            [now, outbox_id])
            self.db.execute("""INSERT INTO responses (village_id, resident_id, campaign_id, notice_id, channel, kind,
                               dedupe_key, at) SELECT village_id, resident_id, campaign_id, ?, 'voice', 'ack', ?, ?
                               FROM outbox WHERE id = ?""", [self.notice_id, f"tick{self.n}-{now}", now, outbox_id])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="print the top functions of one cold dashboard run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.sqlite")
        db = connect(path)
        apply(db)
        start = time.perf_counter()
        made = generate(db, args.residents, args.deliveries)
        print(f"generated {made} in {time.perf_counter() - start:.1f} s; cores {os.cpu_count()}")
        db.close()
        ro = connect(path, readonly=True)
        county = stats.dashboard(ro, None, today=DAY)
        print(f"county dashboard: {len(county['villages'])} villages, targeted {county['total']['targeted']}, "
              f"reached {county['total']['delivered_rate']} %, acknowledged {county['total']['acknowledged_rate']} %")
        township = [r[0] for r in ro.execute("SELECT id FROM villages WHERE township_id = 1")]
        daily = report.daily(ro, 1, DAY)
        print(f"daily report {DAY}: {len(daily['rows'])} villages, total {daily['total']}")

        dashboard = lambda: stats.dashboard(ro, None, today=DAY)  # noqa: E731
        daily_report = lambda: report.daily(ro, 1, DAY)  # noqa: E731
        # Cold: nothing memoised (first load of the morning, or every village changed since the last one).
        cold_dash, _ = median_ms(dashboard, args.runs, before=cache.clear)
        cold_town, _ = median_ms(lambda: stats.dashboard(ro, township, today=DAY), args.runs, before=cache.clear)
        cold_daily, _ = median_ms(daily_report, args.runs, before=cache.clear)
        # Steady state: a campaign is running in one village and records an answer between two loads.
        tick = CampaignTick(path)
        dashboard()
        daily_report()
        dash_ms, dash_all = median_ms(dashboard, args.runs, before=tick)
        daily_ms, daily_all = median_ms(daily_report, args.runs, before=tick)
        print(f"cold (no memo): county dashboard {cold_dash:.0f} ms, township dashboard {cold_town:.0f} ms, "
              f"daily report {cold_daily:.0f} ms")
        print(f"while a campaign runs in one village: county dashboard median {dash_ms:.0f} ms "
              f"(runs {', '.join(f'{t:.0f}' for t in dash_all)}); daily report median {daily_ms:.0f} ms "
              f"(runs {', '.join(f'{t:.0f}' for t in daily_all)})")
        if args.profile:
            cache.clear()
            profiler = cProfile.Profile()
            profiler.enable()
            dashboard()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(15)
        tick.db.close()
        ro.close()
    for name, value in (("dashboard_ms", dash_ms), ("daily_report_ms", daily_ms)):
        print(f"RESULT {name} {value:.0f} ms target <= {TARGET_MS} {'PASS' if value <= TARGET_MS else 'MISS'}")


if __name__ == "__main__":
    main()
