"""phonesim: a phone-network simulator that speaks Twilio's REST API and plays Twilio's side.

Runs on 127.0.0.1 for the demo and the tests: the app's official twilio client is pointed at it
(``outreach.delivery.twilio_http.make_client(..., api_base_url=server.url)``) and it calls the app's
webhooks back, signed as Twilio signs them, on behalf of simulated residents.

    from phonesim import SimServer
    with SimServer("AC" + "0" * 32, "token", seed=1, sms_url="http://127.0.0.1:5000/sms") as sim:
        ...  # sim.url, sim.sim.record(), sim.sim.put_resident(...), sim.sim.inbound_sms(...)

Command line: ``python -m phonesim --port 8081 --account-sid AC… --auth-token … --seed 1``.
"""
from .residents import Profile
from .server import SimServer
from .sim import SimConfig, Simulator

__all__ = ["Profile", "SimConfig", "SimServer", "Simulator"]
