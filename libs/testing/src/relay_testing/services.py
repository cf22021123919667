"""Harnesses for a service's integration tests: its database migrated to its latest revision, its
Kafka consumers on FastStream's in-memory broker over that real database, and a search of every table
for a value (to prove an erasure)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import cast

from alembic import command
from alembic.config import Config
from faststream.kafka import KafkaBroker, TestKafkaBroker
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from relay_contracts import Envelope, topic_for_service
from relay_platform.config import ServiceSettings
from relay_platform.consumers import Consumers
from relay_platform.metrics import PlatformMetrics
from relay_platform.service import Runtime


@dataclass(frozen=True)
class ServiceUnderTest:
    """What a service's integration conftest declares (fixture `service_under_test`) to get the
    `sessionmaker`, `deliver` and `mentions` fixtures of `relay_testing.plugin`."""

    name: str
    root: Path
    subscribe: Callable[[Runtime], None]
    resources: object = None
    """What the service's handlers find as `runtime.resources` (its settings, usually), if they need it."""


Deliver = Callable[[Envelope], Awaitable[None]]
Mentions = Callable[[str], Awaitable[dict[str, int]]]


async def migrate(service_root: Path, service: str, database_url: str) -> None:
    """Upgrades `database_url` to the service's latest migration (its own `alembic.ini`)."""
    variable = f"{service.upper()}_DATABASE_URL"
    # env.py reads the URL from the environment and runs its own event loop: a thread of its own.
    previous = os.environ.get(variable)
    os.environ[variable] = database_url
    try:
        await asyncio.to_thread(command.upgrade, Config(str(service_root / "alembic.ini")), "head")
    finally:
        if previous is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = previous


@asynccontextmanager
async def consumers_in_memory(
    service: str,
    subscribe: Callable[[Runtime], None],
    *,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    resources: object = None,
) -> AsyncIterator[Deliver]:
    """The service's consumers on the in-memory broker (with the service's `resources`, when its
    handlers need them); yields a function delivering an envelope on its producer's topic, which fails
    the test when the message was dead-lettered."""
    settings = ServiceSettings(database_url=database_url, consumer_max_attempts=1)
    broker = KafkaBroker()
    metrics = PlatformMetrics(CollectorRegistry())
    consumers = Consumers(
        service=service, settings=settings, broker=broker, sessionmaker=sessionmaker, metrics=metrics
    )
    subscribe(cast(Runtime, SimpleNamespace(consumers=consumers, settings=settings, resources=resources)))

    async with TestKafkaBroker(broker) as test_broker:

        def dead_lettered() -> float:
            samples = [sample for metric in metrics.dead_letters.collect() for sample in metric.samples]
            return float(sum(sample.value for sample in samples if sample.name.endswith("_total")))

        async def deliver(envelope: Envelope) -> None:
            before = dead_lettered()
            await test_broker.publish(
                envelope.to_bytes(),
                topic=topic_for_service(envelope.producer).name,
                key=envelope.subject.encode(),
            )
            assert dead_lettered() == before, f"{envelope.type} was dead-lettered"

        yield deliver


def mentions_in(sessionmaker: async_sessionmaker[AsyncSession]) -> Mentions:
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
