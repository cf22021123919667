"""The planning database at its latest revision and its consumers on the in-memory broker, for one test
(fixtures `sessionmaker`, `deliver` and `mentions` of relay_testing), and its API in process
(`planning_api`)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from planning.app import ROUTERS
from planning.config import Settings
from planning.handlers import subscribe
from relay_platform.service import create_service_app
from relay_testing.identity import FakeIdentity
from relay_testing.plugin import Infrastructure
from relay_testing.services import ServiceUnderTest


@pytest.fixture
def service_under_test() -> ServiceUnderTest:
    return ServiceUnderTest("planning", Path(__file__).resolve().parents[2], subscribe)


@dataclass
class PlanningApi:
    client: httpx.AsyncClient
    identity: FakeIdentity  # signs the callers' tokens and admin sessions


@pytest.fixture
async def planning_api(
    fresh_database: str,
    sessionmaker: async_sessionmaker[AsyncSession],  # the database at its latest revision
    infrastructure: Infrastructure,
    topic_prefix: str,
) -> AsyncIterator[PlanningApi]:
    """Every planning endpoint in process on the test's database, its scheduled jobs off."""
    identity = FakeIdentity()
    settings = Settings(
        database_url=fresh_database,
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        redis_url=infrastructure.redis_url,
        rate_limit_enabled=False,
        jobs_enabled=False,
    )
    app = create_service_app(
        service="planning", settings=settings, routers=ROUTERS, key_source=identity.key_source()
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://planning") as client:
            yield PlanningApi(client=client, identity=identity)
