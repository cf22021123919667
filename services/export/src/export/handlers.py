"""Kafka subscribers of the export service."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from export import service
from export.resources import settings_of
from relay_contracts import Envelope
from relay_contracts.catalog import (
    IDENTITY_PROFILE_UPDATED,
    IDENTITY_USER_DELETED,
    PLANNING_SESSION_CHANGED,
    PLANNING_SESSION_COMPLETED,
    PLANNING_SESSION_SCHEDULED,
)
from relay_contracts.events.identity import ProfileUpdated, UserDeleted
from relay_contracts.events.planning import SessionChanged, SessionCompleted, SessionScheduled
from relay_contracts.topics import IDENTITY_EVENTS, PLANNING_EVENTS
from relay_platform.consumers import Handler
from relay_platform.service import Runtime


async def on_profile_updated(envelope: Envelope, session: AsyncSession) -> None:
    """Keeps the profile; upcoming pushed workouts whose targets it changes are pushed again."""
    await service.record_profile(session, ProfileUpdated.model_validate(envelope.data), datetime.now(UTC))


async def on_user_deleted(envelope: Envelope, session: AsyncSession) -> None:
    """Erases everything about the athlete."""
    await service.erase_athlete(session, UserDeleted.model_validate(envelope.data))


IDENTITY_EVENT_HANDLERS: dict[str, Handler] = {
    IDENTITY_PROFILE_UPDATED.type: on_profile_updated,
    IDENTITY_USER_DELETED.type: on_user_deleted,
}


def planning_handlers(auto_export_days: int) -> dict[str, Handler]:
    async def on_session_scheduled(envelope: Envelope, session: AsyncSession) -> None:
        scheduled = SessionScheduled.model_validate(envelope.data)
        await service.record_scheduled(
            session, scheduled, envelope.occurred_at, datetime.now(UTC), auto_export_days
        )

    async def on_session_changed(envelope: Envelope, session: AsyncSession) -> None:
        """Pushed workouts follow their session: updated, replaced or removed."""
        await service.record_changed(
            session, SessionChanged.model_validate(envelope.data), envelope.occurred_at
        )

    async def on_session_completed(envelope: Envelope, session: AsyncSession) -> None:
        await service.queue_next_day(
            session, SessionCompleted.model_validate(envelope.data), datetime.now(UTC)
        )

    return {
        PLANNING_SESSION_SCHEDULED.type: on_session_scheduled,
        PLANNING_SESSION_CHANGED.type: on_session_changed,
        PLANNING_SESSION_COMPLETED.type: on_session_completed,
    }


def subscribe(runtime: Runtime) -> None:
    runtime.consumers.subscribe("identity-events", (IDENTITY_EVENTS.name,), IDENTITY_EVENT_HANDLERS)
    runtime.consumers.subscribe(
        "planning-events", (PLANNING_EVENTS.name,), planning_handlers(settings_of(runtime).auto_export_days)
    )
