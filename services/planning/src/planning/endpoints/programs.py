"""Seed 001, section Programme."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Path

from planning import library, onboarding, programs, replanning, repository, sessions
from planning.endpoints import Now
from planning.models import Goal, Program, ProgramWeek, TrainingSession
from planning.recalculation import Trigger
from planning.schemas import (
    Changes,
    CurrentProgram,
    CurrentProgramResponse,
    GoalOut,
    Overview,
    OverviewResponse,
    OverviewTotals,
    PhaseOut,
    ProgramDetail,
    ProgramDetailResponse,
    ProgramStats,
    ProgressOut,
    RecalculateResponse,
    RecalculationOut,
    TemplateRef,
    Volume,
    WeekDetail,
    WeekDetailResponse,
    WeekSession,
    WeekSummary,
)
from relay_contracts.events.common import Actor
from relay_platform.auth import CurrentAthlete
from relay_platform.db import SessionDep
from relay_platform.errors import Conflict, NotFound
from relay_platform.web import TopicPrefix

router = APIRouter(prefix="/api/program", tags=["program"])

ProgramId = Annotated[str, Path(min_length=1, max_length=64)]


def _goal_out(goal: Goal | None, program: Program, today_days: int | None) -> GoalOut:
    if goal is None:
        return GoalOut(event_name="", event_date=program.end_date, distance_type="")
    return GoalOut(
        event_name=goal.event_name,
        event_date=goal.event_date,
        distance_type=goal.distance_type,
        days_remaining=today_days,
        target_time=goal.target_time_s,
        event_location=goal.event_location,
    )


def _hours(rows: list[TrainingSession], *, actual: bool) -> float:
    minutes = sum(
        (row.actual_duration or row.duration_planned) if actual else row.duration_planned
        for row in rows
        if not actual or row.status == "completed"
    )
    return round(minutes / 60, 1)


def _volume(rows: list[TrainingSession], *, actual: bool) -> Volume:
    chosen = [row for row in rows if not actual or row.status == "completed"]

    def metres(sport: str) -> float:
        return sum(
            (
                (row.actual_distance if actual and row.actual_distance is not None else row.distance_planned)
                or 0
            )
            for row in chosen
            if row.sport == sport
        )

    return Volume(
        hours=_hours(rows, actual=actual),
        swim_m=round(metres("swim")),
        bike_km=round(metres("bike") / 1000, 1),
        run_km=round(metres("run") / 1000, 1),
    )


@router.get("/current", summary="The athlete's active program")
async def get_current(athlete: CurrentAthlete, session: SessionDep, now: Now) -> CurrentProgramResponse:
    program = await sessions.active_or_404(session, athlete.sub)
    today = onboarding.local_today(await repository.get_profile(session, athlete.sub), now)
    goal = await repository.get_goal(session, athlete.sub, program.goal_id)
    rows = await repository.sessions_of(session, program.id)
    done = _volume(rows, actual=True)
    week = programs.current_week_number(program, today)
    return CurrentProgramResponse(
        program=CurrentProgram(
            id=program.id,
            status=program.status,
            goal=_goal_out(goal, program, max((program.end_date - today).days, 0)),
            progress=ProgressOut(
                current_week=week,
                total_weeks=program.total_weeks,
                current_phase=programs.phase_of_week(program, week),
                completion_pct=round(100 * max(week - 1, 0) / program.total_weeks, 1),
            ),
            stats=ProgramStats(
                total_swim_m=done.swim_m,
                total_bike_km=round(done.bike_km),
                total_run_km=round(done.run_km),
                total_hours=done.hours,
                avg_compliance=programs.compliance_of(rows, today),
            ),
        )
    )


@router.get("/{program_id}", summary="A program of the athlete")
async def get_program(
    athlete: CurrentAthlete, session: SessionDep, program_id: ProgramId, now: Now
) -> ProgramDetailResponse:
    program = await sessions.program_or_404(session, athlete.sub, program_id)
    today = onboarding.local_today(await repository.get_profile(session, athlete.sub), now)
    goal = await repository.get_goal(session, athlete.sub, program.goal_id)
    template = await library.find(session, program.template_id)
    return ProgramDetailResponse(
        program=ProgramDetail(
            id=program.id,
            goal=_goal_out(goal, program, max((program.end_date - today).days, 0)),
            template=TemplateRef(
                id=program.template_id,
                name=template.name if template else program.template_id,
                slug=template.slug if template else program.template_id,
                duration_weeks=template.duration_weeks if template else program.total_weeks,
            ),
            start_date=program.start_date,
            end_date=program.end_date,
            total_weeks=program.total_weeks,
            current_week=programs.current_week_number(program, today),
            status=program.status,
            phases=[PhaseOut(**phase) for phase in programs.phases_out(program)],
            weekly_hours_target=program.weekly_hours_target,
            last_recalc_at=program.last_recalc_at,
        )
    )


def _summary(week: ProgramWeek, rows: list[TrainingSession], today: date) -> WeekSummary:
    return WeekSummary(
        week_number=week.number,
        phase=week.phase,
        status=programs.week_status(week, today),
        planned_hours=_hours(rows, actual=False),
        actual_hours=_hours(rows, actual=True),
        compliance_rate=programs.compliance_of(rows, today),
        sessions_completed=sum(row.status == "completed" for row in rows),
        sessions_total=len(rows),
    )


@router.get("/{program_id}/overview", summary="Every week of a program, planned and done")
async def get_overview(
    athlete: CurrentAthlete, session: SessionDep, program_id: ProgramId, now: Now
) -> OverviewResponse:
    program = await sessions.program_or_404(session, athlete.sub, program_id)
    today = onboarding.local_today(await repository.get_profile(session, athlete.sub), now)
    rows = await repository.sessions_of(session, program.id)
    by_week: dict[int, list[TrainingSession]] = {}
    for row in rows:
        by_week.setdefault(row.week_number, []).append(row)
    weeks = [
        _summary(week, by_week.get(week.number, []), today)
        for week in await repository.weeks_of(session, program.id)
    ]
    return OverviewResponse(
        overview=Overview(
            program_id=program.id,
            weeks=weeks,
            totals=OverviewTotals(
                planned_hours=round(sum(w.planned_hours for w in weeks), 1),
                actual_hours=round(sum(w.actual_hours for w in weeks), 1),
                avg_compliance=programs.compliance_of(rows, today),
            ),
        )
    )


@router.get("/{program_id}/week/{number}", summary="One week of a program, with its sessions")
async def get_week(
    athlete: CurrentAthlete,
    session: SessionDep,
    program_id: ProgramId,
    number: Annotated[int, Path(ge=1, le=60)],
    now: Now,
) -> WeekDetailResponse:
    program = await sessions.program_or_404(session, athlete.sub, program_id)
    today = onboarding.local_today(await repository.get_profile(session, athlete.sub), now)
    week = next((w for w in await repository.weeks_of(session, program.id) if w.number == number), None)
    if week is None:
        raise NotFound(
            "no such week in the program", details={"week": number, "total_weeks": program.total_weeks}
        )
    rows = await repository.sessions_of(session, program.id, number)
    return WeekDetailResponse(
        week=WeekDetail(
            id=week.id,
            program_id=program.id,
            week_number=week.number,
            phase=week.phase,
            status=programs.week_status(week, today),
            start_date=week.start_date,
            end_date=week.start_date + timedelta(days=6),
            planned=_volume(rows, actual=False),
            actual=_volume(rows, actual=True),
            sessions=[week_session(row) for row in rows],
            compliance_rate=programs.compliance_of(rows, today),
            recalc_notes=week.recalc_notes,
        )
    )


@router.post("/{program_id}/recalculate", summary="Recalculates the program's upcoming weeks now")
async def post_recalculate(
    athlete: CurrentAthlete, session: SessionDep, program_id: ProgramId, now: Now, topic_prefix: TopicPrefix
) -> RecalculateResponse:
    program = await sessions.program_or_404(session, athlete.sub, program_id)
    if program.status != "active":
        raise Conflict("only the active program is recalculated", details={"status": program.status})
    today = onboarding.local_today(await repository.get_profile(session, athlete.sub), now)
    record = await replanning.replan(
        session,
        program,
        Trigger(kind="weekly"),
        today,
        now,
        by="manual",
        actor=Actor(type="athlete", id=athlete.sub),
        topic_prefix=topic_prefix,
    )
    return RecalculateResponse(
        recalculation=RecalculationOut(
            triggered_at=now, status="completed", changes=Changes.model_validate(record.changes)
        )
    )


def week_session(row: TrainingSession) -> WeekSession:
    return WeekSession(
        id=row.id,
        day_of_week=(row.scheduled_date.weekday() + 1) % 7,
        scheduled_date=row.scheduled_date,
        sport=row.sport,
        session_type=row.session_type,
        title=row.title,
        duration_planned=row.duration_planned,
        status=row.status,
        actual_duration=row.actual_duration,
    )
