"""The connections service's own metrics, on the service's registry (`/metrics`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from connections import repository
from connections.providers import PROVIDERS

REFRESH_OUTCOMES = ("succeeded", "refused", "failed")
"""`refused`: the provider turned the refresh token down (the link needs the athlete again);
`failed`: the provider did not answer properly (tried again later)."""
REAUTH_REASONS = frozenset(
    {"refresh_refused", "credentials_invalid", "token_expired", "token_invalid", "unauthorized"}
)
"""Why a link needs the athlete again: its refresh was refused, or a service met a refused token
(the short codes of `POST /internal/token-rejections`); any other code counts as `other`."""
REAUTH_COUNT_INTERVAL_SECONDS = 60.0
DEAUTHORIZATION_OUTCOMES = ("confirmed", "refuted", "postponed")
"""What the provider said of a deauthorization its webhook could not prove (Strava's): `confirmed` (the
grant is gone), `refuted` (the token still works: the notification was forged or stale, and ignored),
`postponed` (the provider could not tell: asked again later)."""


class ConnectionsMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.token_refreshes = Counter(
            "relay_connections_token_refreshes_total",
            "Refreshes of athletes' access tokens at their provider, by provider and outcome.",
            ["provider", "outcome"],
            registry=registry,
        )
        self.reauth_required = Counter(
            "relay_connections_reauth_required_total",
            "Links turned reauth_required (the athlete must link again), by provider and reason.",
            ["provider", "reason"],
            registry=registry,
        )
        self.links_awaiting_reauth = Gauge(
            "relay_connections_links_reauth_required",
            "Links waiting for their athlete to link again (status reauth_required), by provider; counted "
            "every minute.",
            ["provider"],
            registry=registry,
        )
        self.deauthorizations = Counter(
            "relay_connections_deauthorizations_total",
            "Deauthorizations confirmed with the provider before acting on them (its webhook proves "
            "nothing), by provider and outcome: confirmed, refuted (forged or stale: ignored), postponed.",
            ["provider", "outcome"],
            registry=registry,
        )
        # Known in advance: shown as 0 rather than missing until the first one happens.
        for spec in PROVIDERS.values():
            if spec.refreshes:
                for outcome in REFRESH_OUTCOMES:
                    self.token_refreshes.labels(provider=spec.key, outcome=outcome)
                self.reauth_required.labels(provider=spec.key, reason="refresh_refused")
            if spec.unsigned_webhooks:
                for outcome in DEAUTHORIZATION_OUTCOMES:
                    self.deauthorizations.labels(provider=spec.key, outcome=outcome)

    async def count_links_awaiting_reauth(self, sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        """Counts the links waiting for their athlete (a partial index holds only those)."""
        async with sessionmaker() as session:
            counts = await repository.reauth_required_per_provider(session)
        linkable = [spec.key for spec in PROVIDERS.values() if spec.auth_type != "api_key"]
        for provider in {*linkable, *counts}:
            self.links_awaiting_reauth.labels(provider=provider).set(counts.get(provider, 0))
        return sum(counts.values())

    def refreshed(self, provider: str, outcome: str) -> None:
        self.token_refreshes.labels(provider=provider, outcome=outcome).inc()

    def deauthorization(self, provider: str, outcome: str) -> None:
        self.deauthorizations.labels(provider=provider, outcome=outcome).inc()

    def reauth(self, provider: str, reason: str) -> None:
        self.reauth_required.labels(
            provider=provider, reason=reason if reason in REAUTH_REASONS else "other"
        ).inc()
