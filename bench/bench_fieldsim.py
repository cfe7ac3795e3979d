"""The field simulation (issue 7) as a bench: one day in the demo village vs a one-shot blast.

    .venv/bin/python bench/bench_fieldsim.py [--households 800] [--speed 60]

Runs ``flask --app wsgi field-sim`` in a temporary instance and passes its RESULT lines through.
"""
import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=800)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=2020)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_fieldsim_") as work:
        env = dict(os.environ, DALABA_INSTANCE=work, DALABA_ENV="dev")
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "wsgi", "field-sim",
                               "--households", str(args.households), "--speed", str(args.speed),
                               "--seed", str(args.seed)], cwd=ROOT, env=env, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])


if __name__ == "__main__":
    main()
