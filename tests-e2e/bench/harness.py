"""What the benchmarks of the whole stack share: a stack of their own (databases `relay_<service>_bench`,
its own topic prefix, ports and gateway, the per-athlete API limit lifted), wrk and the figures it
reports, athletes signed in through the gateway against the fake Strava, and the events they read on
Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from relay_devstack import SERVICES, Stack, StackConfig
from relay_devstack.stack import FAKE_STRAVA_CLIENT_ID, FAKE_STRAVA_CLIENT_SECRET
from relay_testing.fakes.strava import FakeStravaClient

LIFTED = "100000000"
"""A rate limit no benchmark reaches: what is measured is the work, not the limit being enforced."""
WRK_THREADS = 2
WRK_CONNECTIONS = 16


def bench_config(
    base: int,
    gateway_dir: str,
    extra_env: dict[str, str] | None = None,
    fake_strava_options: tuple[str, ...] = (),
) -> StackConfig:
    """A stack on ports `base`+1…6 (the services), +80 (the gateway), +90 and +91 (the fakes)."""
    default = StackConfig()
    lifted = {f"{service.upper()}_RATE_LIMIT_API_PER_MINUTE": LIFTED for service in SERVICES}
    return StackConfig(
        service_ports={name: base + 1 + i for i, name in enumerate(SERVICES)},
        gateway_port=base + 80,
        fake_strava_port=base + 90,
        fake_providers_port=base + 91,
        gateway_dir=default.home / gateway_dir,
        database_suffix="_bench",
        topic_prefix=f"bench-{uuid.uuid4().hex[:8]}.",
        extra_env={**lifted, **(extra_env or {})},
        fake_strava_options=list(fake_strava_options),
    )


@contextlib.contextmanager
def running(config: StackConfig) -> Iterator[Stack]:
    """The stack on fresh, migrated databases and its own topics, ready behind its gateway; all of it
    stopped, dropped and deleted afterwards."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is missing: `make install` installs it")
    with Stack(config).running() as stack:
        yield stack


def wrk(url: str, *headers: str, script: str | None = None, duration_s: int = 20) -> dict[str, float]:
    """Requests/s, median and 99th percentile latency of `url` at saturation; `script` is wrk's Lua
    (what each request is). Any answer other than 2xx or 3xx fails the benchmark."""
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{duration_s}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    with tempfile.TemporaryDirectory() as folder:
        if script is not None:
            (Path(folder) / "requests.lua").write_text(script)
            command += ["-s", str(Path(folder) / "requests.lua")]
        output = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if failed:
        raise RuntimeError(f"{url}: {failed.group(1)} failed responses\n{output}")
    return {
        "rps": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), 1),  # type: ignore[union-attr]
        "p50_ms": _ms(re.search(r"\s50%\s+([\d.]+)(us|ms|s)", output)),
        "p99_ms": _ms(re.search(r"\s99%\s+([\d.]+)(us|ms|s)", output)),
    }


def _ms(match: Any) -> float:
    value, unit = float(match.group(1)), match.group(2)
    return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)


def fake_strava(stack: Stack) -> FakeStravaClient:
    return FakeStravaClient(
        stack.config.fake_strava_url, client_id=FAKE_STRAVA_CLIENT_ID, client_secret=FAKE_STRAVA_CLIENT_SECRET
    )


async def sign_in(stack: Stack, athlete_id: int, **fields: Any) -> dict[str, Any]:
    """Signs the Strava athlete in through the gateway (a first sign-in links their Strava account);
    returns identity's answer: `user`, `token`, ..."""
    await fake_strava(stack).queue_athlete(id=athlete_id, **fields)
    async with httpx.AsyncClient(base_url=stack.config.gateway_url) as gateway, httpx.AsyncClient() as strava:
        start = await gateway.get("/api/auth/strava", params={"redirect_uri": "relay://relay.app/auth"})
        back = httpx.URL((await strava.get(start.headers["location"])).headers["location"])
        signed_in = await gateway.get(
            "/api/auth/strava/callback", params={"code": back.params["code"], "state": back.params["state"]}
        )
        signed_in.raise_for_status()
        body: dict[str, Any] = signed_in.json()
        return body


async def latest_consumer(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    """A consumer of every partition of `topic`, placed at their end. It belongs to no group: nothing to
    join, and nothing that a busy event loop could lose (a missed heartbeat, a rebalance)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="latest")
    await consumer.start()
    for _ in range(300):  # the partitions are known once the topic's metadata is
        if consumer.assignment():
            break
        await asyncio.sleep(0.1)
    for partition in consumer.assignment():
        await consumer.seek_to_end(partition)
    return consumer


async def ingestion_events(stack: Stack) -> AIOKafkaConsumer:
    return await latest_consumer(
        stack.config.kafka_bootstrap, f"{stack.config.topic_prefix}relay.ingestion.events"
    )


async def wait_for(
    consumer: AIOKafkaConsumer, event_type: str, wanted: set[str], key: str
) -> dict[str, float]:
    """Reads events of `event_type` until one has arrived for each of `wanted` (by `data[key]`);
    returns when each arrived (epoch seconds)."""
    arrived: dict[str, float] = {}
    deadline = time.monotonic() + 300
    while wanted - set(arrived) and time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=500)
        now = time.time()
        for records in batches.values():
            for record in records:
                envelope = json.loads(record.value)
                if envelope["type"] == event_type and str(envelope["data"][key]) in wanted:
                    arrived.setdefault(str(envelope["data"][key]), now)
    if wanted - set(arrived):
        raise RuntimeError(f"{len(wanted - set(arrived))} {event_type} events never arrived")
    return arrived
