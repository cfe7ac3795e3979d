"""P2: signed status callbacks per second against the app under waitress, vs a no-op route.

    .venv/bin/python bench/bench_callbacks.py [--seconds 10] [--clients 4] [--threads 8]

The app runs under a production WSGI server — gunicorn with one worker process per core (the
deployment the README recommends on Linux), or ``--server waitress``. The no-op route is a route of
the same app on the same server (login, CSRF and the rest of the request cycle, but no work): the
figure is what signature checking and the status update cost. A WSGI no-op below Flask is printed
for reference (the server's own floor). Load comes
from --clients processes, each with a keep-alive session, sending signed form posts
(sent → delivered for real attempts, so every callback does its database work). Figures: callback
rate / no-op rate (target >= 0.5) and callback p99 latency (target < 100 ms).
"""
import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _common import ROOT, free_port, make_village, result_line, wait_for

from outreach.db import connect
from outreach.delivery import campaigns, outbox
from outreach.notices import store

TOKEN = "bench-token"
APP = """
import sys
sys.path.insert(0, {root!r})
from wsgi import app as flask_app
from outreach.security import csrf, public

@public
def bench_noop():
    return "", 204

csrf.exempt(bench_noop)
flask_app.add_url_rule("/bench-noop", "bench_noop", bench_noop, methods=["POST"])  # a route of the app: no work

def app(environ, start_response):
    if environ.get("PATH_INFO") == "/bench-wsgi-noop":  # below Flask: the server's own floor
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("204 No Content", [])
        return [b""]
    return flask_app(environ, start_response)
"""
SERVER = APP + """
from waitress import serve
serve(app, host="127.0.0.1", port={port}, threads={threads})
"""


def start_server(work: str, port: int, env: dict, args) -> subprocess.Popen:
    """waitress (one process, threads) or gunicorn (one process per core, threads each)."""
    if args.server == "waitress":
        return subprocess.Popen([sys.executable, "-c", SERVER.format(root=ROOT, port=port, threads=args.threads)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(work, "bench_p2_app.py"), "w") as fh:
        fh.write(APP.format(root=ROOT))
    return subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "gunicorn"), "-w", str(args.workers),
                             "-k", "gthread", "--threads", str(args.threads), "-b", f"127.0.0.1:{port}",
                             "bench_p2_app:app"], cwd=work, env=dict(env, PYTHONPATH=ROOT),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def client(url_base, path_fmt, attempt_ids, seconds, out_queue, noop):
    """``noop``: False, or the path of a no-op endpoint to post to instead of the status callback."""
    import requests
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    session = requests.Session()
    latencies = []
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline:
        attempt = attempt_ids[(i // 2) % len(attempt_ids)]
        status = ("sent", "delivered")[i % 2]  # each message's two callbacks, in order
        path = noop or path_fmt.format(attempt)
        params = {"MessageSid": f"SM{attempt:032d}", "MessageStatus": status, "AccountSid": "AC" + "c" * 32,
                  "To": "+8613900000000", "From": "+15005550006"}
        headers = {"X-Twilio-Signature": validator.compute_signature(url_base + path, params)}
        t = time.perf_counter()
        response = session.post(url_base + path, data=params, headers=headers)
        latencies.append(time.perf_counter() - t)
        if response.status_code >= 300:
            out_queue.put(("error", response.status_code))
            return
        i += 1
    out_queue.put(("ok", latencies))


def run_load(url, attempt_ids, seconds, clients, noop):
    queue = multiprocessing.Queue()
    chunks = [attempt_ids[k::clients] for k in range(clients)]
    procs = [multiprocessing.Process(target=client, args=(url, "/twilio/status/{}", chunk, seconds, queue, noop))
             for chunk in chunks]
    for p in procs:
        p.start()
    latencies = []
    for _ in procs:
        kind, value = queue.get(timeout=seconds + 60)
        if kind == "error":
            sys.exit(f"callback answered HTTP {value}")
        latencies += value
    for p in procs:
        p.join()
    latencies.sort()
    return len(latencies) / seconds, latencies[int(len(latencies) * 0.99) - 1] * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--server", choices=("gunicorn", "waitress"), default="gunicorn",
                        help="production WSGI server: gunicorn, one worker per core (Linux), or waitress")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process")
    parser.add_argument("--attempts", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_callbacks_") as work:
        db_path = os.path.join(work, "dalaba.sqlite")
        village, residents = make_village(db_path, args.attempts)
        db = connect(db_path)
        notice = store.create(db, village, "基准通知", "基准")
        campaign = campaigns.create(db, village_id=village, notice_id=notice, name="bench", channel="sms",
                                    audience=campaigns.Audience(village_id=village), window="00:00-24:00")
        campaigns.start(db, campaign, outbox.now_utc())
        ids = [r["id"] for r in outbox.due(db, outbox.now_utc(), args.attempts)]
        claimed = outbox.claim(db, ids, "bench", outbox.now_utc())
        attempt_ids = [row["attempt_id"] for row in claimed]
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, DALABA_INSTANCE=work, DALABA_DATABASE=db_path, SECRET_KEY="bench",
                   TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=url, DALABA_ENV="dev")
        server = start_server(work, port, env, args)
        try:
            wait_for(url + "/login")
            run_load(url, attempt_ids[:50], 1.0, args.clients, noop=False)  # warm-up
            wsgi_rate, _ = run_load(url, attempt_ids, args.seconds, args.clients, noop="/bench-wsgi-noop")
            noop_rate, noop_p99 = run_load(url, attempt_ids, args.seconds, args.clients, noop="/bench-noop")
            rate, p99 = run_load(url, attempt_ids[50:], args.seconds, args.clients, noop=False)
            delivered = db.execute("SELECT COUNT(*) FROM attempts WHERE status = 'delivered'").fetchone()[0]
        finally:
            server.terminate()
            server.wait(10)
    print(f"{args.server}: no-op route of the app {noop_rate:.0f}/s (p99 {noop_p99:.1f} ms); signed status "
          f"callbacks {rate:.0f}/s (p99 {p99:.1f} ms; {delivered} attempts reached delivered); for reference, "
          f"a WSGI no-op below Flask {wsgi_rate:.0f}/s (callbacks at {rate / wsgi_rate:.2f}x of it)")
    result_line("callbacks_vs_noop", rate / noop_rate, "x", ">=", 0.5)
    result_line("callback_p99", p99, "ms", "<", 100)


if __name__ == "__main__":
    main()
