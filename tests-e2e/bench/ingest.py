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
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from harness import (
    LIFTED,
    WRK_CONNECTIONS,
    WRK_THREADS,
    bench_config,
    fake_strava,
    ingestion_events,
    running,
    sign_in,
    wait_for,
    wrk,
)

from relay_devstack import Stack, StackConfig

BASE = 8500
DURATION_S = 20
FRESHNESS_RATE = 50
FRESHNESS_SECONDS = 20
BACKFILL_ACTIVITIES = 5000
HIGH = "1000000,10000000"

WEBHOOK_SCRIPT = """
-- Each thread numbers its notifications from a block of its own: every request is a new notification.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("first_id", threads * 100000000)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"object_type":"activity","object_id":%d,"aspect_type":"create","owner_id":%d,' ..
    '"subscription_id":1,"event_time":%d,"updates":{}}',
    first_id + counter, 900000000 + (counter % 1000), os.time())
  return wrk.format(nil, nil, nil, body)
end
"""


def config(base: int, gateway_dir: str, extra_env: dict[str, str] | None = None) -> StackConfig:
    """A bench stack whose webhooks and Strava budgets (Relay's and the fake's) are lifted."""
    return bench_config(
        base,
        gateway_dir,
        extra_env={
            "INGESTION_RATE_LIMIT_WEBHOOK_PER_MINUTE": LIFTED,
            "INGESTION_STRAVA__RATE_LIMITS": "1000000/15m;read:1000000/15m",
            "INGESTION_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        },
        fake_strava_options=("--rate-limit", HIGH, "--read-rate-limit", HIGH),
    )


async def _freshness(stack: Stack) -> dict[str, float]:
    athlete_id = 770000001
    await sign_in(stack, athlete_id, firstname="Bench", lastname="Ingest")
    strava = fake_strava(stack)
    count = FRESHNESS_RATE * FRESHNESS_SECONDS
    start = datetime.now(UTC) - timedelta(days=1)
    ids = []
    for i in range(count):
        ride = await strava.put_activity(
            athlete_id, {"sport_type": "Ride", "start_date": (start + timedelta(minutes=i)).isoformat()}
        )
        ids.append(str(ride["id"]))
    await asyncio.sleep(5)  # the link's backfill (these activities included) is done
    consumer = await ingestion_events(stack)
    sent: dict[str, float] = {}
    try:
        waiting = asyncio.create_task(
            wait_for(consumer, "ingestion.activity.upserted", set(ids), "external_id")
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
    strava = fake_strava(stack)
    await strava.add_history(
        athlete_id, BACKFILL_ACTIVITIES, end=datetime.now(UTC) - timedelta(hours=1), seed=2
    )
    consumer = await ingestion_events(stack)
    try:
        linked = time.time()
        await sign_in(stack, athlete_id, firstname="Bench", lastname="Ingest")
        completed = await wait_for(consumer, "ingestion.sync.completed", {"success"}, "status")
        duration = completed["success"] - linked
    finally:
        await consumer.stop()
    return {
        "backfill_activities": BACKFILL_ACTIVITIES,
        "backfill_seconds": round(duration, 2),
        "backfill_activities_per_s": round(BACKFILL_ACTIVITIES / duration, 1),
    }


def webhook_acceptance(stack: Stack, duration_s: int = DURATION_S) -> dict[str, float]:
    """`POST /api/webhook/strava` at saturation through the gateway, each request a new notification (of
    an account no athlete linked: stored, its event staged and the request answered, then settled by the
    worker), next to the same service's subscription check (no database, no Kafka) in the same run."""
    gateway = stack.config.gateway_url
    trivial = wrk(
        f"{gateway}/api/webhook/strava?hub.mode=subscribe&hub.challenge=bench&hub.verify_token=relay-local-verify",
        duration_s=duration_s,
    )
    webhooks = wrk(f"{gateway}/api/webhook/strava", script=WEBHOOK_SCRIPT, duration_s=duration_s)
    return {
        "webhook_rps": webhooks["rps"],
        "webhook_p50_ms": webhooks["p50_ms"],
        "webhook_p99_ms": webhooks["p99_ms"],
        "trivial_rps": trivial["rps"],
        "trivial_p50_ms": trivial["p50_ms"],
        "trivial_p99_ms": trivial["p99_ms"],
        "webhook_vs_trivial": round(webhooks["rps"] / trivial["rps"], 2),
    }


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with running(
        config(BASE, "bench-ingestion-gateway", {"INGESTION_STRAVA__BACKFILL_DAYS": "5000"})
    ) as stack:
        figures.update(asyncio.run(_backfill(stack)))
        figures.update(asyncio.run(_freshness(stack)))
        figures.update(webhook_acceptance(stack))
    figures["setup"] = (
        f"wrk {WRK_CONNECTIONS} connections, {WRK_THREADS} threads, {DURATION_S} s each through the gateway; "
        f"freshness at {FRESHNESS_RATE} webhooks/s for {FRESHNESS_SECONDS} s; backfill of "
        f"{BACKFILL_ACTIVITIES} activities"
    )
    return figures
