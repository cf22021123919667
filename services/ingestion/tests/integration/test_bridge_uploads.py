"""`POST /api/webhooks/ingest` against the real database: an accepted upload is durable, a redelivery
changes nothing, a refused one leaves nothing behind."""

import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion.config import Settings
from ingestion.endpoints.webhooks import MAX_BRIDGE_UPLOAD_BYTES, router
from ingestion.models import ApiKey, BridgeUpload
from ingestion.service import api_key_digest
from relay_contracts import Envelope
from relay_contracts.catalog import IDENTITY_API_KEY_CREATED, IDENTITY_API_KEY_REVOKED, INGESTION_API_KEY_USED
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import ApiKeyCreated, ApiKeyRevoked
from relay_platform.outbox import OutboxMessage
from relay_platform.service import create_service_app

pytestmark = pytest.mark.integration

Deliver = Callable[[Envelope], Awaitable[None]]
INGEST = "/api/webhooks/ingest"
UPLOAD: dict[str, Any] = {
    "data": {
        "metrics": [
            {
                "name": "heart_rate",
                "units": "count/min",
                "data": [{"date": "2026-12-01 07:31:00 +0100", "Min": 58, "Avg": 61, "Max": 66}],
            }
        ],
        "workouts": [
            {
                "name": "Outdoor Run",
                "start": "2026-12-01 07:30:00 +0100",
                "end": "2026-12-01 08:15:00 +0100",
                "distance": {"qty": 9.4, "units": "km"},
            }
        ],
    }
}


@pytest.fixture
async def client(
    fresh_database: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """The service's app on the real database. Its lifespan (Kafka, Redis, the outbox relay) is not
    run: what the endpoint stages for Kafka is read from the outbox table."""
    settings = Settings(
        database_url=fresh_database,
        strava_verify_token="verify-token-of-the-tests",
        connections_token="connections-token-of-the-tests",
        rate_limit_enabled=False,
        worker_enabled=False,
    )
    app = create_service_app(service="ingestion", settings=settings, routers=[router])
    app.state.runtime = SimpleNamespace(settings=settings, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingestion") as http:
        yield http


@pytest.fixture
async def api_key(deliver: Deliver) -> str:
    key = "qt_" + secrets.token_urlsafe(32)
    created = ApiKeyCreated(
        api_key_id="key-1",
        user_id="user-1",
        name="Health Auto Export",
        prefix=key[:8],
        key_sha256=api_key_digest(key),
        created_at=datetime.now(UTC),
        actor=Actor(type="athlete", id="user-1"),
    )
    await deliver(IDENTITY_API_KEY_CREATED.envelope(created, subject="user-1"))
    return key


async def stored(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[list[BridgeUpload], int, ApiKey]:
    async with sessionmaker() as session:
        uploads = list((await session.exec(select(BridgeUpload))).all())
        used = (
            await session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.event_type == INGESTION_API_KEY_USED.type)
            )
        ).one()
        key = await session.get(ApiKey, "key-1")
    assert key is not None
    return uploads, used, key


async def test_an_accepted_upload_is_stored_before_the_202_with_the_keys_use(
    client: httpx.AsyncClient, api_key: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(INGEST, json=UPLOAD, headers={"X-API-Key": api_key})

    assert response.status_code == 202
    body = response.json()
    assert body["received"] is True
    uploads, used, key = await stored(sessionmaker)
    assert [(str(u.id), u.user_id, u.api_key_id, u.payload) for u in uploads] == [
        (body["upload_id"], "user-1", "key-1", UPLOAD)
    ]
    assert used == 1
    assert key.last_used_at is not None


async def test_the_same_upload_sent_again_is_answered_with_the_same_id_and_stores_nothing_more(
    client: httpx.AsyncClient, api_key: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await client.post(INGEST, json=UPLOAD, headers={"X-API-Key": api_key})
    # The same document, serialized with its keys in another order.
    reordered = json.dumps({"data": dict(reversed(list(UPLOAD["data"].items())))})
    again = await client.post(
        INGEST, content=reordered, headers={"X-API-Key": api_key, "Content-Type": "application/json"}
    )

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    uploads, used, _ = await stored(sessionmaker)
    assert len(uploads) == 1
    assert used == 1  # the second use came within the minute


async def test_another_upload_of_the_same_athlete_is_stored_beside_the_first(
    client: httpx.AsyncClient, api_key: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await client.post(INGEST, json=UPLOAD, headers={"X-API-Key": api_key})
    second = await client.post(INGEST, json={"data": {"metrics": []}}, headers={"X-API-Key": api_key})
    assert first.json()["upload_id"] != second.json()["upload_id"]
    uploads, _, _ = await stored(sessionmaker)
    assert len(uploads) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "qt_" + secrets.token_urlsafe(32)},
        {"X-API-Key": "not-a-key"},
    ],
    ids=["missing", "unknown", "malformed"],
)
async def test_an_upload_without_a_valid_key_is_a_401_that_stores_nothing(
    client: httpx.AsyncClient,
    api_key: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    headers: dict[str, str],
) -> None:
    response = await client.post(INGEST, json=UPLOAD, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    uploads, used, key = await stored(sessionmaker)
    assert (uploads, used, key.last_used_at) == ([], 0, None)


async def test_an_upload_with_a_revoked_key_is_a_401_that_stores_nothing(
    client: httpx.AsyncClient, api_key: str, deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    revoked = ApiKeyRevoked(
        api_key_id="key-1", user_id="user-1", revoked_at=datetime.now(UTC), actor=Actor(type="athlete")
    )
    await deliver(IDENTITY_API_KEY_REVOKED.envelope(revoked, subject="user-1"))

    response = await client.post(INGEST, json=UPLOAD, headers={"X-API-Key": api_key})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    uploads, used, key = await stored(sessionmaker)
    assert (uploads, used, key.last_used_at) == ([], 0, None)


@pytest.mark.parametrize(
    "body",
    [b'{"data": {"metrics": [', b"[1, 2, 3]", b'"text"', b"", b'{"data": NaN}', b'{"name": "a\\u0000b"}'],
    ids=["truncated", "array", "string", "empty", "nan", "nul"],
)
async def test_a_body_that_is_not_a_storable_json_object_is_a_400_that_stores_nothing(
    client: httpx.AsyncClient, api_key: str, sessionmaker: async_sessionmaker[AsyncSession], body: bytes
) -> None:
    response = await client.post(
        INGEST, content=body, headers={"X-API-Key": api_key, "Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    uploads, used, key = await stored(sessionmaker)
    assert (uploads, used, key.last_used_at) == ([], 0, None)


async def test_a_body_over_5_mb_is_a_413_that_stores_nothing(
    client: httpx.AsyncClient, api_key: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    padding = "x" * MAX_BRIDGE_UPLOAD_BYTES
    response = await client.post(INGEST, json={"data": {"note": padding}}, headers={"X-API-Key": api_key})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    uploads, used, key = await stored(sessionmaker)
    assert (uploads, used, key.last_used_at) == ([], 0, None)


async def test_a_body_streamed_without_a_length_is_cut_off_at_5_mb(
    client: httpx.AsyncClient, api_key: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"data": {"note": "'
        for _ in range(6):
            yield b"x" * (1024 * 1024)
        yield b'"}}'

    response = await client.post(
        INGEST, content=chunks(), headers={"X-API-Key": api_key, "Content-Type": "application/json"}
    )

    assert response.status_code == 413
    uploads, _, _ = await stored(sessionmaker)
    assert uploads == []
