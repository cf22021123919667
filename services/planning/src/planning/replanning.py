"""Applies a recalculation (`planning.recalculation`) to a stored program: sessions shortened, eased,
removed or added, week targets lowered, the change recorded and announced (what export needs to update
the workouts already on a device)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from planning import programs, repository
from planning.domain import Thresholds
from planning.models import Program, ProgramWeek, Recalculation, TrainingSession
from planning.recalculation import Recalculation as RecalculationResult
from planning.recalculation import SessionState, Trigger, WeekState, recalculate
from planning.workouts import build_workout, describe, estimated_distance_m
from relay_contracts import Envelope
from relay_contracts.catalog import (
    PLANNING_PROGRAM_RECALCULATED,
    PLANNING_SESSION_CHANGED,
    PLANNING_SESSION_SCHEDULED,
)
from relay_contracts.events.common import Actor
from relay_contracts.events.planning import ProgramRecalculated, SessionChanged
from relay_contracts.workouts import StructuredWorkout
from relay_platform.logging import get_logger
from relay_platform.outbox import add_events

log = get_logger(__name__)

TriggerName = Literal["skip", "low_compliance", "weekly", "manual"]


def thresholds_of(program: Program) -> Thresholds:
    stored: dict[str, Any] = program.inputs.get("thresholds", {})
    return Thresholds(**stored)


def _shape(row: TrainingSession, thresholds: Thresholds, session_type: str, minutes: int) -> None:
    """Gives the session its new type and duration, with the workout, texts and distance that go with it."""
    workout = build_workout(row.sport, session_type, minutes, thresholds)  # type: ignore[arg-type]
    title, objective, tips = describe(row.sport, session_type)  # type: ignore[arg-type]
    row.session_type = session_type
    row.duration_planned = minutes
    row.workout = workout.model_dump(mode="json")
    row.title, row.objective, row.tips = title, objective, list(tips)
    row.distance_planned = estimated_distance_m(workout, thresholds)


def _changed(
    row: TrainingSession, actor: Actor, thresholds: Thresholds, *, removed: bool = False
) -> SessionChanged:
    return SessionChanged(
        session_id=row.id,
        program_id=row.program_id,
        user_id=row.user_id,
        scheduled_date=row.scheduled_date,
        removed=removed,
        session_type=None if removed else row.session_type,
        title=None if removed else row.title,
        duration_minutes=None if removed else row.duration_planned,
        workout=None if removed else StructuredWorkout.model_validate(row.workout),
        thresholds=None if removed else programs.workout_thresholds(thresholds),
        actor=actor,
    )


async def _plan_around(
    session: AsyncSession, program: Program, today: date
) -> tuple[list[ProgramWeek], list[TrainingSession], list[WeekState]]:
    """The weeks every rule looks at, with their sessions: the last week that ended, the current week and
    the next one (weeks start on Mondays, so they all start between 13 days before today and 7 after)."""
    weeks = await repository.weeks_starting_between(
        session, program.id, today - timedelta(days=13), today + timedelta(days=7)
    )
    rows = await repository.sessions_of_weeks(session, program.id, [week.number for week in weeks])
    by_week: dict[int, list[TrainingSession]] = {}
    for row in rows:
        by_week.setdefault(row.week_number, []).append(row)
    states = [
        WeekState(
            number=week.number,
            phase=week.phase,  # type: ignore[arg-type]
            start_date=week.start_date,
            recovery=week.recovery,
            target_minutes=week.target_minutes,
            sessions=tuple(
                SessionState(
                    id=row.id,
                    date=row.scheduled_date,
                    sport=row.sport,  # type: ignore[arg-type]
                    session_type=row.session_type,  # type: ignore[arg-type]
                    duration_minutes=row.duration_planned,
                    status=row.status,  # type: ignore[arg-type]
                    skip_reason=row.skip_reason,  # type: ignore[arg-type]
                    actual_minutes=row.actual_duration,
                    order=row.position,
                )
                for row in by_week.get(week.number, [])
            ),
        )
        for week in weeks
    ]
    return weeks, rows, states


async def replan(
    session: AsyncSession,
    program: Program,
    trigger: Trigger,
    today: date,
    now: datetime,
    *,
    by: TriggerName,
    actor: Actor,
    topic_prefix: str = "",
) -> Recalculation:
    """Recalculates the program's upcoming weeks and applies the result; returns the recorded
    recalculation (its `changes` are the seed's)."""
    weeks, rows, states = await _plan_around(session, program, today)
    result = recalculate(states, today, trigger)
    return await _apply(
        session, program, result, weeks, rows, now, by=by, actor=actor, topic_prefix=topic_prefix
    )


async def review_week(
    session: AsyncSession, program: Program, today: date, now: datetime, *, topic_prefix: str = ""
) -> Recalculation | None:
    """The weekly review: the week that ended is looked at and the plan adjusted when it calls for it.
    A review that changes nothing is neither recorded nor announced."""
    weeks, rows, states = await _plan_around(session, program, today)
    result = recalculate(states, today, Trigger("weekly"))
    if result.unchanged and not result.week_targets:
        return None
    return await _apply(
        session,
        program,
        result,
        weeks,
        rows,
        now,
        by="weekly",
        actor=Actor(type="system"),
        topic_prefix=topic_prefix,
    )


async def _apply(
    session: AsyncSession,
    program: Program,
    result: RecalculationResult,
    weeks: list[ProgramWeek],
    rows: list[TrainingSession],
    now: datetime,
    *,
    by: TriggerName,
    actor: Actor,
    topic_prefix: str,
) -> Recalculation:
    thresholds = thresholds_of(program)
    by_id = {row.id: row for row in rows}
    events: list[Envelope] = []
    for change in result.changed:
        row = by_id[change.session_id]
        _shape(row, thresholds, change.session_type, change.duration_minutes)
        row.updated_at = now
        session.add(row)
        events.append(
            PLANNING_SESSION_CHANGED.envelope(_changed(row, actor, thresholds), subject=program.user_id)
        )
    for removed_id in result.removed:
        row = by_id[removed_id]
        events.append(
            PLANNING_SESSION_CHANGED.envelope(
                _changed(row, actor, thresholds, removed=True), subject=program.user_id
            )
        )
        await session.delete(row)
    for added in result.added:
        row = TrainingSession(
            id=programs.new_id("sess"),
            program_id=program.id,
            week_number=added.week_number,
            user_id=program.user_id,
            scheduled_date=added.date,
            position=1,
            sport=added.sport,
            session_type=added.session_type,
            title="",
            objective="",
            tips=[],
            duration_planned=added.duration_minutes,
            workout={},
        )
        _shape(row, thresholds, added.session_type, added.duration_minutes)
        session.add(row)
        events.append(
            PLANNING_SESSION_SCHEDULED.envelope(
                programs.scheduled(row, actor, thresholds), subject=program.user_id
            )
        )
    for week in weeks:
        if week.number in result.week_targets:
            week.target_minutes = result.week_targets[week.number]
            week.recalc_notes = result.rule
            session.add(week)
    changes = dict(result.changes)
    record = Recalculation(
        id=programs.new_id("recalc"), program_id=program.id, trigger=by, changes=changes, triggered_at=now
    )
    session.add(record)
    program.last_recalc_at = now
    session.add(program)
    events.append(
        PLANNING_PROGRAM_RECALCULATED.envelope(
            ProgramRecalculated(
                program_id=program.id, user_id=program.user_id, trigger=by, actor=actor, **changes
            ),
            subject=program.user_id,
        )
    )
    await add_events(session, events, topic_prefix=topic_prefix)
    log.info("program_recalculated", program_id=program.id, trigger=by, rule=result.rule, **changes)
    return record
