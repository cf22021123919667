"""Kafka subscribers of the ingestion service."""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion import links, service
from ingestion.config import Settings
from ingestion.resources import settings_of
from relay_contracts import Envelope
from relay_contracts.catalog import (
    CONNECTIONS_CONNECTION_LINKED,
    CONNECTIONS_CONNECTION_REAUTH_REQUIRED,
    CONNECTIONS_CONNECTION_REVOKED,
    CONNECTIONS_CONNECTION_UPDATED,
    CONNECTIONS_SYNC_REQUESTED,
    IDENTITY_API_KEY_CREATED,
    IDENTITY_API_KEY_REVOKED,
    IDENTITY_USER_DELETED,
    PLANNING_SESSION_COMPLETED,
)
from relay_contracts.events.connections import (
    ConnectionLinked,
    ConnectionReauthRequired,
    ConnectionRevoked,
    ConnectionUpdated,
    SyncRequested,
)
from relay_contracts.events.identity import ApiKeyCreated, ApiKeyRevoked, UserDeleted
from relay_contracts.events.planning import SessionCompleted
from relay_contracts.topics import CONNECTIONS_EVENTS, IDENTITY_EVENTS, PLANNING_EVENTS
from relay_platform.consumers import Handler
from relay_platform.service import Runtime


async def on_api_key_created(envelope: Envelope, session: AsyncSession) -> None:
    """The key's digest is kept, so that bridge uploads are verified without asking identity."""
    await service.record_api_key_created(session, ApiKeyCreated.model_validate(envelope.data))


async def on_api_key_revoked(envelope: Envelope, session: AsyncSession) -> None:
    await service.record_api_key_revoked(session, ApiKeyRevoked.model_validate(envelope.data))


async def on_connection_updated(envelope: Envelope, session: AsyncSession) -> None:
    await links.on_updated(session, ConnectionUpdated.model_validate(envelope.data))


async def on_connection_reauth_required(envelope: Envelope, session: AsyncSession) -> None:
    await links.on_reauth_required(session, ConnectionReauthRequired.model_validate(envelope.data))


async def on_user_deleted(envelope: Envelope, session: AsyncSession) -> None:
    """Erases the athlete's API keys, uploads, notifications, links, syncs and activities."""
    await service.erase_athlete(session, UserDeleted.model_validate(envelope.data))


IDENTITY_EVENT_HANDLERS: dict[str, Handler] = {
    IDENTITY_API_KEY_CREATED.type: on_api_key_created,
    IDENTITY_API_KEY_REVOKED.type: on_api_key_revoked,
    IDENTITY_USER_DELETED.type: on_user_deleted,
}


def connections_event_handlers(settings: Settings) -> Mapping[str, Handler]:
    prefix = settings.kafka_topic_prefix

    async def on_connection_linked(envelope: Envelope, session: AsyncSession) -> None:
        """Keeps the link and schedules the backfill of the account's history."""
        await links.on_linked(session, ConnectionLinked.model_validate(envelope.data), settings)

    async def on_connection_revoked(envelope: Envelope, session: AsyncSession) -> None:
        """Stops reading the account, and erases what it sent when the provider's terms ask for it."""
        revoked = ConnectionRevoked.model_validate(envelope.data)
        await service.erase_provider_account(session, revoked)
        await links.on_revoked(session, revoked, topic_prefix=prefix)

    async def on_sync_requested(envelope: Envelope, session: AsyncSession) -> None:
        await links.on_sync_requested(session, SyncRequested.model_validate(envelope.data), settings)

    return {
        CONNECTIONS_CONNECTION_LINKED.type: on_connection_linked,
        CONNECTIONS_CONNECTION_UPDATED.type: on_connection_updated,
        CONNECTIONS_CONNECTION_REAUTH_REQUIRED.type: on_connection_reauth_required,
        CONNECTIONS_CONNECTION_REVOKED.type: on_connection_revoked,
        CONNECTIONS_SYNC_REQUESTED.type: on_sync_requested,
    }


async def on_session_completed(envelope: Envelope, session: AsyncSession) -> None:
    """An activity that completed a planned session shows which one."""
    await service.record_session_match(session, SessionCompleted.model_validate(envelope.data))


PLANNING_EVENT_HANDLERS: dict[str, Handler] = {PLANNING_SESSION_COMPLETED.type: on_session_completed}


def subscribe(runtime: Runtime) -> None:
    settings = settings_of(runtime)
    runtime.consumers.subscribe("identity-events", (IDENTITY_EVENTS.name,), IDENTITY_EVENT_HANDLERS)
    runtime.consumers.subscribe(
        "connections-events", (CONNECTIONS_EVENTS.name,), connections_event_handlers(settings)
    )
    runtime.consumers.subscribe("planning-events", (PLANNING_EVENTS.name,), PLANNING_EVENT_HANDLERS)
