"""The ingestion worker against a real PostgreSQL and Redis and the fake Strava, with the connections
service's token handout played by a small stand-in that speaks its contract (`POST
/internal/access-tokens`): what the worker tests share."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion import intake
from ingestion.budget import RedisBudget, parse_limits
from ingestion.config import Settings
from ingestion.models import Activity, ProviderNotification, SyncRun
from ingestion.providers.base import Notification
from ingestion.providers.registry import PROVIDER_APIS
from ingestion.tokens import AccessTokens
from ingestion.worker import Readers, Worker, WorkerMetrics
from relay_contracts import Envelope
from relay_contracts.catalog import CONNECTIONS_CONNECTION_LINKED
from relay_contracts.events.common import Actor
from relay_contracts.events.connections import ConnectionLinked
from relay_platform.outbox import OutboxMessage
from relay_testing.fakes.strava import FakeStrava, StravaAthlete
from relay_testing.plugin import Infrastructure

Deliver = Callable[[Envelope], Awaitable[None]]


@dataclass
class TokenHandout:
    """Plays the connections service's internal token handout: a token the fake Strava issued for the
    athlete, or the refusals connections gives (404 no connection, 409 reauth_required)."""

    strava: FakeStrava
    refusals: dict[str, tuple[int, str]] = field(default_factory=dict)
    handed: list[dict[str, Any]] = field(default_factory=list)
    _tokens: dict[str, str] = field(default_factory=dict)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        asked = json.loads(request.content)
        self.handed.append(asked)
        account = asked["provider_user_id"]
        if account in self.refusals:
            status, code = self.refusals[account]
            return httpx.Response(status, json={"error": {"code": code, "message": code, "details": {}}})
        if asked["provider"] == "strava" and account not in self._tokens:
            grant = await self.strava.issue_grant(StravaAthlete(id=int(account)))
            self._tokens[account] = grant["access_token"]
        return httpx.Response(
            200,
            json={
                "connection_id": f"conn-{account}",
                "user_id": f"usr-{account}",
                "provider": asked["provider"],
                "provider_user_id": account,
                "auth_type": "oauth2",
                "access_token": self._tokens.get(account, secrets.token_urlsafe(16)),
                "expires_at": None,
                "scopes": [],
                "refreshed": False,
            },
        )


@dataclass
class Reading:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    deliver: Deliver
    strava: FakeStrava
    handout: TokenHandout
    worker: Worker
    readers: Readers
    registry: CollectorRegistry

    def syncs(self, outcome: str, trigger: str = "link") -> float:
        """`relay_ingestion_syncs_total` of Strava syncs of `trigger` that ended so (or started)."""
        labels = {"provider": "strava", "trigger": trigger, "outcome": outcome}
        return float(self.registry.get_sample_value("relay_ingestion_syncs_total", labels) or 0.0)

    async def link(self, provider: str, account: str | int, user_id: str | None = None) -> str:
        """The athlete links an account (as connections announces it): its backfill is scheduled."""
        linked = ConnectionLinked(
            connection_id=f"conn-{account}",
            user_id=user_id or f"usr-{account}",
            provider=provider,
            provider_user_id=str(account),
            auth_type="oauth2",
            scopes=["activity:read_all"],
            relinked=False,
            linked_at=datetime.now(UTC),
            actor=Actor(type="athlete", id=user_id or f"usr-{account}"),
        )
        await self.deliver(CONNECTIONS_CONNECTION_LINKED.envelope(linked, subject=linked.user_id))
        return linked.user_id

    async def notify(
        self,
        provider: str,
        owner_id: str | int,
        object_id: str | int,
        aspect_type: str = "create",
        payload: dict[str, Any] | None = None,
        object_type: str = "activity",
    ) -> uuid.UUID:
        """A verified webhook notification, stored as the webhook endpoints store them."""
        body = payload or {"object_id": object_id, "aspect_type": aspect_type, "nonce": secrets.token_hex(4)}
        notification = Notification(
            provider=provider,
            owner_id=str(owner_id),
            object_type=object_type,
            object_id=str(object_id),
            aspect_type=aspect_type,  # type: ignore[arg-type]
            event_time=datetime.now(UTC),
            payload=body,
        )
        arrival = intake.arrivals([notification], datetime.now(UTC))
        async with self.sessionmaker() as session, session.begin():
            assert await intake.store_arrivals(session, arrival, topic_prefix="") == [True]
        return arrival[0].id

    async def work(self, rounds: int = 100) -> int:
        """Runs the worker until nothing is due (at most `rounds` rounds); returns the busy rounds."""
        busy = 0
        for _ in range(rounds):
            if await self.worker.run_once() == 0:
                break
            busy += 1
        return busy

    async def activities(self, user_id: str) -> list[Activity]:
        async with self.sessionmaker() as session:
            statement = (
                select(Activity).where(col(Activity.user_id) == user_id).order_by(col(Activity.start_time))
            )
            return list((await session.exec(statement)).all())

    async def notification(self, notification_id: uuid.UUID) -> ProviderNotification:
        async with self.sessionmaker() as session:
            row = await session.get(ProviderNotification, notification_id)
            assert row is not None
            return row

    async def sync_runs(self, connection_id: str) -> list[SyncRun]:
        async with self.sessionmaker() as session:
            statement = select(SyncRun).where(col(SyncRun.connection_id) == connection_id)
            return list((await session.exec(statement)).all())

    async def events(self, event_type: str) -> list[dict[str, Any]]:
        """The envelopes of `event_type` staged in the outbox, oldest first."""
        async with self.sessionmaker() as session:
            statement = (
                select(OutboxMessage)
                .where(col(OutboxMessage.event_type) == event_type)
                .order_by(col(OutboxMessage.seq))
            )
            return [row.payload for row in (await session.exec(statement)).all()]


@pytest.fixture
async def reading(
    infrastructure: Infrastructure,
    fresh_database: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    deliver: Deliver,
    fake_strava: FakeStrava,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Reading]:
    limits = getattr(request, "param", None) or "200/15m,2000/1d;read:100/15m,1000/1d"
    settings = Settings(
        database_url=fresh_database,
        strava_verify_token="relay-test-verify-token",
        connections_token="relay-test-connections-token",
        strava={"api_url": f"{fake_strava.url}/api/v3", "rate_limits": limits},
    )
    handout = TokenHandout(fake_strava)
    redis = Redis.from_url(infrastructure.redis_url)
    async with (
        httpx.AsyncClient(
            transport=httpx.MockTransport(handout), base_url="http://connections"
        ) as connections,
        httpx.AsyncClient(timeout=5.0) as providers_http,
    ):
        readers = Readers(
            settings=settings,
            apis=PROVIDER_APIS,
            tokens=AccessTokens(connections),
            budget=RedisBudget(
                redis,
                {"strava": parse_limits(limits)},
                live_reserve_percent=settings.live_reserve_percent,
                namespace=f"test-{secrets.token_hex(4)}:",
            ),
            http=providers_http,
        )
        registry = CollectorRegistry()
        worker = Worker(
            sessionmaker=sessionmaker,
            readers=readers,
            database_dsn="",
            metrics=WorkerMetrics(registry),
        )
        yield Reading(settings, sessionmaker, deliver, fake_strava, handout, worker, readers, registry)
    await redis.aclose()
