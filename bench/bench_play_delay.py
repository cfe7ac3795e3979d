"""Bench (issue 5): start delay of loudspeaker plays vs their scheduled time, under load.

    .venv/bin/python bench/bench_play_delay.py [--plays 40] [--endpoints 4] [--load 2]

SKELETON: the real worker (play log, APScheduler wake-ups) is not written yet, so a stand-in
dispatcher starts each play on its own thread at its planned instant. What is measured is the
output layer's share of the delay: planned instant → ``on_started`` (audio flowing into aplay),
for ALSA outputs writing into the file plugin (no sound card needed), while ``--load`` busy
processes compete for the CPU. Replace ``dispatch`` with the worker's fire path once it exists;
the delay definition (on_started − planned) stays the same.

Needs aplay (Debian alsa-utils). Ends with a RESULT line; target p99 <= 1 s.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from schedules.outputs import make_output  # noqa: E402

TARGET_P99_S = 1.0


def make_mp3(path, seconds):
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f",
                    "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-ac", "1",
                    "-ar", "44100", "-b:a", "128k", "-y", path], check=True, timeout=60)


def alsa_devices(work, n):
    rc = os.path.join(work, "asoundrc")
    with open(rc, "w") as f:
        for i in range(n):
            f.write(f'pcm.bench{i} {{ type file slave.pcm "null" '
                    f'file "{work}/bench{i}.raw" format "raw" }}\n')
    os.environ["ALSA_CONFIG_PATH"] = f"/usr/share/alsa/alsa.conf:{rc}"
    return [f"bench{i}" for i in range(n)]


def dispatch(output, audio, planned, delays, errors):
    """Stand-in for the worker's fire path: wait for the planned instant, play, note the delay."""
    time.sleep(max(0.0, planned - time.monotonic()))

    def on_started():
        delays.append(time.monotonic() - planned)

    result = output.play(audio, expected_s=1.0, timeout_s=30, on_started=on_started)
    if not result.ok:
        errors.append(result.error)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plays", type=int, default=40)
    ap.add_argument("--endpoints", type=int, default=4)
    ap.add_argument("--load", type=int, default=2, help="busy-loop processes competing for CPU")
    ap.add_argument("--spacing", type=float, default=0.25, help="seconds between planned plays")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as work:
        audio = os.path.join(work, "notice.mp3")
        make_mp3(audio, 1.0)
        outputs = [make_output("alsa", {"device": d}) for d in alsa_devices(work, args.endpoints)]
        load = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(args.load)]
        try:
            delays, errors, threads = [], [], []
            start = time.monotonic() + 0.5
            for i in range(args.plays):
                t = threading.Thread(target=dispatch, args=(
                    outputs[i % len(outputs)], audio, start + i * args.spacing, delays, errors))
                t.start()
                threads.append(t)
            for t in threads:
                t.join()
        finally:
            for p in load:
                p.kill()
                p.wait()

    if errors:
        print(f"{len(errors)} plays failed, first: {errors[0]}")
    delays.sort()
    p50 = statistics.median(delays) if delays else float("inf")
    p99 = delays[min(len(delays) - 1, int(0.99 * len(delays)))] if delays else float("inf")
    print(f"plays {len(delays)}/{args.plays}  p50 {p50 * 1000:.0f} ms  p99 {p99 * 1000:.0f} ms  "
          f"max {delays[-1] * 1000 if delays else float('inf'):.0f} ms  (load {args.load})")
    ok = not errors and len(delays) == args.plays and p99 <= TARGET_P99_S
    print(f"RESULT play_start_delay_p99 {p99:.3f} s target <= {TARGET_P99_S:g} "
          f"{'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
