"""Kafka subscribers of the export service."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from export import service
from relay_contracts import Envelope
from relay_contracts.catalog import IDENTITY_PROFILE_UPDATED, IDENTITY_USER_DELETED
from relay_contracts.events.identity import ProfileUpdated, UserDeleted
from relay_contracts.topics import IDENTITY_EVENTS
from relay_platform.consumers import Handler
from relay_platform.service import Runtime


async def on_profile_updated(envelope: Envelope, session: AsyncSession) -> None:
    await service.record_profile(session, ProfileUpdated.model_validate(envelope.data))


async def on_user_deleted(envelope: Envelope, session: AsyncSession) -> None:
    """Erases the athlete's profile."""
    await service.erase_athlete(session, UserDeleted.model_validate(envelope.data))


IDENTITY_EVENT_HANDLERS: dict[str, Handler] = {
    IDENTITY_PROFILE_UPDATED.type: on_profile_updated,
    IDENTITY_USER_DELETED.type: on_user_deleted,
}


def subscribe(runtime: Runtime) -> None:
    runtime.consumers.subscribe("identity-events", (IDENTITY_EVENTS.name,), IDENTITY_EVENT_HANDLERS)
