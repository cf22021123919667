"""What the connections service holds while it runs, opened in its lifespan (no work at import time):
the keyring, the providers' clients, identity's internal API, the internal callers' tokens, the
scheduled jobs and the count of links waiting for their athlete (a metric)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import Request
from pydantic import SecretStr

from connections.config import Settings
from connections.identity_client import IdentityClient, StravaGrants
from connections.metrics import REAUTH_COUNT_INTERVAL_SECONDS, ConnectionsMetrics
from connections.providers import Providers, build_providers
from connections.providers.oura_webhooks import OuraSubscriptions
from relay_platform.crypto import Keyring
from relay_platform.http import create_http_client
from relay_platform.jobs import PeriodicJob, running
from relay_platform.service import Runtime


@dataclass(frozen=True)
class InternalCallers:
    """The services allowed to obtain athletes' access tokens, each with its own bearer token."""

    digests: dict[str, str] = field(repr=False)

    @classmethod
    def parse(cls, spec: SecretStr) -> InternalCallers:
        digests: dict[str, str] = {}
        for entry in filter(None, (part.strip() for part in spec.get_secret_value().split(","))):
            name, sep, token = entry.partition(":")
            if not sep or not name or len(token) < 16:
                raise ValueError("each internal caller is name:token, with a token of 16 characters or more")
            digests[name] = hashlib.sha256(token.encode()).hexdigest()
        if not digests:
            raise ValueError("no internal caller is configured")
        return cls(digests)

    def caller_of(self, token: str) -> str | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        for name, expected in self.digests.items():
            if hmac.compare_digest(digest, expected):
                return name
        return None


@dataclass(frozen=True)
class Connections:
    settings: Settings
    keyring: Keyring
    strava_grants: StravaGrants
    providers: Providers
    callers: InternalCallers
    metrics: ConnectionsMetrics
    oura_subscriptions: OuraSubscriptions | None = None


@asynccontextmanager
async def open_connections(runtime: Runtime) -> AsyncIterator[Connections]:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    # A malformed keyring or caller list stops the service here, at start, naming no secret.
    keyring = Keyring.parse(settings.token_keys.get_secret_value())
    callers = InternalCallers.parse(settings.internal_callers)
    async with (
        create_http_client(
            settings.identity_url, timeout=settings.identity_timeout_seconds, retries=2
        ) as identity,
        # No retries: authorization codes and rotating refresh tokens work once.
        create_http_client(timeout=settings.provider_timeout_seconds, retries=0) as providers_http,
    ):
        metrics = ConnectionsMetrics(runtime.metrics.registry)
        connections = Connections(
            settings=settings,
            keyring=keyring,
            strava_grants=IdentityClient(identity, settings.identity_internal_token),
            providers=build_providers(settings, providers_http),
            callers=callers,
            metrics=metrics,
            oura_subscriptions=(
                OuraSubscriptions(providers_http, settings.provider_app("oura"))
                if settings.oura.configured
                else None
            ),
        )

        async def count_links_awaiting_reauth() -> int:
            return await metrics.count_links_awaiting_reauth(runtime.sessionmaker)

        # Every replica counts (a metric, not work): read them with `max by (provider)`.
        loops = [
            PeriodicJob(
                "count_links_awaiting_reauth", REAUTH_COUNT_INTERVAL_SECONDS, count_links_awaiting_reauth
            )
        ]
        async with running(loops, runtime.metrics.jobs):
            yield connections


def connections_of(runtime: Runtime) -> Connections:
    connections: Connections = runtime.resources
    return connections


def connections_from(request: Request) -> Connections:
    connections: Connections = request.app.state.runtime.resources
    return connections
