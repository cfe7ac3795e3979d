"""Bench (P5): notice audio processing vs bare ffmpeg, and peak memory on a 30-minute upload.

    .venv/bin/python bench/bench_audio.py [--runs 3]

1. A 3-minute stereo 128 kbps MP3 of speech-like sound goes through
   `process_upload` (decode + meter, trim, loudness, both renditions) and through
   the same work as bare ffmpeg commands: one decode-and-meter call, then one call
   that trims both ends (silenceremove/areverse), applies gain and the limiter and
   writes the MP3 and μ-law renditions. Median of --runs each; ratio target <= 1.5.
2. A 30-minute MP3 is processed in a child process; its peak RSS (the largest of
   the Python process and its ffmpeg children, from RUSAGE_CHILDREN) must stay
   under 300 MB.
Ends with RESULT lines.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from audio.ffmpeg import ffmpeg_exe  # noqa: E402
from audio.render import LIMIT_DBFS, gain_for  # noqa: E402

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from audio.process import process_upload
t = time.perf_counter()
r = process_upload(sys.argv[2], sys.argv[3], max_seconds=1900, timeout=600)
print(json.dumps({"seconds": time.perf_counter() - t, "duration_s": r.duration_s,
    "self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "ffmpeg_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def ffmpeg(*args, timeout=900):
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True,
                   stdin=subprocess.DEVNULL, timeout=timeout)


def make_inputs(work):
    """A 20 s speech-like loop (from the test corpus generator) stretched to 3 and 30 minutes."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "audio"))
    import make_corpus

    loop = os.path.join(work, "loop.wav")
    pcm = make_corpus.speechlike(44100, ("ssss_sss|ssss_ssss_sss." * 3), seed=7)
    make_corpus.write_wav(loop, make_corpus.silence_pcm(0.8, 44100) + pcm, 44100)
    out = {}
    for minutes in (3, 30):
        path = os.path.join(work, f"upload_{minutes}min.mp3")
        ffmpeg("-stream_loop", "-1", "-i", loop, "-t", str(minutes * 60), "-ac", "2",
               "-c:a", "libmp3lame", "-b:a", "128k", path)
        out[minutes] = path
    return out


def bare_ffmpeg(src, work):
    """The same work as process_upload, as plain ffmpeg commands."""
    decoded = os.path.join(work, "bare_decoded.wav")
    text = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-i", src, "-af",
         "aformat=channel_layouts=mono,aresample=44100,ebur128=peak=true:framelog=verbose",
         "-ac", "1", "-ar", "44100", "-c:a", "pcm_s16le", decoded],
        capture_output=True, text=True, check=True, timeout=600).stderr
    lufs = float(text.rsplit("I:", 1)[1].split("LUFS")[0])
    limit = 10 ** (LIMIT_DBFS / 20)
    level = (f"volume={gain_for(lufs):.2f}dB,"
             f"alimiter=limit={limit:.4f}:attack=5:release=50:level=false:latency=true")
    trim = "silenceremove=start_periods=1:start_threshold=-50dB"
    ffmpeg("-i", decoded, "-filter_complex",
           f"[0:a]{trim},areverse,{trim},areverse,{level},asplit[a][b];[b]aresample=8000[t]",
           "-map", "[a]", "-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "128k",
           os.path.join(work, "bare_loudspeaker.mp3"),
           "-map", "[t]", "-ac", "1", "-ar", "8000", "-c:a", "pcm_mulaw",
           os.path.join(work, "bare_telephone.wav"))


def ours(src, work):
    from audio.process import process_upload

    out = os.path.join(work, "ours")
    result = process_upload(src, out)
    for path in [result.master_path, *(r.path for r in result.renditions.values())]:
        os.remove(path)


def timed(fn, *args):
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def result_line(name, value, unit, op, target):
    ok = value <= target if op == "<=" else value < target
    print(f"RESULT {name} {value:.2f} {unit} target {op} {target} {'PASS' if ok else 'MISS'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each side (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_audio_") as work:
        t = time.perf_counter()
        uploads = make_inputs(work)
        sizes = {m: os.path.getsize(p) / 1e6 for m, p in uploads.items()}
        print(f"inputs generated in {time.perf_counter() - t:.1f} s: "
              f"{sizes[3]:.1f} MB (3 min), {sizes[30]:.1f} MB (30 min)")

        # Memory first, so no earlier child inflates RUSAGE_CHILDREN beyond the generators.
        child = subprocess.run([sys.executable, "-c", CHILD, ROOT, uploads[30], os.path.join(work, "rss")],
                               capture_output=True, text=True, timeout=1800)
        if child.returncode:
            sys.exit(child.stderr)
        report = json.loads(child.stdout.strip().splitlines()[-1])
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(f"30-min upload: processed in {report['seconds']:.1f} s; python peak "
              f"{report['self_kb'] / 1024:.0f} MB, largest ffmpeg {report['ffmpeg_kb'] / 1024:.0f} MB")

        ours(uploads[3], work)  # warm-up: imports, page cache
        bare_ffmpeg(uploads[3], work)
        mine, bare = [], []
        for _ in range(args.runs):  # interleaved, so machine noise hits both sides alike
            mine.append(timed(ours, uploads[3], work))
            bare.append(timed(bare_ffmpeg, uploads[3], work))
        print(f"3-min MP3: process_upload median {statistics.median(mine):.2f} s {['%.2f' % x for x in mine]}, "
              f"bare ffmpeg median {statistics.median(bare):.2f} s {['%.2f' % x for x in bare]}")
    result_line("audio_3min_vs_bare_ffmpeg", statistics.median(mine) / statistics.median(bare), "x", "<=", 1.5)
    result_line("audio_30min_peak_rss", peak_kb / 1024, "MB", "<", 300)


if __name__ == "__main__":
    main()
