"""Bench: import a 50,000-row roster CSV into a fresh SQLite file through the importer.

    .venv/bin/python bench/bench_import.py [--rows 50000] [--profile]

Same code path as the web import (read → map → validate → upsert in batches); the file is GBK
like the ones Excel in China saves, with a title row, a few bad rows and some residents without
phones. Prints rows/s for the whole import (reading included) and ends with a RESULT line.
"""
from __future__ import annotations

import argparse
import cProfile
import csv
import io
import os
import pstats
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from outreach.db import connect, scalar  # noqa: E402
from outreach.migrations import apply  # noqa: E402
from outreach.registry import importer, places  # noqa: E402

TARGET = 10_000
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林"
GIVEN = "秀英桂兰玉兰德明建国长福大山淑芬志强红梅国华春花小军丽娟明华文斌海燕"
PREFIXES = ("139", "138", "137", "150", "151", "158", "186", "187", "135", "136")


def make_roster(path: str, n: int, seed: int = 7) -> int:
    """Write ``n`` data rows; returns how many are deliberately bad."""
    rng = random.Random(seed)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["某镇村民花名册"])
    writer.writerow(["序号", "姓名", "性别", "出生年份", "手机号码", "网格", "门牌号", "独居", "方言", "备注", "身份证号"])
    # Numbers spread over 2,000 号段 (first seven digits), as in a county's roster.
    segments = [f"{rng.choice(PREFIXES)}{rng.randint(0, 9999):04d}" for _ in range(2000)]
    used: set[str] = set()
    bad = 0
    for i in range(n):
        if i % 3 == 0:
            names_here: set[str] = set()  # a new household: names within it differ
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        while name in names_here:
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))
        names_here.add(name)
        phone = f"{rng.choice(segments)}{rng.randint(0, 9999):04d}"
        while phone in used:
            phone = f"{rng.choice(segments)}{rng.randint(0, 9999):04d}"
        used.add(phone)
        if i % 10 == 3:
            phone = ""  # no phone: tagged for a visit
        elif i % 1000 == 7:
            phone, bad = "12345", bad + 1
        household = i // 3  # about three people per household, as in the demo village
        grid = f"{household % 7 + 1}网格/{household % 5 + 1}小组"
        writer.writerow([i + 1, name, rng.choice("男女"), rng.randint(1930, 2010), phone, grid,
                         f"{household % 7 + 1}组{household:05d}号", rng.choice(("是", "否", "")),
                         rng.choice(("普通话", "重庆话", "")), "", "500000000000000000"])
    with open(path, "wb") as fh:
        fh.write(out.getvalue().encode("gbk"))
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest functions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        roster = os.path.join(tmp, "roster.csv")
        bad = make_roster(roster, args.rows)
        db = connect(os.path.join(tmp, "bench.sqlite"))
        apply(db)
        township = places.ensure_township(db, places.ensure_county(db, "青山县"), "西河镇")
        village = places.ensure_village(db, township, "杨家坪村")
        profiler = cProfile.Profile() if args.profile else None
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        result = importer.import_file(db, roster, village)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        residents = scalar(db, "SELECT COUNT(*) FROM residents")
        db.close()
    assert result["errors"] == bad and result["created"] + result["errors"] == args.rows, result
    assert residents == result["created"]
    rate = args.rows / elapsed
    print(f"rows={args.rows} created={result['created']} rejected={result['errors']} "
          f"no_phone_tagged={result['no_phone_added']} seconds={elapsed:.2f} cpu_seconds={cpu:.2f} "
          f"rows_per_s={rate:.0f} rows_per_cpu_s={args.rows / cpu:.0f}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    print(f"RESULT import_rows_per_s {rate:.0f} rows/s target >= {TARGET} {'PASS' if rate >= TARGET else 'MISS'}")


if __name__ == "__main__":
    main()
