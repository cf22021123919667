"""The audit database at its latest revision and its trail consumer on the in-memory broker, for one
test (fixtures `sessionmaker`, `deliver` and `mentions` of relay_testing), and its API in process
(`audit_api`)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.app import ROUTERS
from audit.config import Settings
from audit.handlers import subscribe
from relay_platform.service import create_service_app
from relay_testing.identity import FakeIdentity
from relay_testing.plugin import Infrastructure
from relay_testing.services import ServiceUnderTest


@pytest.fixture
def service_under_test() -> ServiceUnderTest:
    return ServiceUnderTest("audit", Path(__file__).resolve().parents[2], subscribe)


@dataclass
class AuditApi:
    client: httpx.AsyncClient
    identity: FakeIdentity  # signs the callers' tokens and admin sessions
    settings: Settings


@pytest.fixture
async def audit_api(
    fresh_database: str,
    sessionmaker: async_sessionmaker[AsyncSession],  # the database at its latest revision
    infrastructure: Infrastructure,
    topic_prefix: str,
) -> AsyncIterator[AuditApi]:
    """Every audit endpoint in process on the test's database (its consumers are not subscribed: tests
    deliver events with `deliver`), its scheduled jobs off."""
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
        service="audit", settings=settings, routers=ROUTERS, key_source=identity.key_source()
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit") as client:
            yield AuditApi(client=client, identity=identity, settings=settings)
