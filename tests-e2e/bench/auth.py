"""What authentication costs: `GET /api/auth/me` (ES256 verification, a Redis revocation check, a rate
limit hit and two database reads) against `GET /healthz` (the gateway asking every service's readiness:
six database and Kafka checks) and `GET /.well-known/jwks.json` (identity, one database read, no
authentication), all through the gateway, in one run, with wrk. The per-athlete limit of 100
requests a minute is lifted for the run: it is what is being measured, not what is being enforced."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import uuid
from typing import Any

import httpx

from relay_devstack import SERVICES, Stack, StackConfig
from relay_devstack.stack import FAKE_STRAVA_CLIENT_ID, FAKE_STRAVA_CLIENT_SECRET
from relay_testing.fakes.strava import FakeStravaClient

BASE = 8400
DURATION_S = 20
CONNECTIONS = 16


def _config() -> StackConfig:
    default = StackConfig()
    unlimited = {f"{service.upper()}_RATE_LIMIT_API_PER_MINUTE": "100000000" for service in SERVICES}
    return StackConfig(
        service_ports={name: BASE + 1 + i for i, name in enumerate(SERVICES)},
        gateway_port=BASE + 80,
        fake_strava_port=BASE + 90,
        gateway_dir=default.home / "bench-gateway",
        database_suffix="_bench",
        topic_prefix=f"bench-{uuid.uuid4().hex[:8]}.",
        extra_env=unlimited,
    )


async def _access_token(stack: Stack) -> str:
    control = FakeStravaClient(
        stack.config.fake_strava_url, client_id=FAKE_STRAVA_CLIENT_ID, client_secret=FAKE_STRAVA_CLIENT_SECRET
    )
    await control.queue_athlete(id=424242, firstname="Bench", lastname="Mark")
    async with httpx.AsyncClient(base_url=stack.config.gateway_url) as gateway, httpx.AsyncClient() as strava:
        start = await gateway.get("/api/auth/strava", params={"redirect_uri": "relay://relay.app/auth"})
        back = httpx.URL((await strava.get(start.headers["location"])).headers["location"])
        signed_in = await gateway.get(
            "/api/auth/strava/callback", params={"code": back.params["code"], "state": back.params["state"]}
        )
        signed_in.raise_for_status()
        token: str = signed_in.json()["token"]
        return token


def _wrk(url: str, *headers: str) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", url]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} failed responses\n{output}")
    return {
        "rps": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), 1),  # type: ignore[union-attr]
        "p50_ms": _ms(re.search(r"\s50%\s+([\d.]+)(us|ms|s)", output)),
        "p99_ms": _ms(re.search(r"\s99%\s+([\d.]+)(us|ms|s)", output)),
    }


def _ms(match: Any) -> float:
    value, unit = float(match.group(1)), match.group(2)
    return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)


def run() -> dict[str, float]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is missing: `make install` installs it")
    stack = Stack(_config())
    asyncio.run(stack.create_databases(fresh=True))
    stack.migrate()
    asyncio.run(stack.ensure_topics())
    try:
        stack.start_all()
        asyncio.run(stack.wait_ready())
        stack.start_gateway()
        token = asyncio.run(_access_token(stack))
        gateway = stack.config.gateway_url
        healthz = _wrk(f"{gateway}/healthz")
        jwks = _wrk(f"{gateway}/.well-known/jwks.json")
        me = _wrk(f"{gateway}/api/auth/me", f"Authorization: Bearer {token}")
    finally:
        stack.stop_all()
        stack.stop_gateway()
        asyncio.run(stack.delete_topics())
        asyncio.run(stack.drop_databases())
    return {
        "auth_me_rps": me["rps"],
        "auth_me_p50_ms": me["p50_ms"],
        "auth_me_p99_ms": me["p99_ms"],
        "healthz_rps": healthz["rps"],
        "healthz_p50_ms": healthz["p50_ms"],
        "healthz_p99_ms": healthz["p99_ms"],
        "jwks_rps": jwks["rps"],
        "jwks_p50_ms": jwks["p50_ms"],
        "jwks_p99_ms": jwks["p99_ms"],
        "wrk": f"{CONNECTIONS} connections, 2 threads, {DURATION_S} s each, through the gateway",
    }
