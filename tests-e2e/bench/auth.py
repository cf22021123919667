"""What authentication costs: `GET /api/auth/me` (ES256 verification, a Redis revocation check, a rate
limit hit and two database reads) against `GET /healthz` (the gateway asking every service's readiness:
six database and Kafka checks) and `GET /.well-known/jwks.json` (identity, one database read, no
authentication), all through the gateway, in one run, with wrk. The per-athlete limit of 100
requests a minute is lifted for the run: it is what is being measured, not what is being enforced."""

from __future__ import annotations

import asyncio

from harness import WRK_CONNECTIONS, WRK_THREADS, bench_config, running, sign_in, wrk

BASE = 8400
DURATION_S = 20


def run() -> dict[str, float | str]:
    with running(bench_config(BASE, "bench-gateway")) as stack:
        token = asyncio.run(sign_in(stack, 424242, firstname="Bench", lastname="Mark"))["token"]
        gateway = stack.config.gateway_url
        healthz = wrk(f"{gateway}/healthz", duration_s=DURATION_S)
        jwks = wrk(f"{gateway}/.well-known/jwks.json", duration_s=DURATION_S)
        me = wrk(f"{gateway}/api/auth/me", f"Authorization: Bearer {token}", duration_s=DURATION_S)
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
        "wrk": f"{WRK_CONNECTIONS} connections, {WRK_THREADS} threads, {DURATION_S} s each, "
        "through the gateway",
    }
