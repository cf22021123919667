"""Ingested activities complete the planned sessions they match, once, whatever the redeliveries."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from planning import onboarding, repository
from planning.models import OutboxMessage, TrainingSession
from planning.schemas import AvailabilityRequest, CompleteRequest, GoalRequest
from relay_contracts import Envelope
from relay_contracts.catalog import INGESTION_ACTIVITY_UPSERTED
from relay_contracts.events.ingestion import ActivityUpserted

pytestmark = pytest.mark.integration

Deliver = Callable[[Envelope], Awaitable[None]]
NOW = datetime.now(UTC)


async def program_for(sessionmaker: async_sessionmaker[AsyncSession], user_id: str) -> list[TrainingSession]:
    async with sessionmaker() as session, session.begin():
        goal = GoalRequest(
            event_name="Half Vichy", event_date=(NOW + timedelta(weeks=16)).date(), distance_type="70.3"
        )
        await onboarding.set_goal(session, user_id, goal, NOW)
        availability = AvailabilityRequest(weekly_hours=8, unavailable_days=[], preferred_long_day=0)
        await onboarding.set_availability(session, user_id, availability, NOW)
        program = await onboarding.complete(session, user_id, CompleteRequest(), NOW)
        return await repository.sessions_of(session, program.id, 1)


def recorded(planned: TrainingSession, minutes: float, **changes: object) -> Envelope:
    start = datetime.combine(planned.scheduled_date, time(6, 30), tzinfo=UTC)
    activity = ActivityUpserted(
        activity_id=f"act_{uuid.uuid4().hex[:12]}",
        user_id=planned.user_id,
        provider="garmin",
        external_id=uuid.uuid4().hex,
        created=True,
        revision=1,
        sport=planned.sport,
        sport_type=planned.sport,
        start_time=start,
        utc_offset_seconds=0,
        moving_time_s=round(minutes * 60),
        elapsed_time_s=round(minutes * 60) + 60,
        distance_m=12_000 if planned.sport == "run" else None,
        average_heartrate=151.4,
    )
    return INGESTION_ACTIVITY_UPSERTED.envelope(activity.model_copy(update=changes), subject=planned.user_id)


async def stored(sessionmaker: async_sessionmaker[AsyncSession], planned: TrainingSession) -> TrainingSession:
    async with sessionmaker() as session:
        row = await repository.get_session(session, planned.user_id, planned.id)
    assert row is not None
    return row


async def completions(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        types = (await session.exec(select(OutboxMessage.event_type))).all()
    return sum(t == "planning.session.completed" for t in types)


async def test_a_recorded_workout_completes_the_session_planned_that_day_once(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    week = await program_for(sessionmaker, "ath-1")
    planned = next(row for row in week if row.sport == "run")
    event = recorded(planned, planned.duration_planned * 1.04)
    await deliver(event)
    await deliver(event)  # redelivered: nothing more

    done = await stored(sessionmaker, planned)
    assert done.status == "completed"
    assert done.activity_id == event.data["activity_id"]
    assert done.actual_duration == round(planned.duration_planned * 1.04)
    assert done.actual_avg_hr == 151
    assert await completions(sessionmaker) == 1


async def test_a_workout_far_from_the_plan_or_a_copy_from_another_provider_completes_nothing(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    week = await program_for(sessionmaker, "ath-1")
    planned = next(row for row in week if row.sport == "run")
    await deliver(recorded(planned, planned.duration_planned * 0.2))  # a 20 % jog is not the session
    await deliver(recorded(planned, planned.duration_planned, duplicate_of="act_shown_from_strava"))
    await deliver(recorded(planned, planned.duration_planned, user_id="someone-else"))

    assert (await stored(sessionmaker, planned)).status == "pending"
    assert await completions(sessionmaker) == 0
