"""python -m phonesim --port P --account-sid AC… --auth-token T --seed N [options]"""
import argparse
import logging
import signal
import sys

from .server import SimServer


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m phonesim",
        description="Phone-network simulator: Twilio's REST API and webhooks on 127.0.0.1.",
    )
    p.add_argument("--port", type=int, default=8081, help="port on 127.0.0.1 (0 = any free port)")
    p.add_argument("--account-sid", required=True, help="account sid clients authenticate with")
    p.add_argument("--auth-token", required=True, help="auth token: Basic auth and webhook signing")
    p.add_argument("--seed", default="0", help="random seed: same seed, same residents and outcomes")
    p.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every REST call")
    p.add_argument("--error-429", type=float, default=0.0, help="share of REST calls answered 429")
    p.add_argument("--error-500", type=float, default=0.0, help="share of REST calls answered 500")
    p.add_argument("--phone-number", default="+15005550006",
                   help="the account's number (the To of inbound texts and calls)")
    p.add_argument("--sms-url", help="the app's inbound SMS webhook")
    p.add_argument("--voice-url", help="the app's inbound voice webhook")
    p.add_argument("--voice-status-callback", help="status callback for inbound calls")
    p.add_argument("--step-ms", type=float, default=200.0,
                   help="real time between lifecycle steps (sent → delivered, ringing → answered)")
    p.add_argument("--interactive-timeout", type=float, default=60.0,
                   help="seconds an interactive phone waits for a person at <Gather>")
    p.add_argument("--workers", type=int, default=16, help="worker threads for callbacks and calls")
    p.add_argument("--timezone", default="Asia/Shanghai", help="residents' clock (answer rates)")
    p.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return p.parse_args(argv)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s phonesim %(levelname)s %(message)s")
    try:
        server = SimServer(
            args.account_sid, args.auth_token, port=args.port, seed=args.seed,
            latency_ms=args.latency_ms, error_429=args.error_429, error_500=args.error_500,
            phone_number=args.phone_number, sms_url=args.sms_url, voice_url=args.voice_url,
            voice_status_callback=args.voice_status_callback, step_ms=args.step_ms,
            interactive_timeout_s=args.interactive_timeout, workers=args.workers,
            timezone=args.timezone,
        )
    except (ValueError, OSError) as err:
        print(f"phonesim: {err}", file=sys.stderr)
        return 2
    # SIGTERM (systemd, the demo launcher) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"phonesim listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
