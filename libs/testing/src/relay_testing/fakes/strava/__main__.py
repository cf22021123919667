"""`python -m relay_testing.fakes.strava --port N --client-id X --client-secret Y`: the fake Strava as a
process, for the end-to-end stack. The secret may come from `FAKE_STRAVA_CLIENT_SECRET` instead, so that
it does not show in the process list."""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from relay_testing.fakes.strava.app import QuietDroppedConnections
from relay_testing.fakes.strava.control import FakeStrava


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m relay_testing.fakes.strava", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", default=os.environ.get("FAKE_STRAVA_CLIENT_SECRET"))
    parser.add_argument(
        "--callback-domain", default=None, help="Strava's 'Authorization Callback Domain' (any when absent)"
    )
    parser.add_argument("--rate-limit", default="200,2000", help="15-minute and daily limits")
    parser.add_argument("--read-rate-limit", default="100,1000", help="15-minute and daily read limits")
    args = parser.parse_args(argv)
    if not args.client_secret:
        parser.error("--client-secret (or FAKE_STRAVA_CLIENT_SECRET) is required")
    fake = FakeStrava(
        client_id=args.client_id,
        client_secret=args.client_secret,
        callback_domain=args.callback_domain,
        rate_limit=_limits(parser, args.rate_limit),
        read_rate_limit=_limits(parser, args.read_rate_limit),
    )
    logging.getLogger("uvicorn.error").addFilter(QuietDroppedConnections())
    uvicorn.run(fake.app, host=args.host, port=args.port, access_log=False, log_level="warning")


def _limits(parser: argparse.ArgumentParser, value: str) -> tuple[int, int]:
    try:
        short, day = (int(part) for part in value.split(","))
    except ValueError:
        parser.error(f"a limit is two comma-separated integers, not {value!r}")
    return short, day


if __name__ == "__main__":
    main()
