"""The connections service in-process, with its lifespan, on the real PostgreSQL, Kafka and Redis, linking
athletes against the fakes of every provider (`fake_providers`, `fake_strava`) and of identity (public
keys, athletes' tokens and Strava-grant claims). Its consumers are driven on the in-memory broker over
the same database and resources (`ConnectionsUnderTest.deliver`); scheduled jobs are run by the tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from connections.app import create_app
from connections.handlers import subscribe
from connections.resources import Connections
from relay_contracts import Envelope
from relay_platform.crypto import generate_key
from relay_platform.db import create_engine, create_sessionmaker
from relay_platform.messaging import delete_topics, ensure_topics
from relay_testing.fakes.providers import FakeProviders
from relay_testing.fakes.strava import FakeStrava
from relay_testing.identity import FakeIdentity
from relay_testing.plugin import Infrastructure
from relay_testing.services import Deliver, consumers_in_memory, migrate
from relay_testing.serving import serve_asgi

SERVICE_ROOT = Path(__file__).resolve().parents[2]
PUBLIC_URL = "https://relay.example"
APP_LINK = "relay://relay.app/connections"
INGESTION_TOKEN = "ingestion-internal-token-" + uuid.uuid4().hex
EXPORT_TOKEN = "export-internal-token-" + uuid.uuid4().hex


@dataclass
class ConnectionsUnderTest:
    app: FastAPI
    client: httpx.AsyncClient
    identity: FakeIdentity
    providers: FakeProviders
    strava: FakeStrava
    database_url: str
    sessionmaker: async_sessionmaker[AsyncSession]
    resources: Connections
    deliver: Deliver

    def athlete(self, user_id: str) -> dict[str, str]:
        """Headers of a request by this athlete."""
        return self.identity.bearer(user_id)

    def metric(self, name: str, **labels: str) -> float:
        """A sample of what the service exports on /metrics (0 for a series it does not have)."""
        value = self.app.state.runtime.metrics.registry.get_sample_value(name, labels)
        return float(value or 0.0)

    def internal(self, caller: str = "ingestion") -> dict[str, str]:
        token = {"ingestion": INGESTION_TOKEN, "export": EXPORT_TOKEN}[caller]
        return {"Authorization": f"Bearer {token}"}

    async def start_link(self, user_id: str, provider: str, **body: Any) -> dict[str, Any]:
        started = await self.client.post(
            f"/api/providers/{provider}/connect", json=body or None, headers=self.athlete(user_id)
        )
        assert started.status_code == 200, started.text
        result: dict[str, Any] = started.json()
        return result

    async def consent(self, provider: str, authorization_url: str) -> httpx.URL:
        """The athlete's browser at the provider: where the provider sends it back."""
        if provider == "strava":
            async with httpx.AsyncClient() as browser:
                approved = await browser.get(authorization_url)
            return httpx.URL(approved.headers["location"])
        return await self.providers.authorize(provider, authorization_url)

    async def callback(self, provider: str, back: httpx.URL) -> httpx.Response:
        """The provider's redirect, followed to Relay's callback (as the browser would)."""
        assert str(back).startswith(f"{PUBLIC_URL}/api/providers/{provider}/callback"), back
        return await self.client.get(f"/api/providers/{provider}/callback", params=dict(back.params))

    async def link(self, user_id: str, provider: str, **user: Any) -> dict[str, Any]:
        """The whole flow: start, consent at the provider, callback. Returns the linked connection."""
        if user:
            if provider == "strava":
                await self.strava.queue_athlete(**user)
            else:
                await self.providers.queue_user(provider, **user)
        started = await self.start_link(user_id, provider)
        back = await self.consent(provider, started["authorization_url"])
        linked = await self.callback(provider, back)
        assert linked.status_code == 200, linked.text
        connection: dict[str, Any] = linked.json()["connection"]
        return connection

    async def rows(self, query: str, *args: object) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(
            self.database_url.replace("postgresql+asyncpg://", "postgresql://")
        )
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()

    async def staged_events(self, event_type: str) -> list[dict[str, Any]]:
        rows = await self.rows("SELECT payload FROM outbox WHERE event_type = $1 ORDER BY seq", event_type)
        return [json.loads(row["payload"]) for row in rows]

    async def deliver_event(self, envelope: Envelope) -> None:
        await self.deliver(envelope)


@pytest.fixture
async def connections_service(
    fresh_database: str,
    infrastructure: Infrastructure,
    topic_prefix: str,
    fake_strava: FakeStrava,
    fake_providers: FakeProviders,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[ConnectionsUnderTest]:
    identity = FakeIdentity()
    async with serve_asgi(identity.app, name="fake-identity") as identity_url:
        identity.url = identity_url
        env = {
            "CONNECTIONS_DATABASE_URL": fresh_database,
            "CONNECTIONS_KAFKA_BOOTSTRAP_SERVERS": infrastructure.kafka_bootstrap,
            "CONNECTIONS_KAFKA_TOPIC_PREFIX": topic_prefix,
            "CONNECTIONS_REDIS_URL": infrastructure.redis_url,
            "CONNECTIONS_AUTH_JWKS_URL": identity.jwks_url,
            "CONNECTIONS_IDENTITY_URL": identity_url,
            "CONNECTIONS_IDENTITY_INTERNAL_TOKEN": identity.internal_token,
            "CONNECTIONS_TOKEN_KEYS": f"k2026:{generate_key()},k2025:{generate_key()}",
            "CONNECTIONS_INTERNAL_CALLERS": f"ingestion:{INGESTION_TOKEN},export:{EXPORT_TOKEN}",
            "CONNECTIONS_PUBLIC_URL": PUBLIC_URL,
            "CONNECTIONS_JOBS_ENABLED": "false",
            "CONNECTIONS_PROVIDER_TIMEOUT_SECONDS": "2",
            "CONNECTIONS_OUTBOX_POLL_INTERVAL_SECONDS": "0.2",
            "CONNECTIONS_STRAVA__CLIENT_ID": fake_strava.client_id,
            "CONNECTIONS_STRAVA__CLIENT_SECRET": fake_strava.client_secret,
            "CONNECTIONS_STRAVA__AUTHORIZE_URL": f"{fake_strava.url}/oauth/authorize",
            "CONNECTIONS_STRAVA__TOKEN_URL": f"{fake_strava.url}/oauth/token",
            "CONNECTIONS_STRAVA__REVOKE_URL": f"{fake_strava.url}/oauth/deauthorize",
            "CONNECTIONS_STRAVA__API_URL": f"{fake_strava.url}/api/v3",
            **fake_providers.settings_env("CONNECTIONS_"),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        await migrate(SERVICE_ROOT, "connections", fresh_database)
        await ensure_topics(infrastructure.kafka_bootstrap, prefix=topic_prefix)
        engine = create_engine(fresh_database)
        app = create_app()
        try:
            async with app.router.lifespan_context(app):
                resources: Connections = app.state.runtime.resources
                sessionmaker = create_sessionmaker(engine)
                transport = httpx.ASGITransport(app=app, client=(f"10.9.{uuid.uuid4().bytes[0]}.7", 50000))
                async with (
                    consumers_in_memory(
                        "connections",
                        subscribe,
                        database_url=fresh_database,
                        sessionmaker=sessionmaker,
                        resources=resources,
                    ) as deliver,
                    httpx.AsyncClient(transport=transport, base_url="http://connections") as client,
                ):
                    yield ConnectionsUnderTest(
                        app=app,
                        client=client,
                        identity=identity,
                        providers=fake_providers,
                        strava=fake_strava,
                        database_url=fresh_database,
                        sessionmaker=sessionmaker,
                        resources=resources,
                        deliver=deliver,
                    )
        finally:
            await engine.dispose()
            await delete_topics(infrastructure.kafka_bootstrap, prefix=topic_prefix)
