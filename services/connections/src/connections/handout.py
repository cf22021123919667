"""Athletes' access tokens for Relay's own services (ingestion fetches activities, export pushes
workouts): handed over by an authenticated internal call, refreshed first when about to expire, and
audited (`connections.access_token.issued`, without the token). A token the provider refuses although it
looked valid here (COROS Training Hub's cannot be refreshed; a grant withdrawn at the provider) is
reported back by the caller that met the refusal, and the connection then asks the athlete to link again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from connections import repository
from connections.events import publish
from connections.models import ProviderConnection
from connections.providers.base import ProviderUnavailable, Tokens
from connections.refresh import refresh_connection, require_reauth
from connections.resources import Connections
from connections.tokens import open_tokens
from relay_contracts.catalog import CONNECTIONS_ACCESS_TOKEN_ISSUED
from relay_contracts.events.common import Actor
from relay_contracts.events.connections import AccessTokenIssued
from relay_platform.errors import NotFound
from relay_platform.logging import get_logger

log = get_logger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)
"""A token expiring sooner than this is refreshed before it is handed out: the caller gets time to use it."""


class HandoutRefused(Exception):
    """No token can be handed out; what the caller is told (status, code). Raised after any change the
    refusal implies (a connection marked `reauth_required`) was made, to be committed."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}


@dataclass(frozen=True)
class IssuedToken:
    connection: ProviderConnection
    tokens: Tokens
    refreshed: bool


async def issue_access_token(
    session: AsyncSession,
    connections: Connections,
    *,
    caller: str,
    provider: str,
    user_id: str | None,
    provider_user_id: str | None,
    purpose: str,
) -> IssuedToken:
    if user_id is not None:
        connection = await repository.get_connection_for_update(session, user_id, provider)
    elif provider_user_id is not None:
        connection = await repository.find_connection_of_account(
            session, provider, provider_user_id, for_update=True
        )
    else:
        connection = None
    if connection is None:
        raise HandoutRefused(404, "connection_not_found", "No connection to this provider for this athlete")
    details: dict[str, object] = {"connection_id": str(connection.id), "provider": provider}
    if connection.status != "active":
        raise HandoutRefused(409, connection.status, f"The connection is {connection.status}", details)
    if not connection.is_active:
        raise HandoutRefused(409, "connection_paused", "The athlete paused this connection", details)
    tokens = open_tokens(connections.keyring, connection)
    if tokens is None:
        raise HandoutRefused(409, "no_token", "This connection has no access token", details)
    now = datetime.now(UTC)
    refreshed = False
    if tokens.expires_at is not None and tokens.expires_at < now + REFRESH_MARGIN:
        try:
            fresh = await refresh_connection(session, connections, connection)
        except ProviderUnavailable as exc:
            if tokens.expires_at <= now:
                raise HandoutRefused(
                    502, "provider_error", "The provider did not refresh the expired token", details
                ) from exc
            fresh = tokens  # still valid for a few minutes: better than nothing
        if fresh is None:
            raise HandoutRefused(409, "reauth_required", "The provider refused to refresh the token", details)
        refreshed = fresh is not tokens
        tokens = fresh
    connection.last_used_at = now
    session.add(connection)
    await publish(
        session,
        connections,
        CONNECTIONS_ACCESS_TOKEN_ISSUED,
        AccessTokenIssued(
            connection_id=str(connection.id),
            user_id=connection.user_id,
            provider=provider,
            caller=caller,
            purpose=purpose,
            refreshed=refreshed,
            issued_at=now,
            actor=Actor(type="system", id=caller),
        ),
        subject=connection.user_id,
    )
    log.info(
        "access_token_issued",
        caller=caller,
        purpose=purpose,
        user_id=connection.user_id,
        provider=provider,
        refreshed=refreshed,
    )
    return IssuedToken(connection, tokens, refreshed)


async def record_token_rejection(
    session: AsyncSession,
    connections: Connections,
    *,
    caller: str,
    connection_id: str,
    provider: str,
    reason: str,
) -> ProviderConnection:
    """The provider refused a token this service handed out: the connection is marked `reauth_required`
    (published, for the app to prompt the athlete) and hands out nothing more until the athlete links
    again. Idempotent, as several pushes may meet the same refusal: a connection that no longer hands
    out tokens (already `reauth_required`, or `revoked`) is left as it is and nothing is published.
    404 for a connection that does not exist or is not to this provider."""
    try:
        key: uuid.UUID | None = uuid.UUID(connection_id)
    except ValueError:
        key = None
    # Locked: concurrent reports of one refusal publish it once.
    connection = await repository.get_connection_by_id_for_update(session, key) if key else None
    if connection is None or connection.provider != provider:
        raise NotFound(
            "No such connection to this provider",
            code="connection_not_found",
            details={"connection_id": connection_id, "provider": provider},
        )
    marked = connection.status == "active"
    if marked:
        await require_reauth(session, connections, connection, reason)
    log.info(
        "token_rejection_reported",
        caller=caller,
        connection_id=str(connection.id),
        user_id=connection.user_id,
        provider=provider,
        reason=reason,
        marked=marked,
        status=connection.status,
    )
    return connection
