"""Kafka subscribers of the ingestion service."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion import service
from relay_contracts import Envelope
from relay_contracts.catalog import (
    CONNECTIONS_CONNECTION_REVOKED,
    IDENTITY_API_KEY_CREATED,
    IDENTITY_API_KEY_REVOKED,
    IDENTITY_USER_DELETED,
)
from relay_contracts.events.connections import ConnectionRevoked
from relay_contracts.events.identity import ApiKeyCreated, ApiKeyRevoked, UserDeleted
from relay_contracts.topics import CONNECTIONS_EVENTS, IDENTITY_EVENTS
from relay_platform.consumers import Handler
from relay_platform.service import Runtime


async def on_api_key_created(envelope: Envelope, session: AsyncSession) -> None:
    """The key's digest is kept, so that bridge uploads are verified without asking identity."""
    await service.record_api_key_created(session, ApiKeyCreated.model_validate(envelope.data))


async def on_api_key_revoked(envelope: Envelope, session: AsyncSession) -> None:
    await service.record_api_key_revoked(session, ApiKeyRevoked.model_validate(envelope.data))


async def on_user_deleted(envelope: Envelope, session: AsyncSession) -> None:
    """Erases the athlete's API keys, bridge uploads and Strava notifications."""
    await service.erase_athlete(session, UserDeleted.model_validate(envelope.data))


async def on_connection_revoked(envelope: Envelope, session: AsyncSession) -> None:
    """Erases what a disconnected or deauthorized provider account sent, as the provider's terms ask."""
    await service.erase_provider_account(session, ConnectionRevoked.model_validate(envelope.data))


IDENTITY_EVENT_HANDLERS: dict[str, Handler] = {
    IDENTITY_API_KEY_CREATED.type: on_api_key_created,
    IDENTITY_API_KEY_REVOKED.type: on_api_key_revoked,
    IDENTITY_USER_DELETED.type: on_user_deleted,
}


CONNECTIONS_EVENT_HANDLERS: dict[str, Handler] = {CONNECTIONS_CONNECTION_REVOKED.type: on_connection_revoked}


def subscribe(runtime: Runtime) -> None:
    runtime.consumers.subscribe("identity-events", (IDENTITY_EVENTS.name,), IDENTITY_EVENT_HANDLERS)
    runtime.consumers.subscribe("connections-events", (CONNECTIONS_EVENTS.name,), CONNECTIONS_EVENT_HANDLERS)
