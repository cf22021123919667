"""Kafka subscribers of the planning service."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from planning import service, training_load
from relay_contracts import Envelope
from relay_contracts.catalog import (
    IDENTITY_PROFILE_UPDATED,
    IDENTITY_USER_DELETED,
    INGESTION_ACTIVITY_DELETED,
    INGESTION_ACTIVITY_MERGED,
    INGESTION_ACTIVITY_UPSERTED,
)
from relay_contracts.events.identity import ProfileUpdated, UserDeleted
from relay_contracts.events.ingestion import ActivityDeleted, ActivityMerged, ActivityUpserted
from relay_contracts.topics import IDENTITY_EVENTS, INGESTION_EVENTS
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


def activity_handlers(topic_prefix: str) -> dict[str, Handler]:
    async def on_activity_upserted(envelope: Envelope, session: AsyncSession) -> None:
        """A recorded workout completes the planned session it matches and adds to the training load."""
        activity = ActivityUpserted.model_validate(envelope.data)
        await service.complete_from_activity(session, activity, topic_prefix=topic_prefix)
        await training_load.record_activity(session, activity)

    async def on_activity_deleted(envelope: Envelope, session: AsyncSession) -> None:
        await training_load.forget_activity(session, ActivityDeleted.model_validate(envelope.data))

    async def on_activity_merged(envelope: Envelope, session: AsyncSession) -> None:
        await training_load.forget_duplicate(session, ActivityMerged.model_validate(envelope.data))

    return {
        INGESTION_ACTIVITY_UPSERTED.type: on_activity_upserted,
        INGESTION_ACTIVITY_DELETED.type: on_activity_deleted,
        INGESTION_ACTIVITY_MERGED.type: on_activity_merged,
    }


def subscribe(runtime: Runtime) -> None:
    runtime.consumers.subscribe("identity-events", (IDENTITY_EVENTS.name,), IDENTITY_EVENT_HANDLERS)
    runtime.consumers.subscribe(
        "activities", (INGESTION_EVENTS.name,), activity_handlers(runtime.settings.kafka_topic_prefix)
    )
