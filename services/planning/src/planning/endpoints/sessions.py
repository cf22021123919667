"""Seed 001, section Séances."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from planning import onboarding, programs, replanning, repository, sessions
from planning.endpoints import Now
from planning.endpoints.programs import week_session
from planning.models import TrainingSession
from planning.schemas import CompleteSessionRequest, FeedbackRequest, SkipRequest, Success, WeekSession
from planning.zones import heart_rate_zones
from relay_contracts.workouts import StructuredWorkout
from relay_platform.auth import CurrentAthlete
from relay_platform.db import SessionDep
from relay_platform.errors import NotFound
from relay_platform.web import TopicPrefix

router = APIRouter(prefix="/api/sessions", tags=["sessions"])

SessionId = Annotated[str, Path(min_length=1, max_length=64)]


class TodaySession(BaseModel):
    id: str
    sport: str
    session_type: str
    title: str
    duration_planned: int
    status: str
    objective: str
    summary: str


class TodayResponse(BaseModel):
    date: date
    sessions: list[TodaySession]


class WeekRef(BaseModel):
    number: int
    phase: str
    start_date: date
    end_date: date


class WeekStats(BaseModel):
    completed: int
    pending: int
    skipped: int


class WeekResponse(BaseModel):
    week: WeekRef | None
    sessions: list[WeekSession]
    stats: WeekStats


class SessionDetail(BaseModel):
    id: str
    program_id: str
    sport: str
    session_type: str
    title: str
    scheduled_date: date
    status: str
    objective: str
    duration_planned: int
    distance_planned: float | None
    indoor: bool
    pool_slot: str | None
    hr_zones: dict[str, dict[str, Any]]
    workout: StructuredWorkout
    workout_details: dict[str, Any]
    tips: list[str]
    strava_activity: str | None
    actual_duration: int | None
    actual_distance: float | None
    actual_avg_hr: int | None
    perceived_effort: int | None
    skip_reason: str | None
    completed_at: datetime | None


class SessionDetailResponse(BaseModel):
    session: SessionDetail


class CompletedSession(BaseModel):
    id: str
    status: str
    completed_at: datetime | None
    actual_duration: int | None
    actual_distance: float | None
    actual_avg_hr: int | None
    strava_activity_id: str | None


class CompletionStats(BaseModel):
    completed: int
    pending: int
    compliance_rate: float | None


class CompleteResponse(Success):
    session: CompletedSession
    week_stats: CompletionStats


class SkippedSession(BaseModel):
    id: str
    status: str
    skip_reason: str | None


class SkipResponse(Success):
    session: SkippedSession
    adjustment_triggered: bool


def _summary(workout: StructuredWorkout) -> str:
    """One line of the main set, like the seed's "6x1000m avec récup 2min"."""
    main = [item for item in workout.steps if item.type == "repeat"]
    if not main:
        return workout.name
    repeat = main[0]
    work = repeat.steps[0]
    if work.duration.kind == "distance" and work.duration.value:
        amount = f"{round(work.duration.value)}m"
    elif work.duration.kind == "time" and work.duration.value:
        amount = f"{round(work.duration.value / 60)}min"
    else:
        amount = work.name
    return f"{repeat.times}x{amount}"


def _details(
    workout: StructuredWorkout, max_hr: int | None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The seed's `workout_details` (warm-up, main sets, cool-down) and `hr_zones` views of the workout.
    A step targeting power or speed also gets the heart-rate range of its zone when max HR is known, so
    the athlete can follow it with a heart-rate strap alone."""
    items = [item.model_dump(mode="json") for item in workout.steps]
    first, last = workout.steps[0], workout.steps[-1]
    details: dict[str, Any] = {
        "warmup": items[0] if first.type == "step" and first.intensity == "warmup" else None,
        "main": [
            item
            for item, source in zip(items, workout.steps, strict=True)
            if not (source.type == "step" and source.intensity in ("warmup", "cooldown"))
        ],
        "cooldown": items[-1] if last.type == "step" and last.intensity == "cooldown" else None,
    }
    zones: dict[str, dict[str, Any]] = {}
    by_zone = heart_rate_zones(max_hr) if max_hr else {}
    for step in workout.flat_steps():
        target = step.target
        if target is None or step.intensity in zones:
            continue
        if target.kind == "heart_rate":
            zones[step.intensity] = {"zone": target.zone, "hr_range": [round(target.low), round(target.high)]}
        elif target.zone in by_zone:
            zones[step.intensity] = {"zone": target.zone, "hr_range": list(by_zone[target.zone])}
    return details, zones


def detail(row: TrainingSession, max_hr: int | None) -> SessionDetail:
    workout = StructuredWorkout.model_validate(row.workout)
    details, zones = _details(workout, max_hr)
    return SessionDetail(
        id=row.id,
        program_id=row.program_id,
        sport=row.sport,
        session_type=row.session_type,
        title=row.title,
        scheduled_date=row.scheduled_date,
        status=row.status,
        objective=row.objective,
        duration_planned=row.duration_planned,
        distance_planned=row.distance_planned,
        indoor=row.indoor,
        pool_slot=row.slot,
        hr_zones=zones,
        workout=workout,
        workout_details=details,
        tips=row.tips,
        strava_activity=row.activity_id,
        actual_duration=row.actual_duration,
        actual_distance=row.actual_distance,
        actual_avg_hr=row.actual_avg_hr,
        perceived_effort=row.perceived_effort,
        skip_reason=row.skip_reason,
        completed_at=row.completed_at,
    )


async def _today(session: SessionDep, user_id: str, now: datetime) -> date:
    return onboarding.local_today(await repository.get_profile(session, user_id), now)


@router.get("/today", summary="The athlete's sessions of the day")
async def get_today(athlete: CurrentAthlete, session: SessionDep, now: Now) -> TodayResponse:
    today = await _today(session, athlete.sub, now)
    rows = await sessions.on_day(session, athlete.sub, today)
    return TodayResponse(
        date=today,
        sessions=[
            TodaySession(
                id=row.id,
                sport=row.sport,
                session_type=row.session_type,
                title=row.title,
                duration_planned=row.duration_planned,
                status=row.status,
                objective=row.objective,
                summary=_summary(StructuredWorkout.model_validate(row.workout)),
            )
            for row in rows
        ],
    )


@router.get("/week", summary="The sessions of the current week (or of `week_id`)")
async def get_week(
    athlete: CurrentAthlete,
    session: SessionDep,
    now: Now,
    week_id: Annotated[str | None, Query(max_length=64)] = None,
) -> WeekResponse:
    program = await sessions.active_or_404(session, athlete.sub)
    weeks = await repository.weeks_of(session, program.id)
    if week_id is not None:
        week = next((w for w in weeks if w.id == week_id), None)
        if week is None:
            raise NotFound("no such week in the active program", details={"week_id": week_id})
    else:
        today = await _today(session, athlete.sub, now)
        number = programs.current_week_number(program, today)
        week = next((w for w in weeks if w.number == number), None)
    rows = await repository.sessions_of(session, program.id, week.number) if week else []
    return WeekResponse(
        week=WeekRef(
            number=week.number,
            phase=week.phase,
            start_date=week.start_date,
            end_date=week.start_date + timedelta(days=6),
        )
        if week
        else None,
        sessions=[week_session(row) for row in rows],
        stats=WeekStats(
            completed=sum(row.status == "completed" for row in rows),
            pending=sum(row.status == "pending" for row in rows),
            skipped=sum(row.status == "skipped" for row in rows),
        ),
    )


@router.get("/{session_id}", summary="A session in full: objective, structured workout, tips, outcome")
async def get_session(
    athlete: CurrentAthlete, session: SessionDep, session_id: SessionId
) -> SessionDetailResponse:
    row = await sessions.session_or_404(session, athlete.sub, session_id)
    program = await repository.get_program(session, athlete.sub, row.program_id)
    max_hr = replanning.thresholds_of(program).max_hr if program else None
    return SessionDetailResponse(session=detail(row, max_hr))


@router.patch("/{session_id}/complete", summary="Marks a session done")
async def patch_complete(
    athlete: CurrentAthlete,
    session: SessionDep,
    session_id: SessionId,
    body: CompleteSessionRequest,
    now: Now,
    topic_prefix: TopicPrefix,
) -> CompleteResponse:
    row = await sessions.complete(session, athlete.sub, session_id, body, now, topic_prefix=topic_prefix)
    await session.flush()
    week_rows = await repository.sessions_of(session, row.program_id, row.week_number)
    today = await _today(session, athlete.sub, now)
    return CompleteResponse(
        session=CompletedSession(
            id=row.id,
            status=row.status,
            completed_at=row.completed_at,
            actual_duration=row.actual_duration,
            actual_distance=row.actual_distance,
            actual_avg_hr=row.actual_avg_hr,
            strava_activity_id=row.activity_id,
        ),
        week_stats=CompletionStats(
            completed=sum(r.status == "completed" for r in week_rows),
            pending=sum(r.status == "pending" for r in week_rows),
            compliance_rate=programs.compliance_of(week_rows, today),
        ),
    )


@router.patch("/{session_id}/skip", summary="Marks a session skipped, with the reason")
async def patch_skip(
    athlete: CurrentAthlete,
    session: SessionDep,
    session_id: SessionId,
    body: SkipRequest,
    now: Now,
    topic_prefix: TopicPrefix,
) -> SkipResponse:
    today = await _today(session, athlete.sub, now)
    row, adjust = await sessions.skip(
        session, athlete.sub, session_id, body, today, now, topic_prefix=topic_prefix
    )
    return SkipResponse(
        session=SkippedSession(id=row.id, status=row.status, skip_reason=row.skip_reason),
        adjustment_triggered=adjust,
    )


@router.post("/{session_id}/feedback", summary="How the session felt")
async def post_feedback(
    athlete: CurrentAthlete, session: SessionDep, session_id: SessionId, body: FeedbackRequest, now: Now
) -> Success:
    await sessions.give_feedback(session, athlete.sub, session_id, body, now)
    return Success()
