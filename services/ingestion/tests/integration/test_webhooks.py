"""The providers' webhooks against the real database: a genuine notification is stored with its
`ingestion.webhook.received` event before the answer, a redelivery changes nothing, and a forged,
malformed or unconfigured one leaves nothing behind."""

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion import webhooks
from ingestion.config import ProviderFeed, Settings
from ingestion.endpoints.webhooks import router
from ingestion.intake import WebhookIntake
from ingestion.models import ProviderNotification
from ingestion.schemas import StravaWebhookEvent
from relay_contracts.catalog import INGESTION_WEBHOOK_RECEIVED
from relay_platform.db import asyncpg_dsn
from relay_platform.outbox import OutboxMessage
from relay_platform.service import create_service_app
from relay_testing.fakes.providers.api.coros import coros_workout

pytestmark = pytest.mark.integration

STRAVA_SUBSCRIPTION = 120475
GARMIN_CLIENT_ID = "9a5c1f2e-7d4b-4e61-b0c8-3f2a6d9e1b70"
COROS_CLIENT_ID, COROS_SECRET = "a3f1c0d2e4b5", "coros-secret-of-the-tests"
POLAR_KEY = "polar-signature-key-of-the-tests"
OURA_SECRET, OURA_VERIFY = "oura-client-secret-of-the-tests", "oura-verification-token"
WHOOP_SECRET = "whoop-client-secret-of-the-tests"
FITBIT_SECRET, FITBIT_VERIFY = "fitbit-client-secret-of-the-tests", "8f3b1c2d9e7a"
WAHOO_TOKEN = "97661c16-6359-4854-9498-a49c07b8fb37"


def configured(database_url: str, **feeds: ProviderFeed) -> Settings:
    return Settings(
        database_url=database_url,
        strava_verify_token="verify-token-of-the-tests",
        strava_subscription_id=STRAVA_SUBSCRIPTION,
        connections_token="connections-token-of-the-tests",
        rate_limit_enabled=False,
        **feeds,
    )


def every_provider_configured(database_url: str) -> Settings:
    return configured(
        database_url,
        garmin=ProviderFeed(client_id=GARMIN_CLIENT_ID),
        coros=ProviderFeed(client_id=COROS_CLIENT_ID, client_secret=COROS_SECRET),
        polar=ProviderFeed(webhook_secret=POLAR_KEY),
        oura=ProviderFeed(client_secret=OURA_SECRET, verify_token=OURA_VERIFY),
        whoop=ProviderFeed(client_secret=WHOOP_SECRET),
        fitbit=ProviderFeed(client_secret=FITBIT_SECRET, verify_token=FITBIT_VERIFY),
        wahoo=ProviderFeed(webhook_secret=WAHOO_TOKEN),
    )


@asynccontextmanager
async def service(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    metrics: webhooks.WebhookMetrics | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """The service's app on the real database. Its lifespan (Kafka, Redis, the outbox relay, the
    worker) is not run: what the endpoints stage for Kafka is read from the outbox table."""
    app = create_service_app(service="ingestion", settings=settings, routers=[router])
    intake = WebhookIntake(sessionmaker, topic_prefix=settings.kafka_topic_prefix)
    resources = SimpleNamespace(intake=intake, webhook_metrics=metrics)
    app.state.runtime = SimpleNamespace(settings=settings, sessionmaker=sessionmaker, resources=resources)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingestion") as http:
        yield http


@pytest.fixture
async def client(
    fresh_database: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async with service(every_provider_configured(fresh_database), sessionmaker) as http:
        yield http


# -- What each provider sends, signed as its documentation says -------------------------------------


@dataclass
class Delivery:
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    async def send(self, http: httpx.AsyncClient) -> httpx.Response:
        headers = {"Content-Type": "application/json", **self.headers}
        return await http.post(self.path, content=self.body, headers=headers)


def encoded(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def polar(payload: Any, key: str = POLAR_KEY) -> Delivery:
    raw = encoded(payload)
    signature = hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()
    return Delivery("/api/webhooks/polar", raw, {"Polar-Webhook-Signature": signature})


def oura(payload: Any, secret: str = OURA_SECRET, at: datetime | None = None) -> Delivery:
    raw = encoded(payload)
    timestamp = str(int((at or datetime.now(UTC)).timestamp()))
    signature = hmac.new(secret.encode(), timestamp.encode() + raw, hashlib.sha256).hexdigest().upper()
    return Delivery("/api/webhooks/oura", raw, {"x-oura-signature": signature, "x-oura-timestamp": timestamp})


def whoop(payload: Any, secret: str = WHOOP_SECRET, at: datetime | None = None) -> Delivery:
    raw = encoded(payload)
    timestamp = str(int((at or datetime.now(UTC)).timestamp() * 1000))
    digest = hmac.new(secret.encode(), timestamp.encode() + raw, hashlib.sha256).digest()
    headers = {
        "X-WHOOP-Signature": base64.b64encode(digest).decode(),
        "X-WHOOP-Signature-Timestamp": timestamp,
    }
    return Delivery("/api/webhooks/whoop", raw, headers)


def fitbit(payload: Any, secret: str = FITBIT_SECRET) -> Delivery:
    raw = encoded(payload)
    digest = hmac.new((secret + "&").encode(), raw, hashlib.sha1).digest()
    return Delivery("/api/webhooks/fitbit", raw, {"X-Fitbit-Signature": base64.b64encode(digest).decode()})


def garmin(payload: Any, client_id: str = GARMIN_CLIENT_ID) -> Delivery:
    return Delivery("/api/webhooks/garmin", encoded(payload), {"garmin-client-id": client_id})


def coros(payload: Any, secret: str = COROS_SECRET) -> Delivery:
    return Delivery("/api/webhooks/coros", encoded(payload), {"Client": COROS_CLIENT_ID, "Secret": secret})


def strava(payload: Any) -> Delivery:
    return Delivery("/api/webhooks/strava", encoded(payload))


def wahoo(payload: Any) -> Delivery:
    return Delivery("/api/webhooks/wahoo", encoded(payload))


STRAVA_EVENT = {
    "aspect_type": "create",
    "event_time": 1764571500,
    "object_id": 16384001234,
    "object_type": "activity",
    "owner_id": 134815,
    "subscription_id": STRAVA_SUBSCRIPTION,
    "updates": {},
}
GARMIN_USER = "4aacafe82427c251df9c9592d0c06768"
GARMIN_RUN = {
    "userId": GARMIN_USER,
    "userAccessToken": "8f57a6f1-26ba-4b51-a4ec-1a4d3c4b0f1e",
    "summaryId": "21457888812",
    "activityId": 21457888812,
    "activityName": "Lyon Running",
    "activityType": "RUNNING",
    "startTimeInSeconds": 1764570000,
    "startTimeOffsetInSeconds": 3600,
    "durationInSeconds": 3012,
    "distanceInMeters": 10012.3,
    "averageHeartRateInBeatsPerMinute": 148,
    "deviceName": "Forerunner 965",
}
GARMIN_DAILY = {
    "userId": GARMIN_USER,
    "summaryId": "x153a9f3-5f2a",
    "calendarDate": "2026-12-01",
    "steps": 9102,
}
COROS_WORKOUT = coros_workout("d1f0c9b4a7e2", labelId="436281790715297792", startTime=1764570000)
POLAR_EXERCISE = {
    "event": "EXERCISE",
    "user_id": 475,
    "entity_id": "aQlC83",
    "timestamp": "2026-12-01T07:44:12Z",
    "url": "https://www.polaraccesslink.com/v3/exercises/aQlC83",
}
OURA_WORKOUT = {
    "event_type": "create",
    "data_type": "workout",
    "object_id": "8f9a5221-639e-4a85-81cb-4065ef23f979",
    "event_time": "2026-12-01T07:44:30+00:00",
    "user_id": "c2a8e3f0-8b1d-4c5e-9f7a-2d6b1e0a9c43",
}
WHOOP_WORKOUT = {
    "user_id": 10129,
    "id": "ecfc6a15-4661-442f-a9a4-f160dd7afae8",
    "type": "workout.updated",
    "trace_id": "e369c784-5100-49e8-8098-75d35c47b31b",
}
FITBIT_DAY = {
    "collectionType": "activities",
    "date": "2026-12-01",
    "ownerId": "228S74",
    "ownerType": "user",
    "subscriptionId": "relay-228S74",
}
WAHOO_SUMMARY = {
    "event_type": "workout_summary",
    "webhook_token": WAHOO_TOKEN,
    "user": {"id": 60462},
    "workout_summary": {
        "id": 8297,
        "ascent_accum": 450.0,
        "calories_accum": 1500.0,
        "distance_accum": 24909.71,
        "duration_active_accum": 3590,
        "duration_total_accum": 3725,
        "heart_rate_avg": 124,
        "power_avg": 194.59,
        "updated_at": "2026-12-01T07:43:50.000Z",
        "workout": {"id": 56519, "starts": "2026-12-01T06:41:45.000Z", "minutes": 62, "name": "Morning ride"},
    },
}


@dataclass
class Provider:
    name: str
    genuine: Callable[[], Delivery]
    forged: Callable[[], Delivery]
    malformed: Callable[[], Delivery]
    stored: tuple[str, str, str, str]
    """(owner, object type, object id, aspect) of what the genuine delivery stores."""
    accepted: int = 200
    forged_status: int = 401


PROVIDERS = [
    Provider(
        "strava",
        genuine=lambda: strava(STRAVA_EVENT),
        forged=lambda: strava({**STRAVA_EVENT, "subscription_id": 7}),
        malformed=lambda: strava({**STRAVA_EVENT, "owner_id": None}),
        stored=("134815", "activity", "16384001234", "create"),
    ),
    Provider(
        "garmin",
        genuine=lambda: garmin({"activities": [GARMIN_RUN], "dailies": [GARMIN_DAILY]}),
        forged=lambda: garmin({"activities": [GARMIN_RUN]}, client_id="another-application"),
        malformed=lambda: garmin({"activities": GARMIN_RUN}),
        stored=(GARMIN_USER, "activity", "21457888812", "create"),
    ),
    Provider(
        "coros",
        genuine=lambda: coros({"sportDataList": [COROS_WORKOUT]}),
        forged=lambda: coros({"sportDataList": [COROS_WORKOUT]}, secret="guessed"),
        malformed=lambda: coros({"sportDataList": [{**COROS_WORKOUT, "labelId": None}]}),
        stored=("d1f0c9b4a7e2", "activity", "436281790715297792", "create"),
    ),
    Provider(
        "polar",
        genuine=lambda: polar(POLAR_EXERCISE),
        forged=lambda: polar(POLAR_EXERCISE, key="another-key"),
        malformed=lambda: polar({**POLAR_EXERCISE, "entity_id": None}),
        stored=("475", "activity", "aQlC83", "create"),
    ),
    Provider(
        "oura",
        genuine=lambda: oura(OURA_WORKOUT),
        forged=lambda: oura(OURA_WORKOUT, secret="another-secret"),
        malformed=lambda: oura({**OURA_WORKOUT, "event_type": "created"}),
        stored=(OURA_WORKOUT["user_id"], "activity", OURA_WORKOUT["object_id"], "create"),
    ),
    Provider(
        "whoop",
        genuine=lambda: whoop(WHOOP_WORKOUT),
        forged=lambda: whoop(WHOOP_WORKOUT, secret="another-secret"),
        malformed=lambda: whoop({**WHOOP_WORKOUT, "id": None}),
        stored=("10129", "activity", WHOOP_WORKOUT["id"], "update"),
    ),
    Provider(
        "fitbit",
        genuine=lambda: fitbit([FITBIT_DAY, {**FITBIT_DAY, "collectionType": "sleep"}]),
        forged=lambda: fitbit([FITBIT_DAY], secret="another-secret"),
        malformed=lambda: fitbit(FITBIT_DAY),
        stored=("228S74", "activities", "2026-12-01", "update"),
        accepted=204,
        forged_status=404,  # as Fitbit's documentation asks
    ),
    Provider(
        "wahoo",
        genuine=lambda: wahoo(WAHOO_SUMMARY),
        forged=lambda: wahoo({**WAHOO_SUMMARY, "webhook_token": "97661c16-guess"}),
        malformed=lambda: wahoo({**WAHOO_SUMMARY, "user": None}),
        stored=("60462", "activity", "56519", "update"),
    ),
]
BY_NAME = {provider.name: provider for provider in PROVIDERS}


@dataclass
class Stored:
    notifications: list[ProviderNotification]
    events: list[OutboxMessage]


async def stored(sessionmaker: async_sessionmaker[AsyncSession]) -> Stored:
    async with sessionmaker() as session:
        notifications = (await session.exec(select(ProviderNotification))).all()
        events = (
            await session.exec(
                select(OutboxMessage).where(OutboxMessage.event_type == INGESTION_WEBHOOK_RECEIVED.type)
            )
        ).all()
    return Stored(list(notifications), list(events))


def by_provider() -> Any:
    return pytest.mark.parametrize("provider", PROVIDERS, ids=[p.name for p in PROVIDERS])


# -- Every provider ----------------------------------------------------------------------------------


@by_provider()
async def test_a_genuine_notification_is_stored_with_its_event_before_the_answer(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], provider: Provider
) -> None:
    response = await provider.genuine().send(client)

    assert response.status_code == provider.accepted, response.text
    found = await stored(sessionmaker)
    assert [
        (n.provider, n.owner_id, n.object_type, n.object_id, n.aspect_type, n.status)
        for n in found.notifications
    ] == [(provider.name, *provider.stored, "pending")]
    [event] = found.events
    owner, object_type, object_id, aspect = provider.stored
    assert event.key == f"{provider.name}:{owner}"
    data = dict(event.payload["data"])
    assert datetime.fromisoformat(data.pop("event_time")) == found.notifications[0].event_time
    assert data == {
        "provider": provider.name,
        "webhook_id": str(found.notifications[0].id),
        "object_type": object_type,
        "object_id": object_id,
        "aspect_type": aspect,
        "owner_id": owner,
        "updates": {},
    }


@by_provider()
async def test_a_redelivered_notification_is_acknowledged_and_changes_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], provider: Provider
) -> None:
    first = await provider.genuine().send(client)
    again = await provider.genuine().send(client)

    assert (first.status_code, again.status_code) == (provider.accepted, provider.accepted)
    found = await stored(sessionmaker)
    assert (len(found.notifications), len(found.events)) == (1, 1)


@by_provider()
async def test_a_forged_notification_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], provider: Provider
) -> None:
    response = await provider.forged().send(client)

    assert response.status_code == provider.forged_status
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert await stored(sessionmaker) == Stored([], [])


@by_provider()
async def test_a_malformed_notification_is_a_400_that_stores_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], provider: Provider
) -> None:
    response = await provider.malformed().send(client)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert await stored(sessionmaker) == Stored([], [])


@pytest.mark.parametrize("provider", PROVIDERS[1:], ids=[p.name for p in PROVIDERS[1:]])
async def test_a_provider_whose_secret_is_not_configured_answers_404_and_stores_nothing(
    fresh_database: str, sessionmaker: async_sessionmaker[AsyncSession], provider: Provider
) -> None:
    async with service(configured(fresh_database), sessionmaker) as http:
        response = await provider.genuine().send(http)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "webhook_not_configured"
    assert await stored(sessionmaker) == Stored([], [])


async def test_each_delivery_is_counted_by_provider_and_how_it_was_answered(
    fresh_database: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    registry = CollectorRegistry()
    metrics = webhooks.WebhookMetrics(registry)
    async with service(every_provider_configured(fresh_database), sessionmaker, metrics) as http:
        for provider in PROVIDERS:
            for delivery in (provider.genuine, provider.genuine, provider.forged, provider.malformed):
                await delivery().send(http)
        await http.get("/api/webhooks/oura", params={"verification_token": "x", "challenge": "y"})
    async with service(configured(fresh_database), sessionmaker, metrics) as http:
        await BY_NAME["polar"].genuine().send(http)

    def counted(provider: str) -> dict[str, float]:
        found = {
            outcome: registry.get_sample_value(
                "relay_ingestion_webhooks_total", {"provider": provider, "outcome": outcome}
            )
            for outcome in webhooks.WEBHOOK_OUTCOMES
        }
        return {outcome: value for outcome, value in found.items() if value}

    for provider in PROVIDERS:
        expected = {"accepted": 2, "rejected_signature": 1, "invalid": 1}
        if provider.name == "polar":
            expected["not_configured"] = 1
        assert counted(provider.name) == expected, provider.name
    # A subscription check is not a delivery; an unused provider is at 0, not missing.
    unused = {"provider": "health_bridge", "outcome": "accepted"}
    assert registry.get_sample_value("relay_ingestion_webhooks_total", unused) == 0


@pytest.mark.parametrize(
    ("provider", "limit"),
    [("whoop", 1024 * 1024), ("garmin", 10 * 1024 * 1024)],
    ids=["1-mb", "garmin-10-mb"],
)
async def test_a_body_over_the_providers_limit_is_a_413_that_stores_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], provider: str, limit: int
) -> None:
    delivery = BY_NAME[provider].genuine()
    delivery.body = delivery.body[:-1] + b', "padding": "' + b"x" * limit + b'"}'

    response = await delivery.send(client)

    assert response.status_code == 413
    assert await stored(sessionmaker) == Stored([], [])


async def test_a_garmin_push_larger_than_other_webhooks_is_accepted(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    dailies = [
        GARMIN_DAILY
        | {
            "summaryId": f"x153a9f3-{day}",
            "timeOffsetHeartRateSamples": {str(second): 62 for second in range(0, 86400, 15)},
        }
        for day in range(16)
    ]
    push = garmin({"activities": [GARMIN_RUN], "dailies": dailies})
    assert len(push.body) > 1024 * 1024

    response = await push.send(client)

    assert response.status_code == 200
    assert len((await stored(sessionmaker)).notifications) == 1


async def test_the_workers_are_woken_when_a_new_notification_is_committed(
    client: httpx.AsyncClient, fresh_database: str
) -> None:
    woken: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(asyncpg_dsn(fresh_database))
    await listener.add_listener("ingestion_work", lambda *args: woken.put_nowait(args[2]))
    try:
        await BY_NAME["whoop"].genuine().send(client)
        assert await asyncio.wait_for(woken.get(), timeout=5) == "ingestion_work"

        await BY_NAME["whoop"].genuine().send(client)
        await asyncio.sleep(0.3)
        assert woken.empty()  # a redelivery is not work
    finally:
        await listener.close()


# -- A burst of webhooks ------------------------------------------------------------------------------


class CountingSessions:
    """The sessionmaker, counting the transactions opened through it."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker, self.opened = sessionmaker, 0

    def __call__(self) -> AsyncSession:
        self.opened += 1
        return self.sessionmaker()


async def test_a_burst_is_committed_in_a_few_transactions_and_each_webhook_answered_once_stored(
    fresh_database: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    sessions = CountingSessions(sessionmaker)
    events = [{**STRAVA_EVENT, "object_id": 9000 + i} for i in range(60)]
    redelivered = events[:10]
    async with service(every_provider_configured(fresh_database), sessions) as http:  # type: ignore[arg-type]
        answers = await asyncio.gather(*(strava(event).send(http) for event in events + redelivered))

    assert [answer.status_code for answer in answers] == [200] * 70
    found = await stored(sessionmaker)
    assert sorted(int(n.object_id) for n in found.notifications) == list(range(9000, 9060))
    assert sorted(e.payload["data"]["webhook_id"] for e in found.events) == sorted(
        str(n.id) for n in found.notifications
    )
    assert sessions.opened < 20


async def test_a_webhook_that_cannot_be_stored_fails_alone_and_the_rest_of_its_burst_is_stored(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    intake = WebhookIntake(sessionmaker, topic_prefix="")
    good = [
        webhooks.strava_notification(StravaWebhookEvent(**{**STRAVA_EVENT, "object_id": i}))
        for i in (1, 2, 3)
    ]
    # PostgreSQL refuses a NUL character in a JSON document (the endpoints refuse such bodies first).
    bad = dataclasses.replace(good[0], object_id="4", payload={"name": "nul \x00"})

    burst = (good[0], bad, good[1], good[2])
    results = await asyncio.gather(*(intake.accept([n]) for n in burst), return_exceptions=True)

    assert [r if isinstance(r, int) else "failed" for r in results] == [1, "failed", 1, 1]
    assert sorted(n.object_id for n in (await stored(sessionmaker)).notifications) == ["1", "2", "3"]


async def test_each_event_of_a_burst_carries_the_trace_of_the_request_that_brought_it(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    intake = WebhookIntake(sessionmaker, topic_prefix="")
    tracer = TracerProvider().get_tracer("provider")

    async def delivered(object_id: int) -> str:
        with tracer.start_as_current_span("webhook") as span:
            event = StravaWebhookEvent(**{**STRAVA_EVENT, "object_id": object_id})
            await intake.accept([webhooks.strava_notification(event)])
            return format(span.get_span_context().trace_id, "032x")

    traces = await asyncio.gather(*(delivered(object_id) for object_id in (1, 2, 3)))

    events = sorted((await stored(sessionmaker)).events, key=lambda e: e.payload["data"]["object_id"])
    assert [e.headers["traceparent"].split("-")[1] for e in events] == traces
    assert len(set(traces)) == 3


# -- What is particular to each provider -------------------------------------------------------------


async def test_the_seed_apps_strava_path_and_subscription_check_still_work(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    check = await client.get(
        "/api/webhook/strava",
        params={
            "hub.mode": "subscribe",
            "hub.challenge": "15f7d1a91c1f40f8",
            "hub.verify_token": "verify-token-of-the-tests",
        },
    )
    event = await client.post("/api/webhook/strava", json=STRAVA_EVENT)

    assert check.json() == {"hub.challenge": "15f7d1a91c1f40f8"}
    assert event.status_code == 200
    assert len((await stored(sessionmaker)).notifications) == 1


async def test_a_garmin_deregistration_is_staged_as_a_deauthorization_without_the_athletes_token(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    response = await garmin(
        {"deregistrations": [{"userId": GARMIN_USER, "userAccessToken": "8f57a6f1"}]}
    ).send(client)

    assert response.status_code == 200
    found = await stored(sessionmaker)
    [notification] = found.notifications
    assert (notification.object_type, notification.payload) == ("athlete", {"userId": GARMIN_USER})
    [event] = found.events
    assert (event.key, event.payload["data"]["updates"]) == (f"garmin:{GARMIN_USER}", {"authorized": "false"})


async def test_no_token_a_provider_sends_is_kept(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await BY_NAME["garmin"].genuine().send(client)
    await BY_NAME["wahoo"].genuine().send(client)

    payloads = json.dumps([n.payload for n in (await stored(sessionmaker)).notifications])
    assert GARMIN_RUN["userAccessToken"] not in payloads
    assert WAHOO_TOKEN not in payloads
    assert "Morning ride" in payloads  # the Wahoo summary keeps its workout


async def test_polars_ping_is_answered_even_before_the_signature_key_exists(
    fresh_database: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ping = Delivery("/api/webhooks/polar", encoded({"event": "PING", "timestamp": "2026-12-01T07:44:12Z"}))
    async with service(configured(fresh_database), sessionmaker) as http:
        response = await ping.send(http)

    assert response.status_code == 200
    assert await stored(sessionmaker) == Stored([], [])


@pytest.mark.parametrize(
    "delivery",
    [
        lambda: polar(
            {"event": "SLEEP", "user_id": 475, "date": "2026-12-01", "timestamp": "2026-12-01T07:44:12Z"}
        ),
        lambda: oura({**OURA_WORKOUT, "data_type": "daily_readiness"}),
        lambda: whoop({**WHOOP_WORKOUT, "type": "sleep.updated"}),
        lambda: whoop({**WHOOP_WORKOUT, "type": "recovery.updated"}),
        lambda: fitbit([{**FITBIT_DAY, "collectionType": "foods"}]),
        lambda: garmin({"dailies": [GARMIN_DAILY]}),
    ],
    ids=["polar-sleep", "oura-readiness", "whoop-sleep", "whoop-recovery", "fitbit-foods", "garmin-dailies"],
)
async def test_a_genuine_notification_about_data_relay_does_not_use_is_acknowledged_and_not_stored(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    delivery: Callable[[], Delivery],
) -> None:
    response = await delivery().send(client)

    assert response.status_code in (200, 204)
    assert await stored(sessionmaker) == Stored([], [])


@pytest.mark.parametrize("provider", ["whoop", "oura"])
async def test_a_genuine_signature_older_than_five_minutes_is_refused_as_a_replay(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], provider: str
) -> None:
    six_minutes_ago = datetime.now(UTC) - timedelta(minutes=6)
    delivery = (
        whoop(WHOOP_WORKOUT, at=six_minutes_ago)
        if provider == "whoop"
        else oura(OURA_WORKOUT, at=six_minutes_ago)
    )

    response = await delivery.send(client)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_signature"
    assert await stored(sessionmaker) == Stored([], [])


async def test_ouras_subscription_check_echoes_the_challenge_only_for_our_token(
    client: httpx.AsyncClient,
) -> None:
    ours = await client.get(
        "/api/webhooks/oura", params={"verification_token": OURA_VERIFY, "challenge": "a1b2c3"}
    )
    other = await client.get(
        "/api/webhooks/oura", params={"verification_token": "guess", "challenge": "a1b2c3"}
    )

    assert (ours.status_code, ours.json()) == (200, {"challenge": "a1b2c3"})
    assert other.status_code == 401


async def test_fitbits_subscriber_verification_is_204_for_our_code_and_404_otherwise(
    client: httpx.AsyncClient,
) -> None:
    ours = await client.get("/api/webhooks/fitbit", params={"verify": FITBIT_VERIFY})
    other = await client.get("/api/webhooks/fitbit", params={"verify": "deliberately-wrong"})

    assert (ours.status_code, ours.content) == (204, b"")
    assert other.status_code == 404


async def test_a_fitbit_day_already_waiting_to_be_read_is_not_stored_again_until_a_worker_has_started_on_it(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Fitbit sends the same notification after each sync of the day: it names the day, not the change.
    await fitbit([FITBIT_DAY]).send(client)
    again_while_waiting = await fitbit([FITBIT_DAY]).send(client)
    assert again_while_waiting.status_code == 204
    assert len((await stored(sessionmaker)).notifications) == 1

    async with sessionmaker() as session, session.begin():
        await session.exec(update(ProviderNotification).values(attempts=1))  # type: ignore[call-overload]
    after_a_worker_started = await fitbit([FITBIT_DAY]).send(client)

    assert after_a_worker_started.status_code == 204
    found = await stored(sessionmaker)
    assert [n.object_id for n in found.notifications] == ["2026-12-01", "2026-12-01"]
    assert len(found.events) == 2


async def test_a_coros_push_is_acknowledged_as_coros_expects(client: httpx.AsyncClient) -> None:
    response = await BY_NAME["coros"].genuine().send(client)

    assert response.json() == {"result": "0000", "message": "OK"}


async def test_a_wahoo_event_with_another_token_is_refused_before_its_shape_is_judged(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    response = await wahoo({"event_type": "workout_summary", "webhook_token": "97661c16-guess"}).send(client)

    assert response.status_code == 401
    assert await stored(sessionmaker) == Stored([], [])


async def test_notifications_of_several_athletes_in_one_garmin_push_are_each_keyed_by_their_athlete(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    other = GARMIN_RUN | {
        "userId": "7d0c6f3e12ab4c5d9e8f7a6b5c4d3e2f",
        "activityId": 21457899999,
        "summaryId": "21457899999",
    }
    await garmin({"activities": [GARMIN_RUN, other]}).send(client)

    found = await stored(sessionmaker)
    assert sorted(event.key for event in found.events) == sorted(
        [f"garmin:{GARMIN_USER}", "garmin:7d0c6f3e12ab4c5d9e8f7a6b5c4d3e2f"]
    )
    assert {str(n.id) for n in found.notifications} == {
        event.payload["data"]["webhook_id"] for event in found.events
    }
