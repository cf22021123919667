"""Kafka subscribers of the identity service."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from identity import repository
from identity.models import ActiveProgram
from relay_contracts import Envelope
from relay_contracts.catalog import (
    IDENTITY_USER_DELETED,
    INGESTION_API_KEY_USED,
    PLANNING_PROGRAM_ACTIVATED,
    PLANNING_PROGRAM_ENDED,
)
from relay_contracts.events.identity import UserDeleted
from relay_contracts.events.ingestion import ApiKeyUsed
from relay_contracts.events.planning import ProgramActivated, ProgramEnded
from relay_contracts.topics import IDENTITY_EVENTS, INGESTION_EVENTS, PLANNING_EVENTS
from relay_platform.outbox import forget_published
from relay_platform.service import Runtime


async def on_program_activated(envelope: Envelope, session: AsyncSession) -> None:
    program = ProgramActivated.model_validate(envelope.data)
    if await repository.user_by_id(session, program.user_id) is None:
        return  # the athlete deleted their account meanwhile
    await repository.save_active_program(
        session,
        ActiveProgram(
            user_id=program.user_id,
            program_id=program.program_id,
            distance_type=program.distance_type,
            event_date=program.event_date,
            activated_at=program.activated_at,
        ),
    )


async def on_program_ended(envelope: Envelope, session: AsyncSession) -> None:
    ended = ProgramEnded.model_validate(envelope.data)
    await repository.end_active_program(session, ended.user_id, ended.program_id)


async def on_api_key_used(envelope: Envelope, session: AsyncSession) -> None:
    used = ApiKeyUsed.model_validate(envelope.data)
    await repository.record_api_key_use(session, used.api_key_id, at=used.used_at)


async def on_user_deleted(envelope: Envelope, session: AsyncSession) -> None:
    """The account went when the athlete asked; once the deletion is on Kafka, the events about them
    that this service relayed are forgotten too."""
    deleted = UserDeleted.model_validate(envelope.data)
    await forget_published(session, [deleted.user_id])


def subscribe(runtime: Runtime) -> None:
    runtime.consumers.subscribe(
        "identity-events", (IDENTITY_EVENTS.name,), {IDENTITY_USER_DELETED.type: on_user_deleted}
    )
    runtime.consumers.subscribe(
        "program-read-model",
        (PLANNING_EVENTS.name,),
        {
            PLANNING_PROGRAM_ACTIVATED.type: on_program_activated,
            PLANNING_PROGRAM_ENDED.type: on_program_ended,
        },
    )
    runtime.consumers.subscribe(
        "api-key-use", (INGESTION_EVENTS.name,), {INGESTION_API_KEY_USED.type: on_api_key_used}
    )
