"""P3: planning a campaign for 100,000 residents vs a bare executemany of the same outbox rows.

    .venv/bin/python bench/bench_planning.py [--residents 100000] [--runs 3]

"Planning" is what Start does: select the audience, pick each person's number (skipping no-phone,
do-not-call and opted-out), and insert one outbox row each in one transaction. The bare side
inserts the identical rows with one executemany. Target: planning <= 2x the bare insert.
"""
import argparse
import os
import shutil
import statistics
import tempfile
import time

from _common import make_village, result_line

from outreach.db import connect, write
from outreach.delivery import campaigns, outbox
from outreach.notices import store


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ours, bare = [], []
    with tempfile.TemporaryDirectory(prefix="bench_planning_") as work:
        template = os.path.join(work, "template.sqlite")
        village, _ = make_village(template, args.residents)
        db = connect(template)
        notice = store.create(db, village, "基准通知", "基准")
        with write(db):  # a realistic registry: some without phones, a do-not-call list, opt-outs
            db.execute("INSERT INTO resident_tags (resident_id, tag) SELECT id, 'no_phone' FROM residents WHERE id % 50 = 0")
            db.execute("INSERT INTO do_not_call (village_id, e164) SELECT village_id, e164 FROM resident_phones "
                       "WHERE resident_id % 97 = 0")
            db.execute("INSERT INTO opt_outs (e164, source) SELECT e164, 'sms' FROM resident_phones WHERE resident_id % 89 = 0")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        for run in range(args.runs):
            path = os.path.join(work, f"run{run}.sqlite")
            shutil.copy(template, path)
            db = connect(path)
            campaign = campaigns.create(db, village_id=village, notice_id=notice, name="bench", channel="sms",
                                        audience=campaigns.Audience(village_id=village, min_age=0))
            t = time.perf_counter()
            selection = campaigns.start(db, campaign, outbox.now_utc())
            ours.append(time.perf_counter() - t)
            rows = [(campaign, rid, village, ch, to, outbox.iso(outbox.now_utc())) for rid, ch, to in selection.targets]
            second = campaigns.create(db, village_id=village, notice_id=notice, name="bare", channel="sms",
                                      audience=campaigns.Audience(village_id=village))
            rows = [(second, *r[1:]) for r in rows]
            t = time.perf_counter()
            with write(db):
                db.conn.executemany("INSERT INTO outbox (campaign_id, resident_id, village_id, channel, to_e164, "
                                    "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)", rows)
            bare.append(time.perf_counter() - t)
            db.close()
            print(f"run {run + 1}: planned {len(selection.targets)} rows (skipped {dict(selection.skipped)}) "
                  f"in {ours[-1]:.2f} s; bare executemany {bare[-1]:.2f} s")
    ratio = statistics.median(ours) / statistics.median(bare)
    result_line("planning_100k_vs_executemany", ratio, "x", "<=", 2.0)


if __name__ == "__main__":
    main()
