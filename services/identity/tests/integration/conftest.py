"""The identity service in-process, on the real PostgreSQL, Kafka and Redis, signing athletes in
against the fake of Strava's OAuth endpoints."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from identity.app import create_app
from relay_platform.crypto import generate_key
from relay_platform.messaging import delete_topics, ensure_topics
from relay_testing.fakes.strava import FakeStrava
from relay_testing.plugin import Infrastructure

SERVICE_ROOT = Path(__file__).resolve().parents[2]
APP_REDIRECT = "relay://relay.app/auth/strava"


@dataclass
class IdentityUnderTest:
    app: FastAPI
    client: httpx.AsyncClient
    strava: FakeStrava
    database_url: str
    internal_token: str

    async def sign_in(self, *, athlete_id: int = 134815, **fields: object) -> dict[str, Any]:
        """The whole mobile flow: start, follow Strava's redirect, call the callback with the code."""
        await self.strava.queue_athlete(id=athlete_id, **fields)
        start = await self.client.get("/api/auth/strava", params={"redirect_uri": APP_REDIRECT})
        assert start.status_code == 302, start.text
        async with httpx.AsyncClient() as browser:
            approved = await browser.get(start.headers["location"])
        back = httpx.URL(approved.headers["location"])
        callback = await self.client.get(
            "/api/auth/strava/callback",
            params={
                "code": back.params["code"],
                "state": back.params["state"],
                "scope": back.params["scope"],
            },
        )
        assert callback.status_code == 200, callback.text
        body: dict[str, Any] = callback.json()
        return body

    def logins(self, method: str, outcome: str) -> float:
        """`relay_identity_logins_total` of the method and outcome, as the service exports it."""
        registry = self.app.state.runtime.metrics.registry
        labels = {"method": method, "outcome": outcome}
        value = registry.get_sample_value("relay_identity_logins_total", labels)
        return float(value or 0.0)

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


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def identity(
    fresh_database: str,
    infrastructure: Infrastructure,
    topic_prefix: str,
    fake_strava: FakeStrava,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[IdentityUnderTest]:
    internal_token = uuid.uuid4().hex
    env = {
        "IDENTITY_DATABASE_URL": fresh_database,
        "IDENTITY_KAFKA_BOOTSTRAP_SERVERS": infrastructure.kafka_bootstrap,
        "IDENTITY_KAFKA_TOPIC_PREFIX": topic_prefix,
        "IDENTITY_REDIS_URL": infrastructure.redis_url,
        "IDENTITY_SECRETS_KEYS": f"k1:{generate_key()}",
        "IDENTITY_INTERNAL_API_TOKEN": internal_token,
        "IDENTITY_STRAVA_CLIENT_ID": fake_strava.client_id,
        "IDENTITY_STRAVA_CLIENT_SECRET": fake_strava.client_secret,
        "IDENTITY_STRAVA_AUTHORIZE_URL": f"{fake_strava.url}/oauth/authorize",
        "IDENTITY_STRAVA_TOKEN_URL": f"{fake_strava.url}/oauth/token",
        "IDENTITY_STRAVA_TIMEOUT_SECONDS": "2",
        "IDENTITY_OUTBOX_POLL_INTERVAL_SECONDS": "0.2",
        "IDENTITY_ADMIN_LOCKOUT_SECONDS": "60",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "alembic", "-c", str(SERVICE_ROOT / "alembic.ini"), "upgrade", "head"],
        check=True,
        cwd=SERVICE_ROOT,
        env={**os.environ, **env},
        capture_output=True,
    )
    await ensure_topics(infrastructure.kafka_bootstrap, prefix=topic_prefix)
    app = create_app()
    try:
        async with app.router.lifespan_context(app):
            # Its own client address: the per-IP rate limits of one test do not touch another's.
            octets = uuid.uuid4().bytes[:3]
            transport = httpx.ASGITransport(
                app=app, client=(f"10.{octets[0]}.{octets[1]}.{octets[2]}", 50000)
            )
            async with httpx.AsyncClient(transport=transport, base_url="http://identity") as client:
                yield IdentityUnderTest(app, client, fake_strava, fresh_database, internal_token)
    finally:
        await delete_topics(infrastructure.kafka_bootstrap, prefix=topic_prefix)
