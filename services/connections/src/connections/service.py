"""Use cases of the connections API and of the events the service consumes: an athlete's connections
(list, pause, disconnect), what providers report about accounts (notifications, deauthorizations), and
the erasure of an athlete. Synchronisations are in `syncs.py`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from connections import deauthorizations, repository
from connections.events import publish
from connections.models import ProviderConnection
from connections.providers.base import ProviderError
from connections.resources import Connections
from connections.tokens import open_tokens
from relay_contracts.catalog import (
    CONNECTIONS_CONNECTION_LINKED,
    CONNECTIONS_CONNECTION_REVOKED,
    CONNECTIONS_CONNECTION_UPDATED,
)
from relay_contracts.events.common import Actor
from relay_contracts.events.connections import (
    ConnectionLinked,
    ConnectionRevoked,
    ConnectionUpdated,
)
from relay_contracts.events.identity import UserDeleted
from relay_contracts.events.ingestion import (
    ApiKeyUsed,
    WebhookReceived,
)
from relay_platform.errors import NotFound
from relay_platform.logging import get_logger
from relay_platform.outbox import forget_published

log = get_logger(__name__)

HEALTH_BRIDGE = "health_bridge"


# The athlete's connections


async def list_connections(session: AsyncSession, user_id: str) -> list[ProviderConnection]:
    return await repository.connections_of(session, user_id)


async def athlete_connection(session: AsyncSession, user_id: str, connection_id: str) -> ProviderConnection:
    """The athlete's connection; 404 for anyone else's, as for one that does not exist."""
    try:
        key = uuid.UUID(connection_id)
    except ValueError:
        key = None
    connection = await repository.get_connection(session, user_id, key) if key else None
    if connection is None:
        raise NotFound(
            "No such connection", code="connection_not_found", details={"connection_id": connection_id}
        )
    return connection


async def connection_to_provider(session: AsyncSession, user_id: str, provider: str) -> ProviderConnection:
    connection = await repository.get_connection_by_provider(session, user_id, provider)
    if connection is None:
        raise NotFound(
            f"No connection to {provider}", code="connection_not_found", details={"provider": provider}
        )
    return connection


async def toggle(
    session: AsyncSession, connections: Connections, user_id: str, connection_id: str, is_active: bool | None
) -> ProviderConnection:
    """Pauses or resumes the connection (flips it when `is_active` is not given). Asking for the state it
    is already in changes nothing, and nothing is published."""
    connection = await athlete_connection(session, user_id, connection_id)
    wanted = (not connection.is_active) if is_active is None else is_active
    if wanted == connection.is_active:
        return connection
    connection.is_active = wanted
    connection.updated_at = datetime.now(UTC)
    session.add(connection)
    await publish(
        session,
        connections,
        CONNECTIONS_CONNECTION_UPDATED,
        ConnectionUpdated(
            connection_id=str(connection.id),
            user_id=user_id,
            provider=connection.provider,
            changed=["is_active"],
            is_active=connection.is_active,
            status=connection.status,  # type: ignore[arg-type]
            actor=Actor(type="athlete", id=user_id),
        ),
        subject=user_id,
    )
    return connection


@dataclass(frozen=True)
class Disconnected:
    provider: str
    revoked_at_provider: bool


async def disconnect(
    session: AsyncSession, connections: Connections, user_id: str, connection_id: str
) -> Disconnected:
    """Withdraws Relay's grant at the provider where it can, then deletes the connection and its history,
    and asks every service to erase that provider's data (the providers' terms, Strava's first)."""
    connection = await athlete_connection(session, user_id, connection_id)
    revoked = await revoke_at_provider(connections, connection)
    await repository.delete_connection(session, connection)
    await publish(
        session,
        connections,
        CONNECTIONS_CONNECTION_REVOKED,
        ConnectionRevoked(
            connection_id=str(connection.id),
            user_id=user_id,
            provider=connection.provider,
            provider_user_id=connection.provider_user_id,
            reason="disconnected",
            erase_provider_data=True,
            revoked_at_provider=revoked,
            at=datetime.now(UTC),
            actor=Actor(type="athlete", id=user_id),
        ),
        subject=user_id,
    )
    log.info(
        "provider_disconnected", user_id=user_id, provider=connection.provider, revoked_at_provider=revoked
    )
    return Disconnected(connection.provider, revoked)


async def revoke_at_provider(connections: Connections, connection: ProviderConnection) -> bool:
    """Asks the provider to withdraw Relay's grant. A failure does not keep the athlete linked: it is
    logged, and the grant dies with the tokens Relay forgets."""
    client = connections.providers.oauth(connection.provider)
    tokens = open_tokens(connections.keyring, connection) if connection.status == "active" else None
    if client is None or tokens is None:
        return False
    try:
        return await client.revoke(tokens, connection.provider_user_id)
    except ProviderError as exc:
        log.warning(
            "provider_revocation_failed",
            provider=connection.provider,
            user_id=connection.user_id,
            status=exc.status,
        )
        return False


# What providers report


def is_deauthorization(notification: WebhookReceived) -> bool:
    """A provider told us the athlete withdrew Relay's access: Strava as an athlete update
    `authorized: "false"`, others as a `deauthorize` notification."""
    if notification.aspect_type == "deauthorize":
        return True
    return (
        notification.object_type == "athlete"
        and str(notification.updates.get("authorized", "")).lower() == "false"
    )


async def record_provider_notification(
    session: AsyncSession, connections: Connections, notification: WebhookReceived
) -> None:
    """Counts the notification; a deauthorization is acted on (`deauthorizations`), once confirmed with
    the provider when its webhooks prove nothing (Strava's)."""
    deauthorized = is_deauthorization(notification)
    await repository.count_provider_notification(
        session,
        notification.provider,
        notification.owner_id,
        notification.event_time,
        deauthorized=deauthorized and not deauthorizations.needs_confirmation(notification.provider),
    )
    if deauthorized:
        await deauthorizations.on_deauthorization(
            session, connections, notification.provider, notification.owner_id
        )


async def on_api_key_used(session: AsyncSession, connections: Connections, used: ApiKeyUsed) -> None:
    """A bridge app (Apple Health, Google Fit) posted with the athlete's API key: the athlete's
    health-bridge connection exists from its first use on, and its last use is kept."""
    connection = await repository.get_connection_for_update(session, used.user_id, HEALTH_BRIDGE)
    if connection is not None:
        if connection.last_used_at is None or connection.last_used_at < used.used_at:
            connection.last_used_at = used.used_at
            session.add(connection)
        return
    connection = ProviderConnection(
        user_id=used.user_id,
        provider=HEALTH_BRIDGE,
        provider_user_id=used.user_id,
        auth_type="api_key",
        scopes=[],
        linked_at=used.used_at,
        last_used_at=used.used_at,
    )
    await repository.add_connection(session, connection)
    await publish(
        session,
        connections,
        CONNECTIONS_CONNECTION_LINKED,
        ConnectionLinked(
            connection_id=str(connection.id),
            user_id=used.user_id,
            provider=HEALTH_BRIDGE,
            provider_user_id=used.user_id,
            auth_type="api_key",
            scopes=[],
            relinked=False,
            linked_at=used.used_at,
            actor=Actor(type="athlete", id=used.user_id),
        ),
        subject=used.user_id,
    )


async def erase_athlete(session: AsyncSession, deleted: UserDeleted) -> None:
    """Deletes everything this service holds about an athlete who deleted their account: connections,
    tokens, sync history, link attempts, their provider accounts' activity, and the events about them
    it already relayed."""
    accounts = {
        (c.provider, c.provider_user_id) for c in await repository.connections_of(session, deleted.user_id)
    }
    if deleted.strava_athlete_id:
        accounts.add(("strava", deleted.strava_athlete_id))
    await repository.delete_connections_of(session, deleted.user_id)
    await repository.delete_link_attempts_of(session, deleted.user_id)
    for provider in sorted({provider for provider, _ in accounts}):
        await repository.delete_provider_accounts(
            session, provider, sorted(account for p, account in accounts if p == provider)
        )
    await forget_published(
        session, [deleted.user_id, *(f"{provider}:{account}" for provider, account in sorted(accounts))]
    )
    log.info("athlete_erased", user_id=deleted.user_id, provider_accounts=len(accounts))
