"""Athletes withdrawing Relay's access at their provider, as the provider's webhook tells it.

A provider that signs its webhooks (Garmin, Fitbit, ...) is believed at once. Strava signs nothing:
anyone who knows an athlete's Strava id can announce their deauthorization, so it is confirmed with
Strava first, with the athlete's own token (`ProviderSpec.unsigned_webhooks`). A token Strava refuses
confirms it: the link is revoked, its tokens forgotten and the provider's data erased everywhere. A
token that still works refutes it (forged, or stale): nothing changes, and it is logged and counted.
Strava failing, rate-limiting or unreachable postpones it: nothing is erased, and a scheduled job asks
again (`confirm_unconfirmed_deauthorizations`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from connections import repository
from connections.events import publish
from connections.models import ProviderConnection
from connections.providers import PROVIDERS
from connections.providers.base import ProviderUnavailable, RefreshRefused
from connections.refresh import keep_refreshed_tokens
from connections.resources import Connections
from connections.tokens import forget_tokens, open_tokens
from relay_contracts.catalog import CONNECTIONS_CONNECTION_REVOKED
from relay_contracts.events.common import Actor
from relay_contracts.events.connections import ConnectionRevoked
from relay_platform.logging import get_logger

log = get_logger(__name__)

Confirmation = Literal["confirmed", "refuted", "postponed"]

GRANT_CHECK_MARGIN = timedelta(minutes=5)
"""An access token expiring sooner is refreshed to ask: the provider would refuse it as expired, which
says nothing of a withdrawal."""


def needs_confirmation(provider: str) -> bool:
    """Whether the provider's word on a deauthorization must be checked with the provider itself."""
    spec = PROVIDERS.get(provider)
    return spec is not None and spec.unsigned_webhooks


async def on_deauthorization(
    session: AsyncSession, connections: Connections, provider: str, provider_user_id: str
) -> None:
    """The provider's webhook said the athlete withdrew Relay's access to this account."""
    if needs_confirmation(provider):
        await confirm_deauthorization(session, connections, provider, provider_user_id)
        return
    connection = await repository.find_connection_of_account(
        session, provider, provider_user_id, for_update=True
    )
    if connection is not None and connection.status != "revoked":
        await revoke_withdrawn(session, connections, connection)


async def confirm_deauthorization(
    session: AsyncSession, connections: Connections, provider: str, provider_user_id: str
) -> Confirmation | None:
    """Asks the provider whether the account's grant is really withdrawn, and acts on its answer; None
    when no live link holds the account (nothing to erase, nothing to ask with)."""
    connection = await repository.find_connection_of_account(
        session, provider, provider_user_id, for_update=True
    )
    if connection is None or connection.status == "revoked":
        await repository.settle_deauthorization(session, provider, provider_user_id, confirmed_at=None)
        return None
    now = datetime.now(UTC)
    try:
        honoured = await grant_honoured(session, connections, connection)
    except ProviderUnavailable as exc:
        await repository.postpone_deauthorization(session, provider, provider_user_id, now)
        connections.metrics.deauthorization(provider, "postponed")
        log.warning(
            "deauthorization_postponed", user_id=connection.user_id, provider=provider, status=exc.status
        )
        return "postponed"
    if honoured:
        await repository.settle_deauthorization(session, provider, provider_user_id, confirmed_at=None)
        connections.metrics.deauthorization(provider, "refuted")
        log.warning(
            "deauthorization_refuted",
            user_id=connection.user_id,
            provider=provider,
            provider_user_id=provider_user_id,
        )
        return "refuted"
    await repository.settle_deauthorization(session, provider, provider_user_id, confirmed_at=now)
    connections.metrics.deauthorization(provider, "confirmed")
    await revoke_withdrawn(session, connections, connection)
    return "confirmed"


async def grant_honoured(
    session: AsyncSession, connections: Connections, connection: ProviderConnection
) -> bool:
    """Whether the provider still honours the (locked) connection's grant, asked with its own tokens: the
    access token while it is fresh, else a refresh, whose new tokens are kept (the old refresh token no
    longer works). `ProviderUnavailable` when the provider cannot tell now."""
    client = connections.providers.oauth(connection.provider)
    tokens = open_tokens(connections.keyring, connection)
    if client is None or tokens is None:
        raise ProviderUnavailable(connection.provider, "no client or no token to ask the provider with")
    if tokens.expires_at is not None and tokens.expires_at < datetime.now(UTC) + GRANT_CHECK_MARGIN:
        try:
            fresh = await client.refresh(tokens)
        except RefreshRefused:
            return False
        keep_refreshed_tokens(session, connections, connection, tokens, fresh)
        return True
    return await client.honours(tokens)


async def revoke_withdrawn(
    session: AsyncSession, connections: Connections, connection: ProviderConnection
) -> None:
    """The athlete withdrew Relay's access at the provider: the (locked) connection is kept, revoked and
    without tokens (the app offers to link again), and the provider's data is erased everywhere."""
    now = datetime.now(UTC)
    forget_tokens(connection)
    connection.status = "revoked"
    connection.status_reason = "deauthorized_at_provider"
    connection.updated_at = now
    session.add(connection)
    await publish(
        session,
        connections,
        CONNECTIONS_CONNECTION_REVOKED,
        ConnectionRevoked(
            connection_id=str(connection.id),
            user_id=connection.user_id,
            provider=connection.provider,
            provider_user_id=connection.provider_user_id,
            reason="deauthorized_at_provider",
            erase_provider_data=True,
            revoked_at_provider=True,
            at=now,
            actor=Actor(type="system"),
        ),
        subject=connection.user_id,
    )
    log.info("provider_deauthorized", user_id=connection.user_id, provider=connection.provider)


async def confirm_unconfirmed_deauthorizations(
    connections: Connections, sessionmaker: async_sessionmaker[AsyncSession], *, limit: int = 100
) -> int:
    """Asks the providers again about the deauthorizations they could not confirm, the longest unasked
    first, each in its own transaction (skipped if another replica holds it). Stops at the first the
    provider still cannot answer: the others wait for the next run. Returns how many were settled."""
    async with sessionmaker() as session:
        unconfirmed = await repository.pending_deauthorizations(session, limit)
    settled = 0
    for provider, provider_user_id in unconfirmed:
        async with sessionmaker() as session, session.begin():
            if not await repository.lock_pending_deauthorization(session, provider, provider_user_id):
                continue
            outcome = await confirm_deauthorization(session, connections, provider, provider_user_id)
        if outcome == "postponed":
            break
        settled += 1
    return settled
