"""The athlete's sessions (seed 001, section Séances): read, completed, skipped, commented."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from planning import replanning, repository
from planning.models import Program, TrainingSession
from planning.recalculation import Trigger
from planning.schemas import CompleteSessionRequest, FeedbackRequest, SkipRequest
from relay_contracts.catalog import PLANNING_SESSION_COMPLETED, PLANNING_SESSION_SKIPPED
from relay_contracts.events.common import Actor
from relay_contracts.events.planning import SessionCompleted, SessionSkipped
from relay_platform.errors import Conflict, NotFound
from relay_platform.outbox import add_event

# Reasons after which the coming days are adjusted (seed: `adjustment_triggered`).
ADJUSTING_REASONS = frozenset({"fatigue", "illness", "injury"})


async def program_or_404(session: AsyncSession, user_id: str, program_id: str) -> Program:
    program = await repository.get_program(session, user_id, program_id)
    if program is None:
        raise NotFound("no such program", details={"program_id": program_id})
    return program


async def active_or_404(session: AsyncSession, user_id: str) -> Program:
    program = await repository.active_program(session, user_id)
    if program is None:
        raise NotFound("no active program: complete the onboarding first")
    return program


async def session_or_404(
    session: AsyncSession, user_id: str, session_id: str, *, for_update: bool = False
) -> TrainingSession:
    found = await repository.get_session(session, user_id, session_id, for_update=for_update)
    if found is None:
        raise NotFound("no such session", details={"session_id": session_id})
    return found


async def on_day(session: AsyncSession, user_id: str, day: date) -> list[TrainingSession]:
    program = await repository.active_program(session, user_id)
    if program is None:
        return []
    return await repository.sessions_between(session, program.id, day, day)


async def complete(
    session: AsyncSession,
    user_id: str,
    session_id: str,
    request: CompleteSessionRequest,
    now: datetime,
    *,
    topic_prefix: str = "",
) -> TrainingSession:
    """Marks the session done, with what the athlete tells of it; completing it again updates it."""
    row = await session_or_404(session, user_id, session_id, for_update=True)
    if row.status == "skipped":
        raise Conflict("the session was skipped", details={"session_id": session_id})
    first_time = row.status != "completed"
    row.status = "completed"
    row.completed_at = row.completed_at or now
    row.perceived_effort = (
        request.perceived_effort if request.perceived_effort is not None else row.perceived_effort
    )
    row.notes = request.notes if request.notes is not None else row.notes
    row.activity_id = request.strava_activity_id or row.activity_id
    row.actual_duration = request.actual_duration or row.actual_duration
    row.actual_distance = (
        request.actual_distance if request.actual_distance is not None else row.actual_distance
    )
    row.updated_at = now
    session.add(row)
    if first_time:
        await add_event(
            session,
            PLANNING_SESSION_COMPLETED.envelope(
                SessionCompleted(
                    session_id=row.id,
                    program_id=row.program_id,
                    user_id=user_id,
                    scheduled_date=row.scheduled_date,
                    completed_at=row.completed_at,
                    actual_duration_minutes=row.actual_duration,
                    actual_distance_m=row.actual_distance,
                    activity_id=row.activity_id,
                    actor=Actor(type="athlete", id=user_id),
                ),
                subject=user_id,
            ),
            topic_prefix=topic_prefix,
        )
    return row


async def skip(
    session: AsyncSession,
    user_id: str,
    session_id: str,
    request: SkipRequest,
    today: date,
    now: datetime,
    *,
    topic_prefix: str = "",
) -> tuple[TrainingSession, bool]:
    """Marks the session skipped; when the reason calls for it (fatigue, illness, injury), the coming
    days are adjusted at once. Returns the session and whether they were."""
    row = await session_or_404(session, user_id, session_id, for_update=True)
    if row.status == "completed":
        raise Conflict("the session is already completed", details={"session_id": session_id})
    changed = row.status != "skipped" or row.skip_reason != request.reason
    row.status = "skipped"
    row.skip_reason = request.reason
    row.skip_notes = request.notes
    row.updated_at = now
    session.add(row)
    if changed:
        await add_event(
            session,
            PLANNING_SESSION_SKIPPED.envelope(
                SessionSkipped(
                    session_id=row.id,
                    program_id=row.program_id,
                    user_id=user_id,
                    scheduled_date=row.scheduled_date,
                    reason=request.reason,
                    actor=Actor(type="athlete", id=user_id),
                ),
                subject=user_id,
            ),
            topic_prefix=topic_prefix,
        )
    adjust = changed and request.reason in ADJUSTING_REASONS
    if adjust:
        program = await program_or_404(session, user_id, row.program_id)
        if program.status == "active":
            await session.flush()
            await replanning.replan(
                session,
                program,
                Trigger(kind="skip", skip_reason=request.reason),
                today,
                now,
                by="skip",
                actor=Actor(type="athlete", id=user_id),
                topic_prefix=topic_prefix,
            )
    return row, adjust


async def give_feedback(
    session: AsyncSession, user_id: str, session_id: str, request: FeedbackRequest, now: datetime
) -> None:
    row = await session_or_404(session, user_id, session_id, for_update=True)
    row.feedback = {**request.model_dump(mode="json"), "given_at": now.isoformat()}
    if row.perceived_effort is None:
        row.perceived_effort = request.perceived_effort
    row.updated_at = now
    session.add(row)
