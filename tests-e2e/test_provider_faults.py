"""Providers failing under load, on the whole stack: Relay acknowledges every webhook, recovers by itself
once the provider is back, and neither loses nor applies twice anything it acknowledged.

- Ingestion, three times: a steady stream of Strava webhooks for a linked athlete (15 a second: new
  activities, edits of earlier ones, redeliveries) while Strava's API answers 429 with its rate-limit
  headers for a while; or answers 500, then 503, then drops connections; or answers only after Relay's
  timeout. After each: every webhook was answered 200, each notification is stored once and processed,
  each announced activity is stored once with its latest content, and on Kafka each has exactly one
  `ingestion.activity.upserted` event that created it and one event per revision; a slow Strava holds
  no worker.
- Connections: refreshing an expired Strava token meets a 429, then a 500; the next attempt refreshes it,
  the fetch that needed it succeeds, and the link stays active.
- Export: pushes to COROS Training Hub and Garmin Connect meet 429s, server errors and a timeout after
  which the provider creates the workout all the same; each export ends exported, and each watch holds
  the workout once, on its day.

Relay's waits are shortened for this module only (`quick_retries` restarts ingestion and export with
`QUICK_SETTINGS`): Strava's 15-minute budget windows become 2-second ones, provider timeouts 2 s, and
export's first retry waits 1 s."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from relay_contracts.topics import INGESTION_EVENTS
from relay_devstack import Stack
from relay_testing.fakes.strava import FailureMode, FakeStravaClient

from .conftest import Databases, device_client
from .test_connections import bearer, connections_of
from .test_export import fake_providers, fit_of, upcoming_session
from .test_identity import eventually, sign_in
from .test_ingestion import strava_of, webhook
from .test_planning import ok, onboard

QUICK_SETTINGS = {
    # Strava's windows are 15 minutes long: a 429 without Retry-After closes Relay's budget until the
    # window ends. Here a window lasts 2 s, with room for every request of the stream.
    "INGESTION_STRAVA__RATE_LIMITS": "100000/2s;read:100000/2s",
    "INGESTION_PROVIDER_TIMEOUT_SECONDS": "2",
    "EXPORT_PROVIDER_TIMEOUT_SECONDS": "2",
    "EXPORT_RETRY_BASE_SECONDS": "1",
}
RESTARTED = ("ingestion", "export")
UNLIMITED = (1_000_000, 10_000_000)
"""The fake Strava's limits for this module: the stream must not meet Strava's own limits by accident."""

WEBHOOKS_PER_SECOND = 15
NEW_ACTIVITIES = 100
EDITED_EVERY = 5
"""After every 5th new activity's webhook, an earlier activity is edited on Strava and announced again."""
REDELIVERED_EVERY = 10
"""Every 10th webhook is delivered twice, as Strava does when it did not see the answer in time."""
FAULT_AT = 2.0
"""Seconds into the stream when Strava starts failing."""
RECOVERY_SECONDS = 45.0
"""How soon after Strava is back every announced activity must be stored (a few seconds on a quiet
machine)."""


@pytest.fixture(scope="module")
async def quick_retries(stack: Stack) -> AsyncIterator[Stack]:
    """The stack with ingestion and export restarted on `QUICK_SETTINGS`, and the fake Strava's limits
    lifted; both put back as they were afterwards, with the requests this module spent forgotten (Relay
    would otherwise read them in Strava's usage headers and wait for the next window)."""
    strava = strava_of(stack)
    previous = await strava.set_rate_limits(UNLIMITED, UNLIMITED)
    stack.config.extra_env.update(QUICK_SETTINGS)
    try:
        await restart(stack, RESTARTED)
        yield stack
    finally:
        await strava.set_rate_limits(previous.rate_limit, previous.read_rate_limit)
        await strava.reset_usage()
        for name in QUICK_SETTINGS:
            stack.config.extra_env.pop(name, None)
        await restart(stack, RESTARTED)


async def restart(stack: Stack, services: tuple[str, ...]) -> None:
    await asyncio.gather(*(asyncio.to_thread(stack.stop, service) for service in services))
    for service in services:
        stack.start(service)
    await stack.wait_ready(services)


# -- What operators read ---------------------------------------------------------------------------


async def metric(stack: Stack, service: str, name: str, **labels: str) -> float:
    """The sum of the service's samples of `name` whose labels include `labels` (its `/metrics`)."""
    async with httpx.AsyncClient(timeout=5.0) as client:
        text = (await client.get(f"{stack.config.service_url(service)}/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def upserted_events(stack: Stack, databases: Databases, user_id: str) -> list[dict[str, Any]]:
    """Every `ingestion.activity.upserted` event about the athlete on Kafka, once ingestion's outbox has
    sent all of them."""

    async def outbox_sent() -> bool:
        unsent = await databases.fetchval(
            "ingestion", "SELECT count(*) FROM outbox WHERE key = $1 AND published_at IS NULL", user_id
        )
        return unsent == 0

    assert await eventually(outbox_sent, timeout=30), "ingestion's outbox kept the athlete's events"
    topic = f"{stack.config.topic_prefix}{INGESTION_EVENTS.name}"
    partitions = [TopicPartition(topic, p) for p in range(INGESTION_EVENTS.partitions)]
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.config.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        for partition in partitions:
            while await consumer.position(partition) < ends[partition]:
                assert time.monotonic() < deadline, "Kafka did not give back the ingestion topic in 30 s"
                for records in (await consumer.getmany(partition, timeout_ms=500)).values():
                    events.extend(json.loads(record.value) for record in records)
    finally:
        await consumer.stop()
    return [
        event
        for event in events
        if event["type"] == "ingestion.activity.upserted" and event["data"]["user_id"] == user_id
    ]


# -- The athlete and the stream --------------------------------------------------------------------


@dataclass
class Athlete:
    strava_id: int
    user_id: str


async def linked_athlete(gateway: httpx.AsyncClient, stack: Stack, databases: Databases) -> Athlete:
    """A new athlete signed in with Strava, whose link ingestion knows and whose backfill is done."""
    strava_id = random.randint(10**7, 10**8)
    signed_in = await sign_in(gateway, stack, strava_id, firstname="Noa", lastname="Fault")
    athlete = Athlete(strava_id, signed_in["user"]["id"])

    async def backfilled() -> bool:
        status = await databases.fetch(
            "ingestion",
            "SELECT status FROM sync_runs WHERE provider = 'strava' AND provider_user_id = $1",
            str(strava_id),
        )
        return [row["status"] for row in status] == ["success"]

    assert await eventually(backfilled, timeout=30), "the athlete's Strava backfill never completed"
    return athlete


@dataclass
class Stream:
    """What was sent: the webhooks, the answers, the activities announced and when the faults ended."""

    announced: set[str] = field(default_factory=set)
    webhooks: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    faults_ended: float = 0.0
    """When the last fault was due to end (`time.monotonic()`)."""


Fault = tuple[float, float, Callable[[float], Awaitable[None]]]
"""When a fault starts (seconds into the stream), how long it lasts, and what starts it (given how long)."""


async def stream_webhooks(stack: Stack, athlete: Athlete, faults: list[Fault]) -> Stream:
    """Puts new activities on Strava and announces them at `WEBHOOKS_PER_SECOND` through the gateway,
    with edits of earlier ones and redeliveries among them, starting each fault on time."""
    strava = strava_of(stack)
    ids = await strava.add_history(athlete.strava_id, NEW_ACTIVITIES, seed=athlete.strava_id)
    plan: list[tuple[str, int]] = []
    edited = iter(ids)
    for n, activity_id in enumerate(ids):
        plan.append(("create", activity_id))
        if n % EDITED_EVERY == EDITED_EVERY - 1:
            plan.append(("update", next(edited)))

    stream = Stream(announced={str(i) for i in ids})
    pending_faults = sorted(faults, key=lambda fault: fault[0])
    async with device_client(stack) as gateway:

        async def deliver(body: dict[str, Any]) -> None:
            try:
                answer = await gateway.post("/api/webhook/strava", json=body)
            except httpx.TransportError as error:
                stream.answers[type(error).__name__] += 1
                return
            received = answer.status_code == 200 and answer.json() == {"received": True}
            stream.answers["received" if received else str(answer.status_code)] += 1

        sending: list[asyncio.Task[None]] = []
        began = time.monotonic()
        stream.faults_ended = began + max(at + lasting for at, lasting, _ in faults)
        for n, (aspect, activity_id) in enumerate(plan):
            while pending_faults and time.monotonic() - began >= pending_faults[0][0]:
                _, lasting, begin = pending_faults.pop(0)
                await begin(lasting)
            updates: dict[str, Any] = {}
            if aspect == "update":
                name = f"Ride edited {n}"
                await strava.put_activity(athlete.strava_id, {"id": activity_id, "name": name})
                updates = {"title": name}
            body = webhook(athlete.strava_id, activity_id, aspect, updates=updates)
            copies = 2 if n % REDELIVERED_EVERY == REDELIVERED_EVERY - 1 else 1
            sending.extend(asyncio.create_task(deliver(body)) for _ in range(copies))
            stream.webhooks += 1
            await asyncio.sleep(max(0.0, began + (n + 1) / WEBHOOKS_PER_SECOND - time.monotonic()))
        await asyncio.gather(*sending)
    return stream


async def settled(stack: Stack, databases: Databases, athlete: Athlete, stream: Stream) -> Counter[str]:
    """Waits until every announced activity is stored as Strava now has it and no notification of the
    athlete is left to process, `RECOVERY_SECONDS` at most after the faults ended; returns the athlete's
    stored notifications by status."""
    on_strava = {str(a["id"]): a["name"] for a in await strava_of(stack).activities(athlete.strava_id)}

    async def done() -> bool:
        stored = await databases.fetch(
            "ingestion", "SELECT external_id, name FROM activities WHERE user_id = $1", athlete.user_id
        )
        pending = await databases.fetchval(
            "ingestion",
            "SELECT count(*) FROM provider_notifications WHERE owner_id = $1 AND status = 'pending'",
            str(athlete.strava_id),
        )
        return pending == 0 and {row["external_id"]: row["name"] for row in stored} == on_strava

    left = stream.faults_ended + RECOVERY_SECONDS - time.monotonic()
    assert await eventually(done, timeout=left), (
        f"the activities were not all stored as on Strava {RECOVERY_SECONDS:.0f} s after it was back"
    )
    statuses = await databases.fetch(
        "ingestion",
        "SELECT status, count(*) AS n FROM provider_notifications WHERE owner_id = $1 GROUP BY status",
        str(athlete.strava_id),
    )
    return Counter({row["status"]: row["n"] for row in statuses})


async def assert_each_activity_stored_once(
    stack: Stack, databases: Databases, athlete: Athlete, stream: Stream, notifications: Counter[str]
) -> None:
    """Every webhook acknowledged and its notification processed once; every announced activity stored
    once, announced on Kafka as created once and once per revision."""
    assert stream.answers == Counter({"received": stream.webhooks + stream.webhooks // REDELIVERED_EVERY})
    assert notifications == Counter({"processed": stream.webhooks}), notifications
    stored = await databases.fetch(
        "ingestion",
        "SELECT external_id, revision FROM activities WHERE user_id = $1 AND provider = 'strava'",
        athlete.user_id,
    )
    assert sorted(row["external_id"] for row in stored) == sorted(stream.announced)
    revisions = {row["external_id"]: row["revision"] for row in stored}
    events = await upserted_events(stack, databases, athlete.user_id)
    assert len({event["id"] for event in events}) == len(events), "an event reached Kafka twice"
    created = Counter(event["data"]["external_id"] for event in events if event["data"]["created"])
    assert created == Counter(dict.fromkeys(stream.announced, 1)), "an activity was not created exactly once"
    seen: dict[str, list[int]] = {}
    for event in events:
        seen.setdefault(event["data"]["external_id"], []).append(event["data"]["revision"])
    assert {external_id: sorted(r) for external_id, r in seen.items()} == {
        external_id: list(range(1, revision + 1)) for external_id, revision in revisions.items()
    }, "a change was announced twice, or not at all"


def strava_fault(
    strava: FakeStravaClient, mode: FailureMode, **options: float
) -> Callable[[float], Awaitable[None]]:
    """Strava's API failing this way for a while (and for one read at least, however late it comes)."""

    async def begin(lasting: float) -> None:
        await strava.fail_next(mode, endpoint="api", for_seconds=lasting, **options)

    return begin


# -- Ingestion -------------------------------------------------------------------------------------


async def test_under_strava_429s_every_webhook_is_acknowledged_and_each_activity_stored_once_after_they_stop(
    quick_retries: Stack, gateway: httpx.AsyncClient, databases: Databases
) -> None:
    stack = quick_retries
    athlete = await linked_athlete(gateway, stack, databases)
    limited_before = await metric(
        stack, "ingestion", "relay_ingestion_notifications_total", provider="strava", outcome="rate_limited"
    )

    stream = await stream_webhooks(
        stack, athlete, [(FAULT_AT, 3.0, strava_fault(strava_of(stack), "rate_limited"))]
    )
    notifications = await settled(stack, databases, athlete, stream)

    limited = await metric(
        stack, "ingestion", "relay_ingestion_notifications_total", provider="strava", outcome="rate_limited"
    )
    assert limited > limited_before, "no notification met Strava's 429"
    await assert_each_activity_stored_once(stack, databases, athlete, stream, notifications)


async def test_while_strava_fails_with_5xx_or_drops_connections_each_activity_is_stored_once_when_it_is_back(
    quick_retries: Stack, gateway: httpx.AsyncClient, databases: Databases
) -> None:
    stack = quick_retries
    athlete = await linked_athlete(gateway, stack, databases)
    strava = strava_of(stack)
    retried_before = await metric(
        stack, "ingestion", "relay_ingestion_notifications_total", provider="strava", outcome="retried"
    )
    faults: list[Fault] = [
        (FAULT_AT, 1.0, strava_fault(strava, "server_error")),
        (FAULT_AT + 1.0, 1.0, strava_fault(strava, "down")),
        (FAULT_AT + 2.0, 1.0, strava_fault(strava, "disconnect")),
    ]

    stream = await stream_webhooks(stack, athlete, faults)
    notifications = await settled(stack, databases, athlete, stream)

    retried = await metric(
        stack, "ingestion", "relay_ingestion_notifications_total", provider="strava", outcome="retried"
    )
    assert retried - retried_before >= len(faults), "not every failure was met by a notification"
    await assert_each_activity_stored_once(stack, databases, athlete, stream, notifications)


async def test_while_strava_answers_after_the_timeout_each_activity_is_stored_once_and_no_worker_stays_stuck(
    quick_retries: Stack, gateway: httpx.AsyncClient, databases: Databases
) -> None:
    stack = quick_retries
    athlete = await linked_athlete(gateway, stack, databases)
    retried_before = await metric(
        stack, "ingestion", "relay_ingestion_notifications_total", provider="strava", outcome="retried"
    )
    # Later than Relay's timeout (INGESTION_PROVIDER_TIMEOUT_SECONDS).
    slow = strava_fault(strava_of(stack), "slow", seconds=3.0)

    stream = await stream_webhooks(stack, athlete, [(FAULT_AT, 3.0, slow)])
    notifications = await settled(stack, databases, athlete, stream)

    retried = await metric(
        stack, "ingestion", "relay_ingestion_notifications_total", provider="strava", outcome="retried"
    )
    assert retried > retried_before, "no read of Strava timed out"
    await assert_each_activity_stored_once(stack, databases, athlete, stream, notifications)
    # Reads that timed out hold no worker: the next webhook is read at once.
    ride = await strava_of(stack).put_activity(athlete.strava_id, {"sport_type": "Ride", "name": "After"})
    answer = await gateway.post("/api/webhook/strava", json=webhook(athlete.strava_id, ride["id"]))
    assert answer.status_code == 200, answer.text

    async def read() -> bool:
        found = await databases.fetchval(
            "ingestion", "SELECT count(*) FROM activities WHERE external_id = $1", str(ride["id"])
        )
        return found == 1

    assert await eventually(read, timeout=10), "a webhook after the slow spell was not read within 10 s"


# -- Connections -----------------------------------------------------------------------------------


async def test_refreshing_an_expired_token_tries_again_after_429_and_500_and_the_link_stays_active(
    quick_retries: Stack, gateway: httpx.AsyncClient, databases: Databases
) -> None:
    stack = quick_retries
    strava = strava_of(stack)
    strava_id = random.randint(10**7, 10**8)
    seen = len(await strava.received("/oauth/token"))
    failed_before = await metric(
        stack, "connections", "relay_connections_token_refreshes_total", provider="strava", outcome="failed"
    )
    await strava.fail_next("rate_limited", endpoint="refresh")
    await strava.fail_next("server_error", endpoint="refresh")
    # Strava's clock is set back during the sign-in: the token it grants expired a minute ago.
    set_back = 6 * 3600 + 60
    await strava.advance_clock(-set_back)
    try:
        signed_in = await sign_in(gateway, stack, strava_id, firstname="Ivo", lastname="Refresh")
    finally:
        await strava.advance_clock(set_back)
    token = signed_in["token"]

    async def link_known() -> bool:
        status = await databases.fetch(
            "ingestion",
            "SELECT status FROM provider_links WHERE provider = 'strava' AND provider_user_id = $1",
            str(strava_id),
        )
        return [row["status"] for row in status] == ["active"]

    assert await eventually(link_known, timeout=30), "ingestion never heard of the Strava link"
    ride = await strava.put_activity(strava_id, {"sport_type": "Ride", "name": "Fresh token"})
    answer = await gateway.post("/api/webhook/strava", json=webhook(strava_id, ride["id"]))
    assert answer.status_code == 200, answer.text

    async def stored() -> bool:
        names = await databases.fetch(
            "ingestion", "SELECT name FROM activities WHERE external_id = $1", str(ride["id"])
        )
        return [row["name"] for row in names] == ["Fresh token"]

    assert await eventually(stored, timeout=30), "the activity was never read with a refreshed token"
    [connection] = await connections_of(gateway, token)
    assert (connection["status"], connection["status_reason"]) == ("active", None), connection
    refreshes = [
        r
        for r in (await strava.received("/oauth/token"))[seen:]
        if r.fields.get("grant_type") == "refresh_token"
    ]
    assert len(refreshes) >= 3, refreshes
    assert (
        refreshes[0].fields["refresh_token"]
        == refreshes[1].fields["refresh_token"]
        == refreshes[2].fields["refresh_token"]
    ), "a refresh that failed changed the refresh token Relay holds"
    failed = await metric(
        stack, "connections", "relay_connections_token_refreshes_total", provider="strava", outcome="failed"
    )
    assert failed - failed_before == 2


# -- Export ----------------------------------------------------------------------------------------

COROS_IMPORT, COROS_IMPORTS = "/activity/fit/import", "/activity/fit/getImportSportList"
GARMIN_CREATE, GARMIN_WORKOUTS = "/workout-service/workout", "/workout-service/workouts"
LATE = 3.0
"""How late a slow provider answers: after export's timeout (EXPORT_PROVIDER_TIMEOUT_SECONDS), and before
the attempt after next (4 s later): it creates the workout all the same."""


async def test_pushes_that_meet_429_server_errors_and_timeouts_are_retried_and_leave_one_workout_per_watch(
    quick_retries: Stack, gateway: httpx.AsyncClient
) -> None:
    stack = quick_retries
    token, program = await onboard(gateway, stack, random.randint(10**7, 10**8))
    fake = fake_providers(stack)
    email, password = f"kai.{uuid.uuid4().hex[:8]}@example.com", f"pw-{uuid.uuid4().hex[:12]}"
    await fake.add_coros_account(email, password)
    await ok(
        gateway,
        "POST",
        "/api/providers/coros_training_hub/login",
        token,
        json={"email": email, "password": password},
    )
    started = await ok(
        gateway,
        "POST",
        "/api/providers/garmin/connect",
        token,
        json={"redirect_uri": "relay://relay.app/connections"},
    )
    back = await fake.authorize("garmin", started["authorization_url"])
    assert (await gateway.get("/api/providers/garmin/callback", params=dict(back.params))).status_code == 302
    garmin_user = {c["provider"]: c for c in await connections_of(gateway, token)}["garmin"][
        "provider_user_id"
    ]
    planned = await upcoming_session(gateway, token, program["id"])
    await fit_of(gateway, token, planned["id"])

    # COROS: 429 on the import; the hub's own server error (result 5000) on the lookup the next attempt
    # makes first; then an import answered too late. Garmin: 500 on the creation; 503 on the lookup; then
    # a creation answered too late. The attempt after looks, finds the late workout and finishes it.
    await fake.fail_next("coros-hub", "rate_limited", COROS_IMPORT)
    await fake.fail_next("coros-hub", "server_error", COROS_IMPORTS)
    await fake.fail_next("coros-hub", "slow", COROS_IMPORT, seconds=LATE)
    await fake.fail_next("garmin", "server_error", GARMIN_CREATE)
    await fake.fail_next("garmin", "down", GARMIN_WORKOUTS)
    await fake.fail_next("garmin", "slow", GARMIN_CREATE, seconds=LATE)
    exports = {}
    for provider in ("coros_training_hub", "garmin"):
        asked = await gateway.post(
            f"/api/sessions/{planned['id']}/export", json={"provider": provider}, headers=bearer(token)
        )
        assert asked.status_code == 202, asked.text
        exports[provider] = asked.json()["id"]

    async def both_settled() -> dict[str, dict[str, Any]] | None:
        states = {p: await ok(gateway, "GET", f"/api/exports/{i}", token) for p, i in exports.items()}
        return states if all(s["status"] in ("exported", "failed") for s in states.values()) else None

    settled_exports = await eventually(both_settled, timeout=45)
    assert settled_exports is not None, "the exports never settled"
    coros, garmin = settled_exports["coros_training_hub"], settled_exports["garmin"]
    assert (coros["status"], garmin["status"]) == ("exported", "exported"), settled_exports
    assert coros["attempts"] >= 4 and garmin["attempts"] >= 4, "the faults were not all met"
    imports = await fake.coros_imports(email)
    assert [i.import_id for i in imports] == [coros["provider_workout_id"]], (
        "COROS holds another number of imports"
    )
    workouts = await fake.garmin_workouts(garmin_user)
    assert [str(w.workout_id) for w in workouts] == [garmin["provider_workout_id"]], (
        "Garmin holds another number of workouts"
    )
    assert [d.isoformat() for d in workouts[0].scheduled_dates] == [planned["scheduled_date"]], (
        "the Garmin workout is not on the session's day, once"
    )
