"""P1: dispatch N texts through the real twilio client to the simulator (100 ms latency) at R/s.

    .venv/bin/python bench/bench_dispatch.py [--n 10000] [--rate 100] [--latency-ms 100]

Figures: wall time / (N/R) (target <= 1.05: the throttle is the only limit), and the speed-up
over a sequential ``messages.create`` loop (target >= 10). The sequential loop is timed on a
sample of --sequential messages and scaled to N (at 100 ms a call, 10,000 would take 17 minutes).
Status callbacks go to the app served by waitress, as in production.
"""
import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _common import ROOT, free_port, make_village, result_line, wait_for

from outreach.db import connect
from outreach.delivery import campaigns
from outreach.delivery.dispatcher import Dispatcher
from outreach.delivery.gateway import Gateway, GatewayConfig
from outreach.delivery.outbox import now_utc
from outreach.delivery.twilio_http import make_client
from outreach.notices import store

BIN = os.path.dirname(sys.executable)

SID, TOKEN = "AC" + "b" * 32, "bench-token"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=100.0, help="campaign throttle, sends per second")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--sequential", type=int, default=100, help="sample size of the sequential loop")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench_dispatch_") as work:
        db_path = os.path.join(work, "dalaba.sqlite")
        village, _ = make_village(db_path, args.n)
        # Web app and simulator in their own processes, as deployed: they must not share our GIL.
        web_port, sim_port = free_port(), free_port()
        web_url, sim_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{sim_port}"
        env = dict(os.environ, DALABA_INSTANCE=work, DALABA_DATABASE=db_path, SECRET_KEY="bench",
                   TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=web_url, DALABA_ENV="dev")
        procs = [
            subprocess.Popen([os.path.join(BIN, "waitress-serve"), f"--listen=127.0.0.1:{web_port}", "--threads=8",
                              "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            subprocess.Popen([sys.executable, "-m", "phonesim", "--port", str(sim_port), "--account-sid", SID,
                              "--auth-token", TOKEN, "--latency-ms", str(args.latency_ms), "--step-ms", "50",
                              "--workers", "32"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        wait_for(web_url + "/login")
        wait_for(sim_url + "/sim/health")
        db = connect(db_path)
        notice = store.create(db, village, "基准通知", "基准测试通知，请勿回复。")
        campaign = campaigns.create(db, village_id=village, notice_id=notice, name="bench", channel="sms",
                                    audience=campaigns.Audience(village_id=village), window="00:00-24:00",
                                    throttle_per_s=args.rate)
        campaigns.start(db, campaign, now_utc())
        workers = max(8, int(args.rate * args.latency_ms / 1000 * 2) + 4)
        dispatcher = Dispatcher(db_path, Gateway(GatewayConfig(SID, TOKEN, "+15005550006", None, web_url, sim_url)),
                                workers=workers)
        started = time.perf_counter()
        while dispatcher.sent < args.n:
            dispatcher.tick()
            time.sleep(0.05)
            if time.perf_counter() - started > args.n / args.rate * 3 + 60:
                sys.exit(f"stuck: {dispatcher.sent} of {args.n} sent")
        wall = time.perf_counter() - started
        dispatcher.drain()
        ideal = args.n / args.rate
        print(f"{args.n} texts at {args.rate:g}/s with {args.latency_ms:g} ms latency: {wall:.1f} s "
              f"(ideal {ideal:.1f} s, {workers} sender threads)")
        client = make_client(SID, TOKEN, sim_url)
        per_call = []
        for i in range(args.sequential):
            t = time.perf_counter()
            client.messages.create(to=f"+86138{i:08d}", from_="+15005550006", body="sequential")
            per_call.append(time.perf_counter() - t)
        sequential_total = statistics.mean(per_call) * args.n
        print(f"sequential messages.create: {statistics.mean(per_call) * 1000:.1f} ms each → "
              f"{sequential_total:.0f} s for {args.n}")
        dispatcher.close()
        for proc in procs:
            proc.terminate()
            proc.wait(10)
    result_line("dispatch_vs_limit", wall / ideal, "x", "<=", 1.05)
    result_line("dispatch_speedup_vs_sequential", sequential_total / wall, "x", ">=", 10)


if __name__ == "__main__":
    main()
