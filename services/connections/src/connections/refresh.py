"""Keeping access tokens fresh: refreshed ahead of expiry by a scheduled job, or on demand when an
internal caller asks for a token about to expire. A refresh the provider refuses ends the connection's
grant (`reauth_required`, published for the app to prompt the athlete); a provider failing is retried
later and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from connections import repository
from connections.events import publish
from connections.models import ProviderConnection
from connections.providers.base import ProviderUnavailable, RefreshRefused, Tokens
from connections.tokens import open_tokens, seal_tokens
from relay_contracts.catalog import CONNECTIONS_CONNECTION_REAUTH_REQUIRED
from relay_contracts.events.connections import ConnectionReauthRequired
from relay_platform.logging import get_logger

if TYPE_CHECKING:
    from connections.resources import Connections

log = get_logger(__name__)


async def refresh_connection(
    session: AsyncSession, connections: Connections, connection: ProviderConnection
) -> Tokens | None:
    """Refreshes the (locked) connection's tokens at the provider and seals the new ones. None when
    the provider refused: the connection now requires the athlete to link again.
    `ProviderUnavailable` propagates, the connection unchanged but for its failure count."""
    tokens = open_tokens(connections.keyring, connection)
    client = connections.providers.oauth(connection.provider)
    if tokens is None or client is None:
        return None
    try:
        fresh = await client.refresh(tokens)
    except RefreshRefused:
        connections.metrics.refreshed(connection.provider, "refused")
        await require_reauth(session, connections, connection, "refresh_refused")
        return None
    except ProviderUnavailable as exc:
        connections.metrics.refreshed(connection.provider, "failed")
        connection.refresh_failures += 1
        session.add(connection)
        log.warning(
            "token_refresh_failed",
            user_id=connection.user_id,
            provider=connection.provider,
            status=exc.status,
            failures=connection.refresh_failures,
        )
        raise
    keep_refreshed_tokens(session, connections, connection, tokens, fresh)
    return fresh


def keep_refreshed_tokens(
    session: AsyncSession,
    connections: Connections,
    connection: ProviderConnection,
    tokens: Tokens,
    fresh: Tokens,
) -> None:
    """Seals the tokens a refresh of `tokens` answered into the (locked) connection: a rotated refresh
    token replaces the old one, which no longer works."""
    connections.metrics.refreshed(connection.provider, "succeeded")
    seal_tokens(connections.keyring, connection, fresh)
    now = datetime.now(UTC)
    connection.last_refreshed_at = now
    connection.refresh_failures = 0
    connection.updated_at = now
    session.add(connection)
    log.info(
        "token_refreshed",
        user_id=connection.user_id,
        provider=connection.provider,
        expires_at=fresh.expires_at.isoformat() if fresh.expires_at else None,
        refresh_token_rotated=fresh.refresh_token != tokens.refresh_token,
    )


async def require_reauth(
    session: AsyncSession, connections: Connections, connection: ProviderConnection, reason: str
) -> None:
    now = datetime.now(UTC)
    connection.status = "reauth_required"
    connection.status_reason = reason
    connection.updated_at = now
    session.add(connection)
    await publish(
        session,
        connections,
        CONNECTIONS_CONNECTION_REAUTH_REQUIRED,
        ConnectionReauthRequired(
            connection_id=str(connection.id),
            user_id=connection.user_id,
            provider=connection.provider,
            reason=reason,
            at=now,
        ),
        subject=connection.user_id,
    )
    connections.metrics.reauth(connection.provider, reason)
    log.warning("reauth_required", user_id=connection.user_id, provider=connection.provider, reason=reason)


async def refresh_expiring_tokens(
    connections: Connections, sessionmaker: async_sessionmaker[AsyncSession], *, limit: int = 100
) -> int:
    """Refreshes every active connection whose access token expires within the configured lead time.
    Each connection in its own transaction, locked, skipped if another replica holds it."""
    now = datetime.now(UTC)
    horizon = now.timestamp() + connections.settings.refresh_ahead_seconds
    async with sessionmaker() as session:
        due = await repository.connections_to_refresh(session, datetime.fromtimestamp(horizon, UTC), limit)
    refreshed = 0
    for connection_id in due:
        async with sessionmaker() as session, session.begin():
            connection = await repository.get_connection_by_id_for_update(
                session, connection_id, skip_locked=True
            )
            if connection is None or connection.status != "active" or connection.access_expires_at is None:
                continue
            if connection.access_expires_at.timestamp() > horizon:
                continue  # refreshed meanwhile (by a token handout)
            try:
                if await refresh_connection(session, connections, connection) is not None:
                    refreshed += 1
            except ProviderUnavailable:
                continue
    return refreshed
