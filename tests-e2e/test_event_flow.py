"""The bones of Relay: a request through the gateway changes state in one service, its event leaves
through the outbox, another service consumes it idempotently, and the audit service records it —
even when the consuming service is killed in the middle of the stream."""

import asyncio
import random
import signal
import time
from typing import Any

import httpx

from relay_devstack import Stack

from .faults import audited, notifications_counted, strava_event, wait_for


async def test_a_webhook_is_counted_once_by_connections_and_audited_once_even_when_redelivered(
    gateway: httpx.AsyncClient, databases: Any
) -> None:
    owner = random.randint(10**8, 10**9)
    event = strava_event(owner)
    for _ in range(3):  # Strava retries when it did not see our 200 in time
        response = await gateway.post("/api/webhook/strava", json=event)
        assert response.json() == {"received": True}

    assert await wait_for(lambda: notifications_counted(databases, [owner]), 1) == 1
    assert await wait_for(lambda: audited(databases, [owner]), 1) == 1
    stored = await databases.fetchval(
        "ingestion", "SELECT count(*) FROM provider_notifications WHERE owner_id = $1", str(owner)
    )
    assert stored == 1
    await asyncio.sleep(1.0)  # nothing else trickles in later
    assert await notifications_counted(databases, [owner]) == 1


async def test_killing_the_consumer_mid_stream_loses_nothing_and_applies_nothing_twice(
    stack: Stack, gateway: httpx.AsyncClient, databases: Any
) -> None:
    owners = [random.randint(10**9, 10**10) for _ in range(25)]
    total, rate_per_second, kill_at, restart_at = 600, 60, 150, 300
    accepted: list[dict[str, Any]] = []
    refused = 0

    async def send(event: dict[str, Any]) -> None:
        nonlocal refused
        try:
            response = await gateway.post("/api/webhook/strava", json=event)
        except httpx.TransportError:
            refused += 1
            return
        if response.status_code == 200:
            accepted.append(event)
        else:
            refused += 1

    in_flight: list[asyncio.Task[None]] = []
    started = time.monotonic()
    for n in range(total):
        if n == kill_at:
            stack.kill("connections", signal.SIGKILL)
        if n == restart_at:
            stack.start("connections")
        event = strava_event(random.choice(owners))
        in_flight.append(asyncio.create_task(send(event)))
        if n % 10 == 0:  # Strava redelivers some notifications
            in_flight.append(asyncio.create_task(send(event)))
        await asyncio.sleep(max(0.0, started + (n + 1) / rate_per_second - time.monotonic()))
    await asyncio.gather(*in_flight)
    await stack.wait_ready(("connections",))

    unique_accepted = len({e["object_id"] for e in accepted})
    assert refused == 0, "the webhook is answered by ingestion, which stayed up"
    assert unique_accepted == total
    counted = await wait_for(lambda: notifications_counted(databases, owners), unique_accepted, timeout=90)
    assert counted == unique_accepted, f"connections counted {counted} of {unique_accepted} accepted webhooks"
    assert await wait_for(lambda: audited(databases, owners), unique_accepted, timeout=90) == unique_accepted
    await asyncio.sleep(2.0)
    assert await notifications_counted(databases, owners) == unique_accepted  # and nothing applied twice


async def test_the_callers_trace_follows_the_event_through_kafka_into_the_audit_trail(
    gateway: httpx.AsyncClient, databases: Any
) -> None:
    trace_id = f"{random.getrandbits(128):032x}"
    owner = random.randint(10**8, 10**9)
    response = await gateway.post(
        "/api/webhook/strava",
        json=strava_event(owner),
        headers={"traceparent": f"00-{trace_id}-{random.getrandbits(64):016x}-01"},
    )
    assert response.status_code == 200
    assert await wait_for(lambda: audited(databases, [owner]), 1) == 1
    webhook_id = await databases.fetchval(
        "ingestion", "SELECT id::text FROM provider_notifications WHERE owner_id = $1", str(owner)
    )
    recorded = await databases.fetchval(
        "audit", "SELECT trace_id FROM audit_entries WHERE entity_id = $1", webhook_id
    )
    assert recorded == trace_id
