"""`python -m relay_testing.fakes.providers --port N --client-id X --client-secret Y`: the fake providers
as a process, for the local stack. One application (client id and secret) is registered at every
provider. The secret may come from `FAKE_PROVIDERS_CLIENT_SECRET` instead, so that it does not show in
the process list."""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from relay_testing.fakes.providers.control import FakeProviders
from relay_testing.fakes.providers.workouts import COROS_MAX_IMPORT_BYTES
from relay_testing.fakes.strava.app import QuietDroppedConnections


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m relay_testing.fakes.providers", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", default=os.environ.get("FAKE_PROVIDERS_CLIENT_SECRET"))
    parser.add_argument(
        "--coros-max-import-bytes",
        type=int,
        default=COROS_MAX_IMPORT_BYTES,
        help="COROS Training Hub refuses larger FIT imports (result 2002)",
    )
    args = parser.parse_args(argv)
    if not args.client_secret:
        parser.error("--client-secret (or FAKE_PROVIDERS_CLIENT_SECRET) is required")
    fake = FakeProviders(
        client_id=args.client_id,
        client_secret=args.client_secret,
        coros_max_import_bytes=args.coros_max_import_bytes,
    )
    logging.getLogger("uvicorn.error").addFilter(QuietDroppedConnections())
    uvicorn.run(fake.app, host=args.host, port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
