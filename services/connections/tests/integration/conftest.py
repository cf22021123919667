"""The connections database migrated to its latest revision, a stand-in for identity's internal claim
endpoint, and the service's identity-events consumer on FastStream's in-memory broker, for one test."""

import asyncio
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, cast

import httpx
import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker, TestKafkaBroker
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from connections.handlers import subscribe
from connections.identity_client import IdentityClient
from connections.resources import Connections
from relay_contracts import Envelope
from relay_contracts.topics import IDENTITY_EVENTS
from relay_platform.config import ServiceSettings
from relay_platform.consumers import Consumers
from relay_platform.crypto import Keyring, generate_key
from relay_platform.db import create_engine, create_sessionmaker
from relay_platform.http import create_http_client
from relay_platform.metrics import PlatformMetrics
from relay_platform.service import Runtime

SERVICE_ROOT = Path(__file__).resolve().parents[2]
INTERNAL_TOKEN = "internal-token-for-tests-5c1e"

Deliver = Callable[[Envelope], Awaitable[str]]
Mentions = Callable[[str], Awaitable[dict[str, int]]]


@dataclass
class FakeIdentity:
    """identity's `POST /internal/strava-grants/{id}/claim`: each grant answers once, to the right token."""

    grants: dict[str, dict[str, Any]] = field(default_factory=dict)
    claims: list[str] = field(default_factory=list)
    app: FastAPI = field(default_factory=FastAPI)

    def __post_init__(self) -> None:
        @self.app.post("/internal/strava-grants/{strava_grant_id}/claim")
        async def claim(strava_grant_id: str, authorization: Annotated[str, Header()] = "") -> JSONResponse:
            if not hmac.compare_digest(authorization, f"Bearer {INTERNAL_TOKEN}"):
                return error(401, "unauthorized", "Unknown internal caller")
            self.claims.append(strava_grant_id)
            grant = self.grants.pop(strava_grant_id, None)
            if grant is None:
                return error(404, "not_found", "No such unclaimed Strava grant")
            return JSONResponse(grant)

    def issue(self, grant: dict[str, Any]) -> None:
        self.grants[grant["strava_grant_id"]] = grant


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": {}}}, status_code=status)


@pytest.fixture
async def sessionmaker(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    monkeypatch.setenv("CONNECTIONS_DATABASE_URL", fresh_database)
    # env.py runs its own event loop: the migrations run in a thread of their own.
    await asyncio.to_thread(command.upgrade, Config(str(SERVICE_ROOT / "alembic.ini")), "head")
    engine = create_engine(fresh_database)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.parse(f"k2026:{generate_key()},k2025:{generate_key()}")


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


@pytest.fixture
def internal_token() -> str:
    return INTERNAL_TOKEN


@pytest.fixture
async def deliver(
    fresh_database: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    keyring: Keyring,
    identity: FakeIdentity,
    internal_token: str,
) -> AsyncIterator[Deliver]:
    """Delivers an event of identity's topic to the service's consumer, which applies it to the real
    database; returns the outcome: `processed`, `duplicate` or `dead_lettered`."""
    settings = ServiceSettings(
        database_url=fresh_database, consumer_max_attempts=1, consumer_retry_backoff_seconds=0.01
    )
    broker = KafkaBroker()
    metrics = PlatformMetrics(CollectorRegistry())
    consumers = Consumers(
        service="connections", settings=settings, broker=broker, sessionmaker=sessionmaker, metrics=metrics
    )
    http = create_http_client("http://identity.internal", transport=httpx.ASGITransport(app=identity.app))
    resources = Connections(keyring=keyring, strava_grants=IdentityClient(http, SecretStr(internal_token)))
    subscribe(cast(Runtime, SimpleNamespace(consumers=consumers, settings=settings, resources=resources)))

    def count(outcome: str) -> float:
        value: float = metrics.consumed.labels(
            consumer="connections.identity-events", outcome=outcome
        )._value.get()
        return value

    try:
        async with TestKafkaBroker(broker) as test_broker:

            async def publish(envelope: Envelope) -> str:
                before = {o: count(o) for o in ("processed", "duplicate", "dead_lettered")}
                await test_broker.publish(
                    envelope.to_bytes(), topic=IDENTITY_EVENTS.name, key=envelope.subject.encode()
                )
                [outcome] = [o for o, n in before.items() if count(o) > n]
                return outcome

            yield publish
    finally:
        await http.aclose()


@pytest.fixture
def mentions(sessionmaker: async_sessionmaker[AsyncSession]) -> Mentions:
    """How many rows of each table of the database mention a value anywhere (as text)."""

    async def count(needle: str) -> dict[str, int]:
        found: dict[str, int] = {}
        async with sessionmaker() as session:
            tables = (
                await session.exec(  # type: ignore[call-overload]
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalars()
            for table in list(tables):
                # The table names come from the catalogue, not from the test.
                query = f'SELECT count(*) FROM "{table}" AS t WHERE strpos(t::text, :needle) > 0'  # noqa: S608
                rows = (
                    await session.exec(text(query).bindparams(needle=needle))  # type: ignore[call-overload]
                ).scalar_one()
                if rows:
                    found[table] = rows
        return found

    return count
