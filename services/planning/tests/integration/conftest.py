"""The planning database migrated to its latest revision, and its identity-events consumer on
FastStream's in-memory broker, for one test."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from alembic import command
from alembic.config import Config
from faststream.kafka import KafkaBroker, TestKafkaBroker
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from planning.handlers import subscribe
from relay_contracts import Envelope
from relay_contracts.topics import IDENTITY_EVENTS
from relay_platform.config import ServiceSettings
from relay_platform.consumers import Consumers
from relay_platform.db import create_engine, create_sessionmaker
from relay_platform.metrics import PlatformMetrics
from relay_platform.service import Runtime

SERVICE_ROOT = Path(__file__).resolve().parents[2]

Deliver = Callable[[Envelope], Awaitable[None]]
Mentions = Callable[[str], Awaitable[dict[str, int]]]


@pytest.fixture
async def sessionmaker(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    monkeypatch.setenv("PLANNING_DATABASE_URL", fresh_database)
    # env.py runs its own event loop: the migrations run in a thread of their own.
    await asyncio.to_thread(command.upgrade, Config(str(SERVICE_ROOT / "alembic.ini")), "head")
    engine = create_engine(fresh_database)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def deliver(
    fresh_database: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Deliver]:
    """Delivers an event of identity's topic to the service's consumer, which applies it to the real
    database; fails the test if the event was dead-lettered."""
    settings = ServiceSettings(database_url=fresh_database, consumer_max_attempts=1)
    broker = KafkaBroker()
    metrics = PlatformMetrics(CollectorRegistry())
    consumers = Consumers(
        service="planning", settings=settings, broker=broker, sessionmaker=sessionmaker, metrics=metrics
    )
    subscribe(cast(Runtime, SimpleNamespace(consumers=consumers, settings=settings)))

    async with TestKafkaBroker(broker) as test_broker:

        async def publish(envelope: Envelope) -> None:
            await test_broker.publish(
                envelope.to_bytes(), topic=IDENTITY_EVENTS.name, key=envelope.subject.encode()
            )
            dead = metrics.dead_letters.labels(consumer="planning.identity-events")._value.get()
            assert dead == 0, f"{envelope.type} was dead-lettered"

        yield publish


@pytest.fixture
def mentions(sessionmaker: async_sessionmaker[AsyncSession]) -> Mentions:
    """How many rows of each table of the database mention a value anywhere (as text)."""

    async def count(needle: str) -> dict[str, int]:
        found: dict[str, int] = {}
        async with sessionmaker() as session:
            tables = (
                await session.exec(  # type: ignore[call-overload]
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
                )
            ).scalars()
            for table in list(tables):
                rows = (
                    await session.exec(  # type: ignore[call-overload]
                        # The table names come from the catalog, not from input.
                        text(f'SELECT count(*) FROM "{table}" AS r WHERE strpos(r::text, :needle) > 0'),  # noqa: S608
                        params={"needle": needle},
                    )
                ).scalar_one()
                if rows:
                    found[table] = rows
        return found

    return count
