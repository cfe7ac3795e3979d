"""Same seed, same village: outcomes do not depend on send order or concurrency."""
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from outreach.delivery.twilio_http import make_client
from phonesim import SimServer

NUMBERS = [f"+86139{i:08d}" for i in range(50)]
NINE_AM = dt.datetime(2025, 3, 4, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def run_village(seed, receiver, reverse=False):
    server = SimServer("AC" + "7" * 32, "determinism-token", seed=seed, step_ms=1).start()
    try:
        server.sim.set_clock(NINE_AM)
        client = make_client("AC" + "7" * 32, "determinism-token", api_base_url=server.url)

        def reach(number):
            client.calls.create(to=number, from_="+8657112345678", machine_detection="Enable",
                                url=receiver.url + "/voice/menu")
            client.messages.create(to=number, from_="+8657112345678", body="通知")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(reach, reversed(NUMBERS) if reverse else NUMBERS))
        assert server.sim.wait_idle(20)
        record = server.sim.record()
        outcome = {}
        for call in record["calls"]:
            events = server.sim.phone(call["to"])["calls"][0]["events"]
            digits = tuple(e["digits"] for e in events if e["verb"] == "gather")
            outcome[call["to"]] = [call["status"], call["answered_by"], call["duration"], digits,
                                   call["ended_by"]]
        for msg in record["messages"]:
            if msg["direction"] == "outbound-api":
                outcome[msg["to"]] += [msg["status"], msg["outcome"]["reply"]]
        return outcome
    finally:
        server.stop()


def test_same_seed_same_outcomes_for_50_numbers(receiver):
    first = run_village("village-42", receiver)
    again = run_village("village-42", receiver, reverse=True)
    assert sorted(first) == NUMBERS
    assert first == again
    # A realistic mix, not everyone answering.
    assert {o[0] for o in first.values()} >= {"completed", "no-answer"}
    other = run_village("village-43", receiver)
    assert other != first
