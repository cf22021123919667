"""Forged, replayed and oversized webhooks through the gateway, for every provider whose webhooks carry a
proof of origin: Polar, Oura, WHOOP and Fitbit sign them (HMAC), COROS, Wahoo and Garmin name Relay's
secret, token or application. What is stored is counted in ingestion's database (the notifications and
their `ingestion.webhook.received` events), what is refused in its `relay_ingestion_webhooks_total`.

- A delivery made as the provider makes it is accepted and stored once, with one
  `ingestion.webhook.received`. The same notification signed with another key, a genuine signature over
  a changed body, or no proof at all is refused in the error envelope (401; 404 for Fitbit, as its
  documentation asks), counted as `rejected_signature`, and stores nothing.
- Where the provider signs a timestamp (Oura, WHOOP), a signature made more than five minutes before or
  after Relay's clock is refused as a replay, and so is an old signature under a new timestamp.
- A delivery sent again, even once the worker has dealt with the first, is acknowledged as the first
  time and stored and announced once. Fitbit is the exception Relay documents: its notifications carry
  neither an id nor a timestamp, only "read this day again", so they are coalesced while one waits.
- A subscription check with another verify token is refused (Strava 403, Oura 401, Fitbit 404).
- A body over a webhook route's limit (1 MiB; Garmin's pushes 10 MiB, the bridge's uploads 5 MiB, the
  service's own limits) is refused by the gateway with 413 in the envelope from its headers alone: the
  answer comes without the body ever being sent, and the request never reaches ingestion. Sent straight
  to ingestion, a correctly signed body over its limit is refused with the same 413 from its declared
  length, before the body is read, and stores nothing."""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from relay_contracts.catalog import INGESTION_WEBHOOK_RECEIVED
from relay_devstack import Stack
from relay_devstack.stack import DEV_WEBHOOK_SECRET, FAKE_PROVIDERS_CLIENT_ID, FAKE_PROVIDERS_CLIENT_SECRET
from relay_testing.fakes.providers.api.coros import coros_push, coros_workout
from relay_testing.fakes.providers.api.fitbit import fitbit_notification
from relay_testing.fakes.providers.api.garmin import garmin_activity, garmin_push
from relay_testing.fakes.providers.api.oura import oura_event
from relay_testing.fakes.providers.api.polar import new_exercise_id, polar_exercise_event
from relay_testing.fakes.providers.api.wahoo import wahoo_webhook, wahoo_workout
from relay_testing.fakes.providers.api.whoop import whoop_event

from .conftest import Databases
from .test_identity import eventually
from .test_ingestion import webhook as strava_event

WEBHOOK_MAX_BODY = 1024 * 1024
"""Ingestion's limit for every webhook but Garmin's push and the bridge's, and the gateway's for them."""
ROUTE_MAX_BODY = {"garmin": 10 * 1024 * 1024, "health_bridge": 5 * 1024 * 1024}
"""The other limits, the same in ingestion and in the gateway (deploy/gateway/nginx.conf.template)."""
REPLAY_WINDOW = timedelta(minutes=5)
PROMPT_SECONDS = 5.0
"""An answer that does not wait for the body: nginx would wait 60 s for it (client_body_timeout)."""
ANOTHER_KEY = "a-key-that-is-not-relays"
CHALLENGE = "challenge-7f3a"
WEBHOOK_PATHS = {
    "strava": "/api/webhook/strava",
    "garmin": "/api/webhooks/garmin",
    "coros": "/api/webhooks/coros",
    "polar": "/api/webhooks/polar",
    "oura": "/api/webhooks/oura",
    "whoop": "/api/webhooks/whoop",
    "fitbit": "/api/webhooks/fitbit",
    "wahoo": "/api/webhooks/wahoo",
    "health_bridge": "/api/webhooks/ingest",
}


# -- deliveries as each provider makes them ---------------------------------------------------------
@dataclass(frozen=True)
class Delivery:
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    async def send(self, gateway: httpx.AsyncClient) -> httpx.Response:
        headers = {"Content-Type": "application/json", **self.headers}
        return await gateway.post(self.path, content=self.body, headers=headers)

    def with_body(self, payload: Any) -> Delivery:
        return replace(self, body=encoded(payload))

    def without(self, *headers: str) -> Delivery:
        return replace(self, headers={k: v for k, v in self.headers.items() if k not in headers})


def encoded(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def mac(key: str, message: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(key.encode(), message, algorithm).digest()


def polar(payload: Any, key: str = DEV_WEBHOOK_SECRET) -> Delivery:
    body = encoded(payload)
    return Delivery("/api/webhooks/polar", body, {"Polar-Webhook-Signature": mac(key, body).hex()})


def oura(payload: Any, secret: str = FAKE_PROVIDERS_CLIENT_SECRET, at: datetime | None = None) -> Delivery:
    body, timestamp = encoded(payload), str(int((at or datetime.now(UTC)).timestamp()))
    signature = mac(secret, timestamp.encode() + body).hex().upper()
    return Delivery(
        "/api/webhooks/oura", body, {"x-oura-signature": signature, "x-oura-timestamp": timestamp}
    )


def whoop(payload: Any, secret: str = FAKE_PROVIDERS_CLIENT_SECRET, at: datetime | None = None) -> Delivery:
    body, timestamp = encoded(payload), str(int((at or datetime.now(UTC)).timestamp() * 1000))
    signature = base64.b64encode(mac(secret, timestamp.encode() + body)).decode()
    headers = {"X-WHOOP-Signature": signature, "X-WHOOP-Signature-Timestamp": timestamp}
    return Delivery("/api/webhooks/whoop", body, headers)


def fitbit(payload: Any, secret: str = FAKE_PROVIDERS_CLIENT_SECRET) -> Delivery:
    body = encoded(payload)
    signature = base64.b64encode(mac(secret + "&", body, "sha1")).decode()
    return Delivery("/api/webhooks/fitbit", body, {"X-Fitbit-Signature": signature})


def coros(payload: Any, secret: str = FAKE_PROVIDERS_CLIENT_SECRET) -> Delivery:
    headers = {"Client": FAKE_PROVIDERS_CLIENT_ID, "Secret": secret}
    return Delivery("/api/webhooks/coros", encoded(payload), headers)


def garmin(payload: Any, client_id: str = FAKE_PROVIDERS_CLIENT_ID) -> Delivery:
    return Delivery("/api/webhooks/garmin", encoded(payload), {"garmin-client-id": client_id})


def wahoo(payload: Any) -> Delivery:
    """Wahoo's proof is the `webhook_token` inside the body."""
    return Delivery("/api/webhooks/wahoo", encoded(payload))


def strava(payload: Any) -> Delivery:
    return Delivery("/api/webhook/strava", encoded(payload))


def a_number() -> str:
    return str(random.randint(10**6, 10**9))


@dataclass(frozen=True)
class Provider:
    """What a provider sends about an account, how it proves it, and how Relay answers a forgery."""

    name: str
    new_account: Callable[[], str]
    notification: Callable[[str], Any]
    """A notification about the account that Relay stores, in the provider's shape."""
    signed: Callable[[Any], Delivery]
    """The notification delivered as the provider delivers it."""
    forgeries: Callable[[Any], dict[str, Delivery]]
    accepted: int = 200
    refused: int = 401
    refusal_code: str = "invalid_signature"

    def __str__(self) -> str:
        return self.name


def _signature_forgeries(
    sign: Callable[..., Delivery], changed: Callable[[Any], Any], *headers: str
) -> Callable[[Any], dict[str, Delivery]]:
    def forgeries(payload: Any) -> dict[str, Delivery]:
        genuine = sign(payload)
        return {
            "signed with another key": sign(payload, ANOTHER_KEY),
            "a genuine signature over a changed body": genuine.with_body(changed(payload)),
            "unsigned": genuine.without(*headers),
        }

    return forgeries


def _wahoo_event(account: str, token: str = DEV_WEBHOOK_SECRET) -> dict[str, Any]:
    return wahoo_webhook(account, wahoo_workout(), webhook_token=token)


SIGNED = [
    Provider(
        "polar",
        new_account=a_number,
        notification=lambda account: polar_exercise_event(account, new_exercise_id()),
        signed=polar,
        forgeries=_signature_forgeries(
            polar, lambda event: {**event, "entity_id": new_exercise_id()}, "Polar-Webhook-Signature"
        ),
    ),
    Provider(
        "oura",
        new_account=lambda: str(uuid.uuid4()),
        notification=lambda account: oura_event(account, str(uuid.uuid4())),
        signed=oura,
        forgeries=_signature_forgeries(
            oura, lambda event: {**event, "object_id": str(uuid.uuid4())}, "x-oura-signature"
        ),
    ),
    Provider(
        "whoop",
        new_account=a_number,
        notification=lambda account: whoop_event(account, str(uuid.uuid4())),
        signed=whoop,
        forgeries=_signature_forgeries(
            whoop, lambda event: {**event, "id": str(uuid.uuid4())}, "X-WHOOP-Signature"
        ),
    ),
    Provider(
        "fitbit",
        new_account=lambda: uuid.uuid4().hex[:6].upper(),
        notification=lambda account: fitbit_notification(account, date.today()),
        signed=fitbit,
        forgeries=_signature_forgeries(
            fitbit,
            lambda items: [{**items[0], "date": (date.today() - timedelta(days=1)).isoformat()}],
            "X-Fitbit-Signature",
        ),
        accepted=204,
        refused=404,  # as Fitbit's documentation asks
    ),
    Provider(
        "coros",
        new_account=lambda: uuid.uuid4().hex[:12],
        notification=lambda account: coros_push(coros_workout(account)),
        signed=coros,
        forgeries=lambda push: {
            "another secret": coros(push, ANOTHER_KEY),
            "no secret": coros(push).without("Secret"),
        },
        refusal_code="unknown_sender",
    ),
    Provider(
        "wahoo",
        new_account=a_number,
        notification=_wahoo_event,
        signed=wahoo,
        forgeries=lambda event: {
            "another webhook token": wahoo({**event, "webhook_token": ANOTHER_KEY}),
            "no webhook token": wahoo({k: v for k, v in event.items() if k != "webhook_token"}),
        },
        refusal_code="unknown_sender",
    ),
    Provider(
        "garmin",
        new_account=lambda: uuid.uuid4().hex,
        notification=lambda account: garmin_push(garmin_activity(account)),
        signed=garmin,
        forgeries=lambda push: {
            "another application": garmin(push, "another-application"),
            "no application": garmin(push).without("garmin-client-id"),
        },
        refusal_code="unknown_sender",
    ),
]
STRAVA = Provider(
    "strava",
    new_account=a_number,
    notification=lambda account: strava_event(int(account), random.randint(10**9, 10**10)),
    signed=strava,
    forgeries=lambda _: {},  # Strava signs nothing
)
BY_NAME = {provider.name: provider for provider in [*SIGNED, STRAVA]}


@dataclass(frozen=True)
class Timestamped:
    """A provider that signs a timestamp along with the body."""

    provider: Provider
    sign: Callable[..., Delivery]
    header: str
    per_second: int

    def __str__(self) -> str:
        return self.provider.name


TIMESTAMPED = [
    Timestamped(BY_NAME["oura"], oura, "x-oura-timestamp", 1),
    Timestamped(BY_NAME["whoop"], whoop, "X-WHOOP-Signature-Timestamp", 1000),
]


# -- what Relay stored and counted ------------------------------------------------------------------
async def stored(databases: Databases, provider: str, account: str) -> tuple[int, int]:
    """The notifications ingestion stored about the account, and the `ingestion.webhook.received` events
    it staged for them."""
    notifications = await databases.fetchval(
        "ingestion",
        "SELECT count(*) FROM provider_notifications WHERE provider = $1 AND owner_id = $2",
        provider,
        account,
    )
    events = await databases.fetchval(
        "ingestion",
        "SELECT count(*) FROM outbox WHERE event_type = $1 AND key = $2",
        INGESTION_WEBHOOK_RECEIVED.type,
        f"{provider}:{account}",
    )
    return int(str(notifications)), int(str(events))


async def deliveries_counted(stack: Stack) -> dict[str, dict[str, float]]:
    """`relay_ingestion_webhooks_total` by provider and outcome, from ingestion's /metrics."""
    async with httpx.AsyncClient(timeout=10.0) as client:
        answer = await client.get(f"{stack.config.service_url('ingestion')}/metrics")
    answer.raise_for_status()
    counted: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == "relay_ingestion_webhooks_total":
                counted.setdefault(sample.labels["provider"], {})[sample.labels["outcome"]] = sample.value
    return counted


def increase(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What changed between two readings of one provider's counts."""
    return {
        outcome: count - before.get(outcome, 0)
        for outcome, count in after.items()
        if count != before.get(outcome, 0)
    }


def assert_refused_in_the_envelope(answer: httpx.Response, status: int, code: str, what: str) -> None:
    assert answer.status_code == status, (what, answer.status_code, answer.text)
    error = answer.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] == code, (what, error)


# -- forged ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", SIGNED, ids=str)
async def test_a_forged_webhook_is_refused_in_the_envelope_and_stores_nothing(
    gateway: httpx.AsyncClient, stack: Stack, databases: Databases, provider: Provider
) -> None:
    account = provider.new_account()
    notification = provider.notification(account)
    counted_before = (await deliveries_counted(stack))[provider.name]

    refused = {what: await forged.send(gateway) for what, forged in provider.forgeries(notification).items()}
    after_forgeries = await stored(databases, provider.name, account)
    genuine = await provider.signed(notification).send(gateway)

    for what, answer in refused.items():
        assert_refused_in_the_envelope(answer, provider.refused, provider.refusal_code, what)
    assert after_forgeries == (0, 0), "a forged webhook was stored"
    assert genuine.status_code == provider.accepted, genuine.text
    assert await stored(databases, provider.name, account) == (1, 1)
    counted = increase(counted_before, (await deliveries_counted(stack))[provider.name])
    assert counted == {"rejected_signature": len(refused), "accepted": 1}


async def test_a_subscription_check_with_another_verify_token_is_refused_in_the_envelope(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    strava_token = stack.config.service_env("ingestion")["INGESTION_STRAVA_VERIFY_TOKEN"]

    def strava_check(token: str) -> dict[str, str]:
        return {"hub.mode": "subscribe", "hub.challenge": CHALLENGE, "hub.verify_token": token}

    checks = {
        "strava": ("/api/webhook/strava", strava_check(strava_token), strava_check(ANOTHER_KEY), 403),
        "oura": (
            "/api/webhooks/oura",
            {"verification_token": DEV_WEBHOOK_SECRET, "challenge": CHALLENGE},
            {"verification_token": ANOTHER_KEY, "challenge": CHALLENGE},
            401,
        ),
        "fitbit": ("/api/webhooks/fitbit", {"verify": DEV_WEBHOOK_SECRET}, {"verify": ANOTHER_KEY}, 404),
    }
    for provider, (path, ours, another, status) in checks.items():
        confirmed = await gateway.get(path, params=ours)
        refused = await gateway.get(path, params=another)

        assert confirmed.status_code in (200, 204), (provider, confirmed.text)
        assert CHALLENGE in confirmed.text or confirmed.status_code == 204, provider
        assert refused.status_code == status, (provider, refused.text)
        assert set(refused.json()["error"]) == {"code", "message", "details"}, provider


# -- replayed ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("signer", TIMESTAMPED, ids=str)
async def test_a_signature_made_outside_the_five_minute_window_is_refused_as_a_replay(
    gateway: httpx.AsyncClient, databases: Databases, signer: Timestamped
) -> None:
    provider = signer.provider
    account = provider.new_account()
    notification = provider.notification(account)
    now = datetime.now(UTC)
    old = signer.sign(notification, at=now - REPLAY_WINDOW - timedelta(minutes=1))
    moved = str(int(now.timestamp() * signer.per_second))
    replays = {
        "signed six minutes ago": (old, "stale_signature"),
        "signed six minutes ahead": (
            signer.sign(notification, at=now + REPLAY_WINDOW + timedelta(minutes=1)),
            "stale_signature",
        ),
        "an old signature under a new timestamp": (
            replace(old, headers={**old.headers, signer.header: moved}),
            "invalid_signature",
        ),
    }

    refused = {what: (await replay.send(gateway), code) for what, (replay, code) in replays.items()}
    after_replays = await stored(databases, provider.name, account)
    fresh = await signer.sign(notification).send(gateway)

    for what, (answer, code) in refused.items():
        assert_refused_in_the_envelope(answer, 401, code, what)
    assert after_replays == (0, 0), "a replayed webhook was stored"
    assert fresh.status_code == 200, fresh.text
    assert await stored(databases, provider.name, account) == (1, 1)


REDELIVERED = [provider for provider in [*SIGNED, STRAVA] if provider.name != "fitbit"]


@pytest.mark.parametrize("provider", REDELIVERED, ids=str)
async def test_a_delivery_sent_again_is_acknowledged_as_the_first_and_stored_once(
    gateway: httpx.AsyncClient, databases: Databases, provider: Provider
) -> None:
    account = provider.new_account()
    delivery = provider.signed(provider.notification(account))

    first = await delivery.send(gateway)
    again = await delivery.send(gateway)

    async def settled() -> bool:
        statuses = await databases.fetch(
            "ingestion",
            "SELECT status FROM provider_notifications WHERE provider = $1 AND owner_id = $2",
            provider.name,
            account,
        )
        return [row["status"] for row in statuses] not in ([], ["pending"])

    assert await eventually(settled, timeout=30), "the worker never dealt with the notification"
    once_dealt_with = await delivery.send(gateway)

    assert [first.status_code, again.status_code, once_dealt_with.status_code] == [provider.accepted] * 3
    assert first.content == again.content == once_dealt_with.content
    assert await stored(databases, provider.name, account) == (1, 1)


# -- oversized ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float


async def declare_without_sending(port: int, delivery: Delivery, length: int, request_id: str) -> Answer:
    """A POST that declares a body of `length` bytes and never sends it: the answer, if one comes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    headers = {
        "Host": f"127.0.0.1:{port}",
        "Content-Type": "application/json",
        **delivery.headers,
        "Content-Length": str(length),
        "X-Request-ID": request_id,
        "Connection": "close",
    }
    head = f"POST {delivery.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    started = time.monotonic()
    try:
        writer.write(f"{head}\r\n".encode())
        await writer.drain()
        status_and_headers = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=PROMPT_SECONDS * 2)
        lines = status_and_headers.decode("latin-1").split("\r\n")
        fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        size = int(next(v for k, v in fields.items() if k.lower() == "content-length"))
        body = await asyncio.wait_for(reader.readexactly(size), timeout=PROMPT_SECONDS)
    finally:
        writer.close()
    return Answer(int(lines[0].split()[1]), json.loads(body), time.monotonic() - started)


async def access_log_entry(gateway_dir: Path, request_id: str) -> dict[str, Any] | None:
    """The gateway's access log line of the request (written once the connection is done with)."""

    async def logged() -> dict[str, Any] | None:
        for line in (gateway_dir / "access.log").read_text().splitlines():
            if request_id in line:
                entry: dict[str, Any] = json.loads(line)
                return entry
        return None

    found: dict[str, Any] | None = await eventually(logged, timeout=10)
    return found


async def test_a_body_over_a_routes_limit_is_refused_by_the_gateway_with_413_before_it_is_sent(
    stack: Stack,
) -> None:
    assert stack.config.gateway_dir is not None
    before = await deliveries_counted(stack)
    answers = {}
    for provider, path in WEBHOOK_PATHS.items():
        request_id = f"oversized-{uuid.uuid4().hex}"
        limit = ROUTE_MAX_BODY.get(provider, WEBHOOK_MAX_BODY)
        answer = await declare_without_sending(
            stack.config.gateway_port, Delivery(path, b""), limit + 1, request_id
        )
        answers[provider] = (answer, limit, await access_log_entry(stack.config.gateway_dir, request_id))

    for provider, (answer, limit, logged) in answers.items():
        assert answer.status == 413 and answer.body["error"]["code"] == "payload_too_large", provider
        assert answer.body["error"]["details"] == {"limit": limit}, provider
        assert answer.seconds < PROMPT_SECONDS, (provider, answer.seconds)
        assert logged is not None, f"no access log line for {provider}'s oversized request"
        assert (logged["status"], logged["upstream"]) == (413, ""), (provider, logged)
    assert await deliveries_counted(stack) == before, "ingestion saw an oversized request the gateway refused"


OWN_LIMIT = [provider for provider in [*SIGNED, STRAVA] if provider.name not in ROUTE_MAX_BODY]
"""The webhooks limited to 1 MiB (Garmin's pushes may take 10 MiB)."""


def padded(notification: Any, size: int) -> Any:
    padding = "x" * size
    if isinstance(notification, list):
        return [{**notification[0], "padding": padding}, *notification[1:]]
    return {**notification, "padding": padding}


@pytest.mark.parametrize("provider", OWN_LIMIT, ids=str)
async def test_a_body_over_a_webhooks_own_limit_is_refused_with_413_unread_and_stores_nothing(
    gateway: httpx.AsyncClient, stack: Stack, databases: Databases, provider: Provider
) -> None:
    account = provider.new_account()
    # Signed as the provider would: only its size is wrong.
    oversized = provider.signed(padded(provider.notification(account), WEBHOOK_MAX_BODY))
    counted_before = (await deliveries_counted(stack))[provider.name]

    sent = await oversized.send(gateway)
    declared = await declare_without_sending(
        stack.config.service_ports["ingestion"], oversized, len(oversized.body), uuid.uuid4().hex
    )

    assert_refused_in_the_envelope(sent, 413, "payload_too_large", "through the gateway")
    assert sent.json()["error"]["details"] == {"limit": WEBHOOK_MAX_BODY}
    assert declared.status == 413 and declared.body["error"]["details"] == {"limit": WEBHOOK_MAX_BODY}
    assert declared.seconds < PROMPT_SECONDS, "ingestion waited for a body over its limit"
    assert await stored(databases, provider.name, account) == (0, 0)
    # The gateway's refusal never reached ingestion: it counted only the one sent straight to it.
    assert increase(counted_before, (await deliveries_counted(stack))[provider.name]) == {"too_large": 1}
