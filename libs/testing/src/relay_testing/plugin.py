"""Pytest fixtures for Relay's integration tests: the real PostgreSQL, Kafka and Redis.

Where a Docker engine answers, they come from testcontainers; otherwise from the local infrastructure
that `make infra` (deploy/local/up.sh) starts. The same tests run in both places.

`fake_strava` serves a fake of Strava's OAuth endpoints (`relay_testing.fakes.strava`) for one test, and
`fake_providers` one of the other fitness providers' (`relay_testing.fakes.providers`)."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from relay_platform.db import create_engine, create_sessionmaker
from relay_testing.services import (
    Deliver,
    Mentions,
    ServiceUnderTest,
    consumers_in_memory,
    mentions_in,
    migrate,
)

if TYPE_CHECKING:
    from relay_testing.fakes.providers import FakeProviders
    from relay_testing.fakes.strava import FakeStrava


@dataclass(frozen=True)
class Infrastructure:
    postgres_admin_dsn: str  # a role allowed to create databases and roles
    kafka_bootstrap: str
    redis_url: str
    source: str  # "testcontainers" or "local"

    def database_url(self, name: str, *, driver: str = "asyncpg") -> str:
        base = self.postgres_admin_dsn.rsplit("/", 1)[0]
        if driver == "asyncpg":
            base = base.replace("postgresql://", "postgresql+asyncpg://", 1)
        return f"{base}/{name}"


def docker_engine_answers() -> bool:
    if os.environ.get("RELAY_TEST_INFRA") == "local":
        return False
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _local_infrastructure() -> Infrastructure:
    pg, kafka, redis = (
        int(os.environ.get("RELAY_PG_PORT", 15432)),
        int(os.environ.get("RELAY_KAFKA_PORT", 19092)),
        int(os.environ.get("RELAY_REDIS_PORT", 16379)),
    )
    missing = [
        name
        for name, port in (("PostgreSQL", pg), ("Kafka", kafka), ("Redis", redis))
        if not _port_open(port)
    ]
    if missing:
        pytest.fail(f"{', '.join(missing)} not running and no Docker engine: start them with `make infra`")
    return Infrastructure(
        postgres_admin_dsn=f"postgresql://relay:relay@127.0.0.1:{pg}/postgres",
        kafka_bootstrap=f"127.0.0.1:{kafka}",
        redis_url=f"redis://127.0.0.1:{redis}/0",
        source="local",
    )


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    if not docker_engine_answers():
        yield _local_infrastructure()
        return
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer
    from testcontainers.redis import RedisContainer

    with ExitStack() as stack:
        postgres = stack.enter_context(PostgresContainer("postgres:15", username="relay", password="relay"))
        kafka = stack.enter_context(KafkaContainer("apache/kafka:4.1.1").with_kraft())
        redis = stack.enter_context(RedisContainer("redis:7"))
        host, port = postgres.get_container_host_ip(), postgres.get_exposed_port(5432)
        yield Infrastructure(
            postgres_admin_dsn=f"postgresql://relay:relay@{host}:{port}/postgres",
            kafka_bootstrap=kafka.get_bootstrap_server(),
            redis_url=f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0",
            source="testcontainers",
        )


@pytest.fixture
async def fresh_database(infrastructure: Infrastructure) -> AsyncIterator[str]:
    """A new, empty database for one test (dropped afterwards); yields its SQLAlchemy asyncpg URL."""
    name = f"relay_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(infrastructure.postgres_admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield infrastructure.database_url(name)
    admin = await asyncpg.connect(infrastructure.postgres_admin_dsn)
    try:
        for attempt in range(20):
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except asyncpg.InsufficientPrivilegeError:
                # An autovacuum worker (a superuser's) is in it; it finishes within moments.
                if attempt == 19:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await admin.close()


@pytest.fixture
def topic_prefix() -> str:
    """A prefix no other test uses, so that a test's topics and consumer groups are its own."""
    return f"test-{uuid.uuid4().hex[:10]}."


@pytest.fixture
async def fake_strava() -> AsyncIterator[FakeStrava]:
    """A fake Strava application served on a free port of 127.0.0.1 (`fake_strava.url`), with its
    `client_id` and `client_secret`; see `relay_testing.fakes.strava.FakeStrava` for its controls."""
    # Imported here: the web stack is loaded only by the tests that use the fake.
    from relay_testing.fakes.strava import serve_fake_strava

    async with serve_fake_strava() as fake:
        yield fake


@pytest.fixture
async def fake_providers() -> AsyncIterator[FakeProviders]:
    """Fake Garmin, COROS (and its Training Hub), Polar, Oura, WHOOP, Fitbit and Wahoo, served on a free
    port of 127.0.0.1 (`fake_providers.url`, one provider under each `/<provider>` prefix), with one
    application registered at each: client id "relay-test-client", secret "relay-test-secret".
    `fake_providers.settings_env()` points the connections service at them; see
    `relay_testing.fakes.providers.FakeProviders` for the controls."""
    from relay_testing.fakes.providers import FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, serve_fake_providers

    async with serve_fake_providers(client_id=FAKE_CLIENT_ID, client_secret=FAKE_CLIENT_SECRET) as fake:
        yield fake


@pytest.fixture
async def sessionmaker(
    service_under_test: ServiceUnderTest, fresh_database: str
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory on a fresh database migrated to the service's latest revision."""
    await migrate(service_under_test.root, service_under_test.name, fresh_database)
    engine = create_engine(fresh_database)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def deliver(
    service_under_test: ServiceUnderTest, fresh_database: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Deliver]:
    """Delivers an event to the service's consumers (in memory), which apply it to the real database."""
    async with consumers_in_memory(
        service_under_test.name,
        service_under_test.subscribe,
        database_url=fresh_database,
        sessionmaker=sessionmaker,
        resources=service_under_test.resources,
    ) as deliver_event:
        yield deliver_event


@pytest.fixture
def mentions(sessionmaker: async_sessionmaker[AsyncSession]) -> Mentions:
    """How many rows of each table of the service's database mention a value."""
    return mentions_in(sessionmaker)
