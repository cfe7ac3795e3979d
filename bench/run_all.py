"""Run every bench script several times and write BENCHMARKS.md (the figures and how they were made).

    .venv/bin/python bench/run_all.py [--runs 3] [--only dispatch,audio] [--out BENCHMARKS.md]

Each script prints its own RESULT lines; this keeps the median of each figure over --runs runs,
with the machine (cores, memory), the date and the exact command. Findings written by hand
(profiles, fixes, why a figure misses) live in bench/NOTES.md and are copied in below the table.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# (label, script, extra arguments): the P1–P6 plus the per-capability figures.
SCRIPTS = [
    ("P1 dispatch", "bench_dispatch.py", []),
    ("P2 status callbacks", "bench_callbacks.py", []),
    ("P3 campaign planning", "bench_planning.py", ["--runs", "1"]),
    ("P4 dashboard and daily report", "bench_reach.py", ["--runs", "5"]),
    ("P5 notice audio", "bench_audio.py", ["--runs", "1"]),
    ("P6 loudspeaker start delay", "bench_play_delay.py", []),
    ("registry import", "bench_import.py", []),
    ("field simulation", "bench_fieldsim.py", []),
]
RESULT = re.compile(r"^RESULT (\S+) (\S+) (\S+) target (\S+) (\S+) (PASS|MISS)$")
OPS = {"<=": lambda v, t: v <= t, "<": lambda v, t: v < t, ">=": lambda v, t: v >= t, ">": lambda v, t: v > t}


def machine() -> str:
    cores = os.cpu_count()
    with open("/proc/meminfo") as fh:
        mem_kb = int(fh.readline().split()[1])
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{cores} cores ({cpu or platform.machine()}), {mem_kb / 1024 / 1024:.0f} GiB, Python {platform.python_version()}"


def run(script: str, extra: list[str]) -> tuple[list[tuple], str, float]:
    command = [sys.executable, os.path.join("bench", script), *extra]
    started = time.monotonic()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    results = [m.groups() for m in map(RESULT.match, proc.stdout.splitlines()) if m]
    if proc.returncode or not results:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
    return results, " ".join(command[1:]), time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each script; figures are medians")
    parser.add_argument("--only", default="", help="comma-separated words matching script names")
    parser.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    args = parser.parse_args()
    wanted = [w for w in args.only.split(",") if w]
    rows = []
    for label, script, extra in SCRIPTS:
        if wanted and not any(w in script for w in wanted):
            continue
        values: dict[str, list[float]] = {}
        meta: dict[str, tuple] = {}
        command, took = "", 0.0
        for i in range(args.runs):
            results, command, seconds = run(script, extra)
            took += seconds
            for name, value, unit, op, target, _verdict in results:
                values.setdefault(name, []).append(float(value))
                meta[name] = (unit, op, target)
            print(f"{label} run {i + 1}: " + ", ".join(f"{r[0]}={r[1]}" for r in results), flush=True)
        for name, found in values.items():
            unit, op, target = meta[name]
            median = statistics.median(found)
            verdict = "PASS" if OPS[op](median, float(target)) else "MISS"
            rows.append((label, name, median, unit, op, target, verdict, found, command, took / args.runs))
    # Figures of scripts not re-run this time are kept from the last run (bench/results.json), so
    # `--only` refreshes some rows without losing the others.
    results_path = os.path.join(HERE, "results.json")
    kept = []
    if wanted and os.path.exists(results_path):
        with open(results_path, encoding="utf-8") as fh:
            previous = json.load(fh)
        fresh = {r[1] for r in rows}
        kept = [tuple(r) for r in previous.get("rows", []) if r[1] not in fresh]
    order = [label for label, _script, _extra in SCRIPTS]
    rows = sorted(kept + rows, key=lambda r: order.index(r[0]) if r[0] in order else len(order))
    with open(results_path, "w", encoding="utf-8") as fh:
        json.dump({"machine": machine(), "rows": rows}, fh, ensure_ascii=False, indent=1)
    notes_path = os.path.join(HERE, "NOTES.md")
    notes = open(notes_path, encoding="utf-8").read() if os.path.exists(notes_path) else ""
    lines = [
        "# Benchmarks", "",
        f"Made by `.venv/bin/python bench/run_all.py --runs {args.runs}{' --only ' + args.only if wanted else ''}`"
        f"{' (other rows kept from the previous full run)' if wanted else ''} on "
        f"{datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}.", "",
        f"Machine: {machine()}.", "",
        "Each figure is the median of the runs listed beside it; ratios are measured in the same run. "
        "Re-run one script with the command shown; each ends with its own `RESULT` lines.", "",
        "| area | figure | median | target | verdict | runs | command | s per run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, name, median, unit, op, target, verdict, found, command, seconds in rows:
        lines.append(f"| {label} | `{name}` | {median:.2f} {unit} | {op} {target} | **{verdict}** | "
                     f"{', '.join(f'{v:g}' for v in found)} | `{command}` | {seconds:.0f} |")
    lines += ["", notes.strip(), ""]
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
