"""What the tests of a connection's life after linking share: handing its token out as ingestion or
export ask for it, reading it as stored (its tokens opened with the service's keyring), bringing its
access token close to expiry on both clocks, asking the provider whether it still honours a token, and
a sign-in with Strava as identity announces it."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connections import repository
from connections.models import ProviderConnection
from connections.providers.base import Tokens
from connections.tokens import open_tokens
from relay_contracts import Envelope
from relay_contracts.catalog import IDENTITY_STRAVA_GRANT_ISSUED
from relay_contracts.events.identity import StravaGrantIssued
from relay_testing.fakes.strava import StravaAthlete

from .conftest import ConnectionsUnderTest

HANDOUT = "/internal/access-tokens"


async def hand_out(
    service: ConnectionsUnderTest,
    provider: str,
    *,
    user_id: str | None = None,
    provider_user_id: str | None = None,
    caller: str = "ingestion",
    purpose: str = "fetch_activities",
) -> httpx.Response:
    """`POST /internal/access-tokens` as the internal `caller` would send it."""
    body: dict[str, Any] = {"provider": provider, "purpose": purpose}
    if user_id is not None:
        body["user_id"] = user_id
    if provider_user_id is not None:
        body["provider_user_id"] = provider_user_id
    return await service.client.post(HANDOUT, json=body, headers=service.internal(caller))


async def link_new_account(service: ConnectionsUnderTest, user_id: str, provider: str) -> dict[str, Any]:
    """Links a provider account no one holds yet (a new Strava athlete id for Strava)."""
    if provider == "strava":
        return await service.link(user_id, provider, id=10_000_000 + secrets.randbelow(10**8))
    return await service.link(user_id, provider)


async def stored(service: ConnectionsUnderTest, user_id: str, provider: str) -> ProviderConnection:
    async with service.sessionmaker() as session:
        connection = await repository.get_connection_by_provider(session, user_id, provider)
    assert connection is not None, f"{user_id} has no {provider} connection"
    return connection


async def stored_tokens(service: ConnectionsUnderTest, user_id: str, provider: str) -> Tokens:
    """The connection's tokens as the service would open them."""
    tokens = open_tokens(service.resources.keyring, await stored(service, user_id, provider))
    assert tokens is not None, f"{user_id}'s {provider} connection holds no token"
    return tokens


async def set_access_expiry(
    service: ConnectionsUnderTest, user_id: str, provider: str, expires_at: datetime
) -> None:
    await service.rows(
        "UPDATE provider_connections SET access_expires_at = $3 WHERE user_id = $1 AND provider = $2",
        user_id,
        provider,
        expires_at,
    )


async def bring_to_expiry(
    service: ConnectionsUnderTest, user_id: str, provider: str, *, left: timedelta = timedelta(minutes=2)
) -> None:
    """Time passes until the access token has only `left` to live: at the provider (its clock moves)
    and in Relay's record of it."""
    account = (await stored(service, user_id, provider)).provider_user_id
    if provider == "strava":
        [grant] = [g for g in await service.strava.grants() if str(g.athlete_id) == account]
        remaining = grant.access_expires_at - service.strava.state.now()
        await service.strava.advance_clock(remaining - left.total_seconds())
    else:
        state = service.providers.state
        held = state.grant_of(provider, account)  # type: ignore[arg-type]
        assert held is not None, f"{provider} holds no grant of {account}"
        await service.providers.advance_clock(held.access_expires_at - state.now() - left.total_seconds())
    await set_access_expiry(service, user_id, provider, datetime.now(UTC) + left)


async def provider_honours(service: ConnectionsUnderTest, provider: str, access_token: str) -> bool:
    """Whether the provider would answer an API call made with this access token now."""
    if provider == "strava":
        async with httpx.AsyncClient() as client:
            answer = await client.get(
                f"{service.strava.url}/api/v3/athlete", headers={"Authorization": f"Bearer {access_token}"}
            )
        return answer.status_code == 200
    state = service.providers.state
    grant = state.grant_by_access(provider, access_token)  # type: ignore[arg-type]
    return grant is not None and grant.access_expires_at > state.now()


async def outbox_text(service: ConnectionsUnderTest) -> str:
    """Every event the service staged or published, as stored: payloads and headers."""
    rows = await service.rows("SELECT payload::text AS payload, headers::text AS headers FROM outbox")
    return "\n".join(f"{row['payload']}\n{row['headers']}" for row in rows)


async def event_data(service: ConnectionsUnderTest, event_type: str) -> list[dict[str, Any]]:
    """The `data` of each staged event of this type, oldest first."""
    return [event["data"] for event in await service.staged_events(event_type)]


async def strava_sign_in(
    service: ConnectionsUnderTest, user_id: str, athlete_id: int, *, scopes: list[str] | None = None
) -> tuple[Envelope, dict[str, Any]]:
    """A sign-in with Strava as identity records it: tokens Strava granted (so Strava honours them),
    waiting to be claimed once, and the event announcing them."""
    answer = await service.strava.issue_grant(StravaAthlete(id=athlete_id), scopes=scopes)
    expires_at = datetime.fromtimestamp(answer["expires_at"], UTC)
    grant = {
        "strava_grant_id": f"sg_{secrets.token_hex(8)}",
        "user_id": user_id,
        "strava_athlete_id": str(athlete_id),
        "access_token": answer["access_token"],
        "refresh_token": answer["refresh_token"],
        "expires_at": expires_at.isoformat(),
        "scopes": scopes or ["read", "activity:read_all"],
    }
    service.identity.issue(grant)
    issued = StravaGrantIssued(
        strava_grant_id=grant["strava_grant_id"],
        user_id=user_id,
        strava_athlete_id=str(athlete_id),
        scopes=grant["scopes"],
        access_expires_at=expires_at,
    )
    return IDENTITY_STRAVA_GRANT_ISSUED.envelope(issued, subject=user_id), grant
