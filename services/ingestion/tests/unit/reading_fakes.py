"""What the provider readers' tests share: athletes linked at the fake providers (served in the test's
process), a budget that grants every request and counts them, a reader's HTTP for one athlete, and the
notifications a reader is given."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from ingestion.providers.base import Budget, Notification, Priority, ProviderHttp, RequestKind
from relay_testing.fakes.providers import FakeProviders, Provider, ProviderUser
from relay_testing.fakes.providers.dialects import DIALECTS
from relay_testing.fakes.providers.state import Consent, Grant

FAKE_URL = "http://providers.test"
"""Where the readers' client reaches the fake providers (any host does: it is served in process)."""


def api_url(provider: str) -> str:
    """The provider's API on the fake, each under its own prefix."""
    return f"{FAKE_URL}/{provider}"


class CountingBudget:
    """Grants every request and remembers what was asked and what the provider answered."""

    def __init__(self) -> None:
        self.acquired: list[tuple[str, RequestKind, Priority]] = []
        self.statuses: list[int] = []

    @property
    def requests(self) -> int:
        return len(self.acquired)

    async def acquire(self, provider: str, kind: RequestKind, priority: Priority) -> None:
        self.acquired.append((provider, kind, priority))

    async def observe(self, provider: str, response: httpx.Response) -> datetime | None:
        self.statuses.append(response.status_code)
        return None


def linked_athlete(
    fake: FakeProviders, provider: Provider, user_id: str = "", *, scopes: Iterable[str] | None = None
) -> tuple[str, str]:
    """An athlete (this `user_id`, else a new one) who authorized Relay at `provider` for `scopes` (those
    Relay asks for unless told): their id at the provider and their access token."""
    user = fake.state.consenting_user(
        Consent(user=ProviderUser(provider=provider, user_id=user_id)), provider
    )
    token = fake.state.new_token()
    fake.state.store_grant(
        Grant(
            provider=provider,
            user_id=user.user_id,
            scopes=list(DIALECTS[provider].scopes.split() if scopes is None else scopes),
            access_token=token,
            access_expires_at=fake.state.now() + 3600,
        )
    )
    return user.user_id, token


def provider_http(
    provider: str,
    client: httpx.AsyncClient,
    user_id: str,
    token: str,
    *,
    budget: Budget | None = None,
    priority: Priority = "live",
    base_url: str | None = None,
) -> ProviderHttp:
    """The athlete's calls to the provider's API (on the fake unless `base_url` says otherwise), counted
    by `budget` (a `CountingBudget` of its own unless given)."""
    return ProviderHttp(
        client,
        provider=provider,
        base_url=base_url or api_url(provider),
        access_token=token,
        provider_user_id=user_id,
        budget=budget or CountingBudget(),
        priority=priority,
    )


def notification_of(
    provider: str,
    owner_id: str,
    object_id: str,
    payload: dict[str, Any],
    *,
    aspect_type: Literal["create", "update", "delete"] = "create",
    object_type: str = "activity",
    event_time: datetime | None = None,
    updates: Mapping[str, Any] | None = None,
) -> Notification:
    """A verified notification about one object of the athlete's at `provider`, sent now unless
    `event_time` says otherwise."""
    return Notification(
        provider=provider,
        owner_id=owner_id,
        object_type=object_type,
        object_id=object_id,
        aspect_type=aspect_type,
        event_time=event_time or datetime.now(UTC),
        payload=payload,
        updates=updates or {},
    )
