"""The export database at its latest revision and its consumers on the in-memory broker, for one test
(fixtures `sessionmaker`, `deliver` and `mentions` of relay_testing), and its API and sender in process
(`export_api`) against the fake providers and a fake of the connections service."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from export.config import Settings
from export.endpoints import router
from export.handlers import subscribe
from export.resources import Export, open_export
from relay_platform.service import create_service_app
from relay_testing.fakes.providers import FakeProviders
from relay_testing.identity import FakeIdentity
from relay_testing.plugin import Infrastructure
from relay_testing.services import ServiceUnderTest
from relay_testing.serving import serve_asgi

from .fake_connections import EXPORT_CALLER_TOKEN, FakeConnections

TEST_SETTINGS = Settings(
    database_url="postgresql+asyncpg://unused@127.0.0.1:1/unused", connections_token="unused"
)


@pytest.fixture
def service_under_test() -> ServiceUnderTest:
    return ServiceUnderTest(
        "export", Path(__file__).resolve().parents[2], subscribe, SimpleNamespace(settings=TEST_SETTINGS)
    )


@dataclass
class ExportApi:
    client: httpx.AsyncClient
    identity: FakeIdentity
    export: Export
    connections: FakeConnections
    providers: FakeProviders

    async def send(self) -> int:
        """One pass of the sender, as its job runs it."""
        return await self.export.sender.send_due()


@pytest.fixture
async def export_api(
    fresh_database: str,
    sessionmaker: async_sessionmaker[AsyncSession],  # the database at its latest revision
    infrastructure: Infrastructure,
    topic_prefix: str,
    fake_providers: FakeProviders,
) -> AsyncIterator[ExportApi]:
    """Every export endpoint in process on the test's database; the sender runs when the test says
    (`send`), retries come at once, a provider call gives up after one second."""
    identity = FakeIdentity()
    connections = FakeConnections()
    async with serve_asgi(connections.app, name="fake-connections") as connections_url:
        settings = Settings(
            database_url=fresh_database,
            kafka_bootstrap_servers=infrastructure.kafka_bootstrap,
            kafka_topic_prefix=topic_prefix,
            redis_url=infrastructure.redis_url,
            rate_limit_enabled=False,
            jobs_enabled=False,
            connections_url=connections_url,
            connections_token=EXPORT_CALLER_TOKEN,
            garmin_workout_api_url=f"{fake_providers.url}/garmin",
            coros_hub_api_url=f"{fake_providers.url}/coros-hub",
            provider_timeout_seconds=1.0,
            retry_base_seconds=0.0,
            max_attempts=3,
        )
        app = create_service_app(
            service="export",
            settings=settings,
            routers=(router,),
            resources=open_export,
            key_source=identity.key_source(),
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://export") as client:
                yield ExportApi(
                    client=client,
                    identity=identity,
                    export=app.state.runtime.resources,
                    connections=connections,
                    providers=fake_providers,
                )
