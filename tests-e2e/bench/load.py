"""Relay under load: four figures of one stack in one run, each next to a reference measured in the same
run, on the same machine, at the same time.

- webhook acceptance: `POST /api/webhook/strava` at saturation through the gateway, each request a new
  notification (`ingest.webhook_acceptance`); reference: the same service's subscription check through
  the gateway (no database, no Kafka).
- API reads: `GET /api/sessions/week` (the week's sessions, the app's home screen: the athlete's active
  program, its weeks, the week's sessions, the profile's timezone) at saturation through the gateway,
  the tokens of 8 athletes in turn; each athlete was onboarded through the gateway (an Ironman program)
  and has a Strava history of 100 activities backfilled. Reference: the same requests sent straight to
  planning, bypassing the gateway.
- freshness: Strava webhooks at a steady 20 a second for 20 s, the athletes in turn, each about a new
  activity recorded on the fake Strava after the backfills, to the activity read by its athlete
  through the gateway (`GET /api/activities/{id}`, asked as soon as its `ingestion.activity.upserted`
  is read on Kafka). Reference: a bare produce -> consume round trip on the same Kafka broker, at the
  same rate and the same time (acks=all and an idempotent producer, as the services send), and the
  webhooks' own response time.
- memory: PSS (and RSS) of the whole stack, the six services, the gateway, Kafka, PostgreSQL (only its
  backends of this stack's databases) and Redis, right after the load; reference: the same at rest,
  5 s after start-up, and the infrastructure (Kafka, PostgreSQL, Redis) alone at rest.

Every rate limit that the load would reach is lifted for the run (per athlete, webhooks, sign-in, the
Strava budget on both sides): what is measured is the work, not a limit being enforced. Kafka, PostgreSQL
and Redis are the local infrastructure's, shared with anything else running on it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import ingest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from harness import (
    LIFTED,
    WRK_CONNECTIONS,
    WRK_THREADS,
    fake_strava,
    ingestion_events,
    latest_consumer,
    running,
    sign_in,
    wait_for,
    wrk,
)
from stack import descendants, infrastructure_processes, memory_mib, process_tree

from relay_contracts import TopicSpec
from relay_devstack import SERVICES, Stack
from relay_platform.messaging import delete_topics, ensure_topics

BASE = 8500
DURATION_S = 20
ATHLETES = 8
HISTORY = 100
READ = "/api/sessions/week"
FRESHNESS_RATE = 20
FRESHNESS_SECONDS = 20
SETTLE_S = 5
TIMEZONE = "Europe/Paris"
ROUND_TRIP = TopicSpec(
    name="bench.round-trip",
    description="Messages timed from produce to consume: what the transport alone costs.",
    key="sequence number",
)


@dataclass(frozen=True)
class Athlete:
    strava_id: int
    user_id: str
    token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def _ok(gateway: httpx.AsyncClient, athlete: Athlete, method: str, path: str, **kwargs: Any) -> Any:
    answer = await gateway.request(method, path, headers=athlete.bearer, **kwargs)
    if answer.status_code != 200:
        raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")
    return answer.json()


async def _onboard(gateway: httpx.AsyncClient, athlete: Athlete) -> None:
    """The onboarding an athlete goes through in the app: thresholds, profile, then a 20-week Ironman."""
    thresholds = {
        "fc_max": 186,
        "ftp": 250,
        "threshold_pace_seconds_per_km": 270,
        "swim_css_seconds_per_100m": 105,
    }
    await _ok(gateway, athlete, "PATCH", "/api/auth/me/profile", json={**thresholds, "timezone": TIMEZONE})
    profile = {"birth_year": 1988, "gender": "F", "weight_kg": 60, "experience_level": "intermediate"}
    await _ok(
        gateway, athlete, "POST", "/api/onboarding/profile", json={**profile, "longest_distance": "70.3"}
    )
    deadline = time.monotonic() + 60
    # Planning learns the profile from identity's event.
    while not (await _ok(gateway, athlete, "GET", "/api/onboarding/status"))["steps"]["level"]["completed"]:
        if time.monotonic() > deadline:
            raise RuntimeError("planning never heard of identity's profile")
        await asyncio.sleep(0.2)
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    first_monday = today + timedelta(days=(7 - today.weekday()) % 7)
    race = first_monday + timedelta(weeks=20, days=-1)
    goal = {"event_name": "Ironman Nice", "event_date": race.isoformat(), "distance_type": "ironman"}
    await _ok(gateway, athlete, "POST", "/api/onboarding/goal", json=goal)
    availability = {"weekly_hours": 12, "unavailable_days": [0, 3], "preferred_long_day": 6}
    await _ok(gateway, athlete, "POST", "/api/onboarding/availability", json=availability)
    constraints = {
        "pool_access": True,
        "pool_schedule": {"monday": ["12:00-13:30"], "tuesday": ["19:00-21:00"], "saturday": ["08:00-12:00"]},
        "home_trainer": True,
    }
    await _ok(gateway, athlete, "POST", "/api/onboarding/constraints", json=constraints)
    await _ok(gateway, athlete, "POST", "/api/onboarding/complete", json={"target_time": 39600})


async def _athletes(stack: Stack) -> tuple[list[Athlete], dict[str, float]]:
    """Athletes signed in (their Strava history backfilled) and onboarded, each with sessions this week."""
    strava = fake_strava(stack)
    events = await ingestion_events(stack)
    athletes = []
    try:
        for n in range(ATHLETES):
            strava_id = 780000001 + n
            await strava.add_history(strava_id, HISTORY, end=datetime.now(UTC) - timedelta(hours=2), seed=n)
            # One after the other: the fake Strava hands out its queued athletes in order.
            answer = await sign_in(stack, strava_id, firstname="Bench", lastname=f"Load {n}")
            athletes.append(Athlete(strava_id, answer["user"]["id"], answer["token"]))
        async with httpx.AsyncClient(base_url=stack.config.gateway_url, timeout=30) as gateway:
            await asyncio.gather(*(_onboard(gateway, athlete) for athlete in athletes))
            await wait_for(events, "ingestion.sync.completed", {a.user_id for a in athletes}, "user_id")
            sessions, activities = [], []
            for athlete in athletes:
                sessions.append(len((await _ok(gateway, athlete, "GET", READ))["sessions"]))
                listed = await _ok(gateway, athlete, "GET", "/api/activities", params={"limit": 1})
                activities.append(listed["pagination"]["total"])
    finally:
        await events.stop()
    if min(sessions) == 0:
        raise RuntimeError(f"an athlete has no session this week: {sessions}")
    return athletes, {"read_sessions_per_week": min(sessions), "read_activities_per_athlete": min(activities)}


def _read_script(athletes: list[Athlete]) -> str:
    tokens = ", ".join(f'"{athlete.token}"' for athlete in athletes)
    return f"""
-- The athletes' tokens in turn, a request each.
local tokens = {{{tokens}}}
local requests = {{}}
local counter = 0
function init(args)
  for i, token in ipairs(tokens) do
    requests[i] = wrk.format(nil, nil, {{["Authorization"] = "Bearer " .. token}})
  end
end
function request()
  counter = counter + 1
  return requests[counter % #requests + 1]
end
"""


def _reads(stack: Stack, athletes: list[Athlete]) -> dict[str, float]:
    script = _read_script(athletes)
    through = wrk(f"{stack.config.gateway_url}{READ}", script=script, duration_s=DURATION_S)
    direct = wrk(f"{stack.config.service_url('planning')}{READ}", script=script, duration_s=DURATION_S)
    return {
        "read_gateway_rps": through["rps"],
        "read_gateway_p50_ms": through["p50_ms"],
        "read_gateway_p99_ms": through["p99_ms"],
        "read_direct_rps": direct["rps"],
        "read_direct_p50_ms": direct["p50_ms"],
        "read_direct_p99_ms": direct["p99_ms"],
        "read_gateway_vs_direct": round(through["rps"] / direct["rps"], 2),
    }


def _spread(name: str, values: list[float]) -> dict[str, float]:
    """Median, 95th percentile and maximum of `values` (ms)."""
    ordered = sorted(values)
    return {
        f"{name}_p50_ms": round(statistics.median(ordered), 1),
        f"{name}_p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1),
        f"{name}_max_ms": round(ordered[-1], 1),
    }


async def _readable(gateway: httpx.AsyncClient, athlete: Athlete, activity_id: str) -> float:
    """When the athlete could read the activity through the gateway (epoch seconds)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = await gateway.get(f"/api/activities/{activity_id}", headers=athlete.bearer)
        if answer.status_code == 200:
            return time.time()
        if answer.status_code != 404:
            answer.raise_for_status()
        await asyncio.sleep(0.01)
    raise RuntimeError(f"activity {activity_id} announced but never readable")


async def _watch(
    events: AIOKafkaConsumer, gateway: httpx.AsyncClient, athletes: list[Athlete], sent: dict[str, float]
) -> tuple[dict[str, float], dict[str, float]]:
    """For each activity of `sent` (by Strava id): when its `ingestion.activity.upserted` was read, and when
    its athlete read it through the gateway, asked at once."""
    by_user = {athlete.user_id: athlete for athlete in athletes}
    count = FRESHNESS_RATE * FRESHNESS_SECONDS
    announced: dict[str, float] = {}
    reads: dict[str, asyncio.Task[float]] = {}
    deadline = time.monotonic() + FRESHNESS_SECONDS + 120
    while len(announced) < count and time.monotonic() < deadline:
        batches = await events.getmany(timeout_ms=200)
        now = time.time()
        for records in batches.values():
            for record in records:
                envelope = json.loads(record.value)
                data = envelope["data"]
                if envelope["type"] != "ingestion.activity.upserted" or data["external_id"] not in sent:
                    continue
                if data["external_id"] not in announced:
                    announced[data["external_id"]] = now
                    reads[data["external_id"]] = asyncio.create_task(
                        _readable(gateway, by_user[data["user_id"]], data["activity_id"])
                    )
    readable = dict(zip(reads, await asyncio.gather(*reads.values()), strict=True))
    if len(announced) < count:
        raise RuntimeError(f"{count - len(announced)} activities never announced")
    return announced, readable


async def _new_activities(stack: Stack, athletes: list[Athlete]) -> list[tuple[Athlete, int]]:
    """Activities recorded on Strava since the backfills, the athletes in turn: what the webhooks announce."""
    strava = fake_strava(stack)
    each = FRESHNESS_RATE * FRESHNESS_SECONDS // len(athletes)
    recorded = [
        await strava.add_history(athlete.strava_id, each, end=datetime.now(UTC), seed=1000 + n)
        for n, athlete in enumerate(athletes)
    ]
    return [(athlete, ids[i]) for i in range(each) for athlete, ids in zip(athletes, recorded, strict=True)]


async def _webhooks(
    gateway: httpx.AsyncClient, recorded: list[tuple[Athlete, int]], sent: dict[str, float]
) -> list[float]:
    """Strava's webhook about each activity at a steady rate (each at its time, whatever the previous answers
    took); returns their response times (ms)."""
    answered: list[float] = []
    began = time.monotonic()

    async def send(i: int, athlete: Athlete, activity: int) -> None:
        await asyncio.sleep(max(0.0, began + i / FRESHNESS_RATE - time.monotonic()))
        body = {
            "object_type": "activity",
            "object_id": activity,
            "aspect_type": "create",
            "owner_id": athlete.strava_id,
            "subscription_id": 1,
            "event_time": int(time.time()),
            "updates": {},
        }
        sent[str(activity)] = time.time()
        asked = time.perf_counter()
        answer = await gateway.post("/api/webhook/strava", json=body)
        answered.append((time.perf_counter() - asked) * 1000)
        answer.raise_for_status()

    await asyncio.gather(*(send(i, athlete, activity) for i, (athlete, activity) in enumerate(recorded)))
    return answered


@contextlib.asynccontextmanager
async def _transport(stack: Stack) -> AsyncIterator[tuple[AIOKafkaProducer, AIOKafkaConsumer, str]]:
    """A topic of the stack's broker made like the event topics, a producer that sends as the services'
    do (acks=all, idempotent, linger 2 ms), and a consumer at the topic's end; the topic deleted after."""
    bootstrap, topic = stack.config.kafka_bootstrap, f"{stack.config.topic_prefix}{ROUND_TRIP.name}"
    await ensure_topics(bootstrap, prefix=stack.config.topic_prefix, topics=(ROUND_TRIP,))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2)
    consumer: AIOKafkaConsumer | None = None
    try:
        await producer.start()
        # Sent once the new topic's partitions have their leader: nothing is timed before that.
        await producer.send_and_wait(topic, b"-1")
        consumer = await latest_consumer(bootstrap, topic)
        yield producer, consumer, topic
    finally:
        await producer.stop()
        if consumer is not None:
            await consumer.stop()
        await delete_topics(bootstrap, prefix=stack.config.topic_prefix, topics=(ROUND_TRIP,))


async def _round_trips(producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, topic: str) -> list[float]:
    """Messages produced at the webhooks' rate, for as long; the time from each send to its arrival at
    the consumer (ms)."""
    count = FRESHNESS_RATE * FRESHNESS_SECONDS
    sent: dict[int, float] = {}
    arrived: dict[int, float] = {}

    async def consume() -> None:
        deadline = time.monotonic() + FRESHNESS_SECONDS + 60
        while len(arrived) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batches.values():
                for record in records:
                    if int(record.value) >= 0:
                        arrived.setdefault(int(record.value), now)

    consuming = asyncio.create_task(consume())
    began = time.monotonic()
    deliveries = []
    for n in range(count):
        await asyncio.sleep(max(0.0, began + n / FRESHNESS_RATE - time.monotonic()))
        sent[n] = time.time()
        deliveries.append(await producer.send(topic, str(n).encode(), key=str(n).encode()))
    await asyncio.gather(*deliveries)
    await consuming
    if len(arrived) < count:
        raise RuntimeError(f"{count - len(arrived)} round-trip messages never arrived")
    return [(arrived[n] - sent[n]) * 1000 for n in range(count)]


async def _freshness(stack: Stack, athletes: list[Athlete]) -> dict[str, float]:
    recorded = await _new_activities(stack, athletes)
    events = await ingestion_events(stack)
    sent: dict[str, float] = {}
    try:
        async with (
            _transport(stack) as transport,
            httpx.AsyncClient(base_url=stack.config.gateway_url, timeout=30) as gateway,
        ):
            watching = asyncio.create_task(_watch(events, gateway, athletes, sent))
            probing = asyncio.create_task(_round_trips(*transport))
            answered = await _webhooks(gateway, recorded, sent)
            announced, readable = await watching
            round_trips = await probing
    finally:
        await events.stop()
    return {
        **_spread("freshness", [(readable[a] - sent[a]) * 1000 for a in sent]),
        **_spread("freshness_event", [(announced[a] - sent[a]) * 1000 for a in sent]),
        **_spread("webhook_response", answered),
        **_spread("kafka_round_trip", round_trips),
        "freshness_webhooks": len(sent),
    }


def _memory(stack: Stack) -> dict[str, float]:
    config = stack.config
    services = [process.pid for name, process in stack.processes.items() if name in SERVICES]
    groups = {
        **infrastructure_processes(config.home, {config.database(service) for service in SERVICES}),
        "gateway": process_tree((config.gateway_dir or config.home / "gateway") / "nginx.pid"),
        "services": descendants(services),
    }
    return memory_mib({name: pids for name, pids in groups.items() if pids})


def _memory_figures(rest: dict[str, float], loaded: dict[str, float]) -> dict[str, float]:
    infrastructure = ("kafka", "postgresql", "redis")
    return {
        **{f"memory_rest_{key}": value for key, value in rest.items()},
        **{f"memory_loaded_{key}": value for key, value in loaded.items()},
        "memory_infrastructure_rest_pss_mib": round(
            sum(rest.get(f"{n}_pss_mib", 0) for n in infrastructure), 1
        ),
        "memory_infrastructure_rest_rss_mib": round(
            sum(rest.get(f"{n}_rss_mib", 0) for n in infrastructure), 1
        ),
        "memory_loaded_vs_rest": round(loaded["total_pss_mib"] / rest["total_pss_mib"], 2),
    }


def run() -> dict[str, Any]:
    began = time.monotonic()
    lifted = {
        "IDENTITY_RATE_LIMIT_AUTH_PER_MINUTE": LIFTED,  # the athletes all sign in from 127.0.0.1
        "INGESTION_STRAVA__BACKFILL_DAYS": "365",  # the whole of each history
    }
    figures: dict[str, Any] = {}
    with running(ingest.config(BASE, "bench-load-gateway", lifted)) as stack:
        time.sleep(SETTLE_S)
        rest = _memory(stack)
        athletes, data = asyncio.run(_athletes(stack))
        time.sleep(SETTLE_S)  # the backfills' events consumed (planning scores each activity)
        figures.update(data)
        figures.update(_reads(stack, athletes))
        figures.update(asyncio.run(_freshness(stack, athletes)))
        figures.update(ingest.webhook_acceptance(stack, DURATION_S))
        loaded = _memory(stack)
    figures.update(_memory_figures(rest, loaded))
    figures["freshness_vs_kafka_round_trip"] = round(
        figures["freshness_p95_ms"] / figures["kafka_round_trip_p95_ms"], 1
    )
    figures["run_s"] = round(time.monotonic() - began)
    figures["setup"] = (
        f"one stack; wrk {WRK_CONNECTIONS} connections, {WRK_THREADS} threads, {DURATION_S} s per run; "
        f"reads of {READ} by {ATHLETES} athletes in turn (each with an Ironman program and {HISTORY} Strava "
        f"activities); freshness at {FRESHNESS_RATE} webhooks/s for {FRESHNESS_SECONDS} s"
    )
    return figures


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 10 else f"{value:,.0f} ms"


def _rate(rps: float, p99_ms: float) -> str:
    return f"{rps:,.0f} requests/s, p99 {_ms(p99_ms)}"


def _latency(figures: dict[str, Any], name: str) -> str:
    return f"p50 {_ms(figures[f'{name}_p50_ms'])}, p95 {_ms(figures[f'{name}_p95_ms'])}"


def _mib(figures: dict[str, Any], name: str) -> str:
    return f"{figures[f'{name}_pss_mib']:,.0f} MiB ({figures[f'{name}_rss_mib']:,.0f} MiB)"


def table(figures: dict[str, Any]) -> str:
    """The four figures as a Markdown table: value, reference measured in the same run, and their ratio."""
    f = figures
    rows = [
        (
            "webhook acceptance: `POST /api/webhook/strava` at saturation through the gateway, "
            "each a new notification",
            _rate(f["webhook_rps"], f["webhook_p99_ms"]),
            "ingestion's subscription check (no database, no Kafka) through the gateway: "
            + _rate(f["trivial_rps"], f["trivial_p99_ms"]),
            f"{f['webhook_vs_trivial']:.2f}",
        ),
        (
            f"API read: `GET {READ}` at saturation through the gateway, {ATHLETES} athletes in turn, "
            f"each with a program ({f['read_sessions_per_week']}+ sessions this week) and "
            f"{f['read_activities_per_athlete']}+ activities",
            _rate(f["read_gateway_rps"], f["read_gateway_p99_ms"]),
            "the same requests straight to planning: " + _rate(f["read_direct_rps"], f["read_direct_p99_ms"]),
            f"{f['read_gateway_vs_direct']:.2f}",
        ),
        (
            "freshness: Strava webhook to the new activity read by its athlete through the gateway, "
            f"{FRESHNESS_RATE} webhooks/s for {FRESHNESS_SECONDS} s ({f['freshness_webhooks']} activities)",
            _latency(f, "freshness"),
            "produce -> consume on the same Kafka, same rate, same time: "
            f"{_latency(f, 'kafka_round_trip')} (the webhook's response: {_latency(f, 'webhook_response')})",
            f"{f['freshness_vs_kafka_round_trip']:.1f} (p95)",
        ),
        (
            "memory of the whole stack after the load (services, gateway, Kafka, PostgreSQL, Redis), "
            "PSS (RSS)",
            _mib(f, "memory_loaded_total"),
            f"at rest after start-up: {_mib(f, 'memory_rest_total')}; Kafka, PostgreSQL and Redis alone "
            f"at rest: {_mib(f, 'memory_infrastructure_rest')}",
            f"{f['memory_loaded_vs_rest']:.2f}",
        ),
    ]
    lines = ["| figure | value | reference, same run | ratio |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines) + "\n"
