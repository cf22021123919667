"""Programs: generated from the onboarding's answers, stored with their weeks and sessions, and read by
the app (seed 001, section Programme)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from planning import domain, library, repository
from planning.generation import generate_program
from planning.matching import SessionOutcome, compliance
from planning.models import Goal, Program, ProgramWeek, TrainingSession
from planning.templates import recommend_template
from relay_contracts import Envelope
from relay_contracts.catalog import (
    PLANNING_PROGRAM_ACTIVATED,
    PLANNING_PROGRAM_ENDED,
    PLANNING_PROGRAM_GENERATED,
    PLANNING_SESSION_SCHEDULED,
)
from relay_contracts.events.common import Actor
from relay_contracts.events.planning import (
    PhaseSpan,
    ProgramActivated,
    ProgramEnded,
    ProgramGenerated,
    SessionScheduled,
)
from relay_contracts.workouts import WorkoutThresholds
from relay_platform.logging import get_logger
from relay_platform.outbox import add_events

log = get_logger(__name__)


def _json_ready(value: Any) -> Any:
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def inputs_record(inputs: domain.PlanInputs) -> dict[str, Any]:
    """What the program was generated from, kept with it (the same inputs give the same program)."""
    record: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(inputs), default=_json_ready))
    return record


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def phases_record(plan: domain.Program) -> list[dict[str, Any]]:
    return [
        {
            "name": phase.name,
            "first_week": phase.first_week,
            "last_week": phase.last_week,
            "start_date": phase.start_date.isoformat(),
        }
        for phase in plan.phases
    ]


def session_row(
    program: Program, week: domain.PlannedWeek, planned: domain.PlannedSession
) -> TrainingSession:
    slot = planned.slot
    return TrainingSession(
        id=new_id("sess"),
        program_id=program.id,
        week_number=week.number,
        user_id=program.user_id,
        scheduled_date=planned.date,
        position=planned.order,
        sport=planned.sport,
        session_type=planned.session_type,
        title=planned.title,
        objective=planned.objective,
        tips=list(planned.tips),
        duration_planned=planned.duration_minutes,
        distance_planned=planned.distance_m,
        indoor=planned.indoor,
        slot=f"{slot.start:%H:%M}-{slot.end:%H:%M}" if slot else None,
        workout=planned.workout.model_dump(mode="json"),
    )


async def create_program(
    session: AsyncSession,
    user_id: str,
    goal: Goal,
    inputs: domain.PlanInputs,
    now: datetime,
    *,
    topic_prefix: str = "",
) -> Program:
    """Generates the program, stores it as the athlete's active one (the previous one is replaced) and
    stages its events: generated, activated, and each session scheduled."""
    weeks_left = max((goal.event_date - inputs.start_date).days // 7 + 1, 1)
    templates = await library.active_templates(session)
    template = recommend_template(templates, inputs.goal.distance_type, inputs.level, weeks_left)
    plan = generate_program(template, inputs)
    actor = Actor(type="athlete", id=user_id)
    replaced = await repository.retire_active_programs(session, user_id)
    program = Program(
        id=new_id("prog"),
        user_id=user_id,
        goal_id=goal.id,
        template_id=template.id,
        status="active",
        start_date=plan.start_date,
        end_date=plan.end_date,
        total_weeks=plan.total_weeks,
        weekly_hours_target=plan.weekly_hours_target,
        phases=phases_record(plan),
        inputs=inputs_record(inputs),
    )
    session.add(program)
    await session.flush()
    rows: list[TrainingSession] = []
    for week in plan.weeks:
        session.add(
            ProgramWeek(
                id=new_id("week"),
                program_id=program.id,
                number=week.number,
                phase=week.phase,
                start_date=week.start_date,
                recovery=week.recovery,
                target_minutes=week.target_minutes,
            )
        )
        rows.extend(session_row(program, week, planned) for planned in week.sessions)
    session.add_all(rows)
    events: list[Envelope] = [
        PLANNING_PROGRAM_ENDED.envelope(
            ProgramEnded(program_id=old, user_id=user_id, reason="replaced", ended_at=now, actor=actor),
            subject=user_id,
        )
        for old in replaced
    ]
    events.append(
        PLANNING_PROGRAM_GENERATED.envelope(
            ProgramGenerated(
                program_id=program.id,
                user_id=user_id,
                template_id=template.id,
                distance_type=goal.distance_type,
                event_date=goal.event_date,
                start_date=plan.start_date,
                total_weeks=plan.total_weeks,
                weekly_hours_target=plan.weekly_hours_target,
                phases=[PhaseSpan.model_validate(p) for p in program.phases],
                sessions=len(rows),
                actor=actor,
            ),
            subject=user_id,
        )
    )
    events.append(
        PLANNING_PROGRAM_ACTIVATED.envelope(
            ProgramActivated(
                program_id=program.id,
                user_id=user_id,
                distance_type=goal.distance_type,
                event_date=goal.event_date,
                start_date=plan.start_date,
                activated_at=now,
                actor=actor,
            ),
            subject=user_id,
        )
    )
    events.extend(
        PLANNING_SESSION_SCHEDULED.envelope(scheduled(row, actor, inputs.thresholds), subject=user_id)
        for row in rows
    )
    await add_events(session, events, topic_prefix=topic_prefix)
    log.info("program_generated", program_id=program.id, template_id=template.id, weeks=plan.total_weeks)
    return program


def workout_thresholds(thresholds: domain.Thresholds) -> WorkoutThresholds:
    """The thresholds a workout's targets came from, as events tell them (a run's targets come from the
    threshold pace only when it is known, not from the VMA estimate)."""
    return WorkoutThresholds(
        max_hr=thresholds.max_hr,
        ftp_w=thresholds.ftp_w,
        threshold_pace_s_per_km=thresholds.threshold_pace_s_per_km,
        css_s_per_100m=thresholds.css_s_per_100m,
    )


def scheduled(row: TrainingSession, actor: Actor, thresholds: domain.Thresholds) -> SessionScheduled:
    return SessionScheduled(
        session_id=row.id,
        program_id=row.program_id,
        user_id=row.user_id,
        scheduled_date=row.scheduled_date,
        sport=row.sport,  # type: ignore[arg-type]
        session_type=row.session_type,
        title=row.title,
        duration_minutes=row.duration_planned,
        workout=row.workout,  # type: ignore[arg-type]
        thresholds=workout_thresholds(thresholds),
        actor=actor,
    )


def phases_out(program: Program) -> list[dict[str, Any]]:
    """The seed's phases: name, weeks as `first-last` and the first day."""
    return [
        {"name": p["name"], "weeks": f"{p['first_week']}-{p['last_week']}", "start": p["start_date"]}
        for p in program.phases
    ]


def current_week_number(program: Program, today: date) -> int:
    """1 before the program starts, the last week after it ended."""
    if today < program.start_date:
        return 1
    return min((today - program.start_date).days // 7 + 1, program.total_weeks)


def phase_of_week(program: Program, number: int) -> str:
    for phase in program.phases:
        if phase["first_week"] <= number <= phase["last_week"]:
            return str(phase["name"])
    return str(program.phases[-1]["name"])


def week_status(week: ProgramWeek, today: date) -> Literal["completed", "current", "upcoming"]:
    end = week.start_date + timedelta(days=6)
    if today > end:
        return "completed"
    return "current" if today >= week.start_date else "upcoming"


def outcomes(rows: list[TrainingSession]) -> list[SessionOutcome]:
    return [
        SessionOutcome(
            scheduled_date=row.scheduled_date,
            duration_minutes=row.duration_planned,
            status=row.status,  # type: ignore[arg-type]
            actual_minutes=row.actual_duration,
        )
        for row in rows
    ]


def compliance_of(rows: list[TrainingSession], today: date) -> float | None:
    return compliance(outcomes(rows), today)
