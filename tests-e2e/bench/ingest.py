"""Ingestion's figures, on the whole local stack with the fake Strava API, through the gateway:

- webhook acceptance: `POST /api/webhook/strava` (each request a new notification, stored and its event
  staged before the 200) at saturation with wrk, next to the same service's trivial endpoint (the
  subscription check: no database, no Kafka) measured in the same run;
- freshness: from a webhook sent to `ingestion.activity.upserted` read on Kafka, at a steady 50
  webhooks a second for a linked athlete (each one fetched from the fake Strava API);
- backfill: an athlete with 5,000 Strava activities signs in; activities normalized and stored per
  second, from the link to the sync's completion.

The application's Strava limits are raised for the run on both sides (Relay's budget and the fake's):
throughput is what is measured, not the budget."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from auth import _ms, _wrk

from relay_devstack import SERVICES, Stack, StackConfig
from relay_devstack.stack import FAKE_STRAVA_CLIENT_ID, FAKE_STRAVA_CLIENT_SECRET
from relay_testing.fakes.strava import FakeStravaClient

BASE = 8500
DURATION_S = 20
CONNECTIONS = 16
FRESHNESS_RATE = 50
FRESHNESS_SECONDS = 20
BACKFILL_ACTIVITIES = 5000
HIGH = "1000000,10000000"

WEBHOOK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"object_type":"activity","object_id":%d,"aspect_type":"create","owner_id":%d,' ..
    '"subscription_id":1,"event_time":%d,"updates":{}}',
    counter, 900000000 + (counter % 1000), os.time())
  return wrk.format(nil, nil, nil, body)
end
"""


def _config() -> StackConfig:
    default = StackConfig()
    lifted = {f"{service.upper()}_RATE_LIMIT_API_PER_MINUTE": "100000000" for service in SERVICES}
    return StackConfig(
        service_ports={name: BASE + 1 + i for i, name in enumerate(SERVICES)},
        gateway_port=BASE + 80,
        fake_strava_port=BASE + 90,
        fake_providers_port=BASE + 91,
        gateway_dir=default.home / "bench-ingestion-gateway",
        database_suffix="_bench",
        topic_prefix=f"bench-{uuid.uuid4().hex[:8]}.",
        extra_env={
            **lifted,
            "INGESTION_RATE_LIMIT_WEBHOOK_PER_MINUTE": "100000000",
            "INGESTION_STRAVA__RATE_LIMITS": "1000000/15m;read:1000000/15m",
            "INGESTION_STRAVA__BACKFILL_DAYS": "5000",
            "INGESTION_LOG_LEVEL": "WARNING",
        },
        fake_strava_options=["--rate-limit", HIGH, "--read-rate-limit", HIGH],
    )


def _strava(stack: Stack) -> FakeStravaClient:
    return FakeStravaClient(
        stack.config.fake_strava_url, client_id=FAKE_STRAVA_CLIENT_ID, client_secret=FAKE_STRAVA_CLIENT_SECRET
    )


async def _sign_in(stack: Stack, athlete_id: int) -> str:
    await _strava(stack).queue_athlete(id=athlete_id, firstname="Bench", lastname="Ingest")
    async with httpx.AsyncClient(base_url=stack.config.gateway_url) as gateway, httpx.AsyncClient() as strava:
        start = await gateway.get("/api/auth/strava", params={"redirect_uri": "relay://relay.app/auth"})
        back = httpx.URL((await strava.get(start.headers["location"])).headers["location"])
        signed_in = await gateway.get(
            "/api/auth/strava/callback", params={"code": back.params["code"], "state": back.params["state"]}
        )
        signed_in.raise_for_status()
        token: str = signed_in.json()["token"]
        return token


async def _consumer(stack: Stack) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        f"{stack.config.topic_prefix}relay.ingestion.events",
        bootstrap_servers=stack.config.kafka_bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="latest",
    )
    await consumer.start()
    for _ in range(300):  # the group's partitions are assigned within seconds
        if consumer.assignment():
            break
        await asyncio.sleep(0.1)
    for partition in consumer.assignment():
        await consumer.seek_to_end(partition)
    return consumer


async def _wait_for(
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


async def _freshness(stack: Stack) -> dict[str, float]:
    athlete_id = 770000001
    await _sign_in(stack, athlete_id)
    strava = _strava(stack)
    count = FRESHNESS_RATE * FRESHNESS_SECONDS
    start = datetime.now(UTC) - timedelta(days=1)
    ids = []
    for i in range(count):
        ride = await strava.put_activity(
            athlete_id, {"sport_type": "Ride", "start_date": (start + timedelta(minutes=i)).isoformat()}
        )
        ids.append(str(ride["id"]))
    await asyncio.sleep(5)  # the link's backfill (these activities included) is done
    consumer = await _consumer(stack)
    sent: dict[str, float] = {}
    try:
        waiting = asyncio.create_task(
            _wait_for(consumer, "ingestion.activity.upserted", set(ids), "external_id")
        )
        async with httpx.AsyncClient(base_url=stack.config.gateway_url, timeout=10) as gateway:
            began = time.monotonic()
            for i, activity_id in enumerate(ids):
                await asyncio.sleep(max(0.0, began + i / FRESHNESS_RATE - time.monotonic()))
                body = {
                    "object_type": "activity",
                    "object_id": int(activity_id),
                    "aspect_type": "update",
                    "owner_id": athlete_id,
                    "subscription_id": 1,
                    "event_time": int(time.time()),
                    "updates": {"title": f"Edited {i}"},
                }
                await strava.put_activity(athlete_id, {"id": int(activity_id), "name": f"Edited {i}"})
                sent[activity_id] = time.time()
                answer = await gateway.post("/api/webhook/strava", json=body)
                answer.raise_for_status()
        arrived = await waiting
    finally:
        await consumer.stop()
    latencies = sorted((arrived[i] - sent[i]) * 1000 for i in ids)
    return {
        "freshness_p50_ms": round(statistics.median(latencies), 1),
        "freshness_p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1),
        "freshness_max_ms": round(latencies[-1], 1),
        "freshness_webhooks": len(latencies),
    }


async def _backfill(stack: Stack) -> dict[str, float]:
    athlete_id = 770000002
    strava = _strava(stack)
    await strava.add_history(
        athlete_id, BACKFILL_ACTIVITIES, end=datetime.now(UTC) - timedelta(hours=1), seed=2
    )
    consumer = await _consumer(stack)
    try:
        linked = time.time()
        await _sign_in(stack, athlete_id)
        completed = await _wait_for(consumer, "ingestion.sync.completed", {"success"}, "status")
        duration = completed["success"] - linked
    finally:
        await consumer.stop()
    return {
        "backfill_activities": BACKFILL_ACTIVITIES,
        "backfill_seconds": round(duration, 2),
        "backfill_activities_per_s": round(BACKFILL_ACTIVITIES / duration, 1),
    }


def _webhook_acceptance(stack: Stack) -> dict[str, float]:
    gateway = stack.config.gateway_url
    trivial = _wrk(
        f"{gateway}/api/webhook/strava?hub.mode=subscribe&hub.challenge=bench&hub.verify_token=relay-local-verify"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WEBHOOK_SCRIPT)
    try:
        command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", "-s", script.name]
        output = subprocess.run(
            [*command, f"{gateway}/api/webhook/strava"], check=True, capture_output=True, text=True
        ).stdout
    finally:
        Path(script.name).unlink()
    if re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise RuntimeError(f"webhooks refused:\n{output}")
    webhooks = {
        "rps": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), 1),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"\s99%\s+([\d.]+)(us|ms|s)", output)),
    }
    return {
        "webhook_rps": webhooks["rps"],
        "webhook_p99_ms": webhooks["p99_ms"],
        "trivial_rps": trivial["rps"],
        "trivial_p99_ms": trivial["p99_ms"],
        "webhook_vs_trivial": round(webhooks["rps"] / trivial["rps"], 2),
    }


def run() -> dict[str, Any]:
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
        figures: dict[str, Any] = {}
        figures.update(asyncio.run(_backfill(stack)))
        figures.update(asyncio.run(_freshness(stack)))
        figures.update(_webhook_acceptance(stack))
    finally:
        stack.stop_all()
        stack.stop_gateway()
        asyncio.run(stack.delete_topics())
        asyncio.run(stack.drop_databases())
    figures["setup"] = (
        f"wrk {CONNECTIONS} connections, 2 threads, {DURATION_S} s each through the gateway; freshness at "
        f"{FRESHNESS_RATE} webhooks/s for {FRESHNESS_SECONDS} s; backfill of {BACKFILL_ACTIVITIES} activities"
    )
    return figures
