"""`python -m phonesim` as the demo command starts it: a separate process on 127.0.0.1."""
import signal
import subprocess
import sys

import requests

from outreach.delivery.twilio_http import make_client

SID, TOKEN = "AC" + "8" * 32, "cli-token"


def test_cli_serves_the_api_and_stops_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "phonesim", "--port", "0", "--account-sid", SID, "--auth-token", TOKEN,
         "--seed", "5", "--step-ms", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("phonesim listening on http://127.0.0.1:")
        url = line.split()[-1]
        assert requests.get(url + "/sim/health", timeout=5).json() == {"ok": True}
        msg = make_client(SID, TOKEN, api_base_url=url).messages.create(
            to="+8613700000001", from_="+8657112345678", body="hi")
        idle = requests.get(url + "/sim/idle?timeout=5", auth=(SID, TOKEN), timeout=10).json()
        assert idle == {"idle": True, "pending": 0}
        record = requests.get(url + "/sim/record", auth=(SID, TOKEN), timeout=5).json()
        assert [m["sid"] for m in record["messages"] if m["direction"] == "outbound-api"] == [msg.sid]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_cli_rejects_bad_settings():
    done = subprocess.run(
        [sys.executable, "-m", "phonesim", "--account-sid", SID, "--auth-token", TOKEN,
         "--error-429", "0.9", "--error-500", "0.5"],
        capture_output=True, text=True, timeout=20,
    )
    assert done.returncode == 2 and "must not exceed 1" in done.stderr
