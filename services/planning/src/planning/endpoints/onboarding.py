"""Seed 001, section Onboarding (the profile step belongs to identity, Strava's analysis to ingestion)."""

from __future__ import annotations

from fastapi import APIRouter

from planning import onboarding, programs
from planning.endpoints import Now
from planning.schemas import (
    AvailabilityRequest,
    CompleteRequest,
    CompleteResponse,
    ConstraintsRequest,
    GeneratedProgram,
    GoalRequest,
    GoalResponse,
    OnboardingStatus,
    PhaseOut,
    Success,
)
from relay_platform.auth import CurrentAthlete
from relay_platform.db import SessionDep
from relay_platform.web import TopicPrefix

router = APIRouter(prefix="/api/onboarding", tags=["onboarding"])


@router.get("/status", summary="Where the athlete is in the onboarding")
async def get_status(athlete: CurrentAthlete, session: SessionDep) -> OnboardingStatus:
    return await onboarding.status(session, athlete.sub)


@router.post("/goal", summary="The race the athlete trains for (at least 8 weeks away)")
async def post_goal(
    athlete: CurrentAthlete, session: SessionDep, body: GoalRequest, now: Now
) -> GoalResponse:
    goal, weeks, template_id = await onboarding.set_goal(session, athlete.sub, body, now)
    return GoalResponse(goal_id=goal.id, weeks_until_event=weeks, recommended_template=template_id)


@router.post("/availability", summary="Weekly hours, unavailable days and the preferred long day")
async def post_availability(
    athlete: CurrentAthlete, session: SessionDep, body: AvailabilityRequest, now: Now
) -> Success:
    await onboarding.set_availability(session, athlete.sub, body, now)
    return Success()


@router.post("/constraints", summary="Pool access and schedule, home trainer, outdoor only, injuries")
async def post_constraints(
    athlete: CurrentAthlete, session: SessionDep, body: ConstraintsRequest, now: Now
) -> Success:
    await onboarding.set_constraints(session, athlete.sub, body, now)
    return Success()


@router.post("/complete", summary="Generates the athlete's program from their answers")
async def post_complete(
    athlete: CurrentAthlete, session: SessionDep, body: CompleteRequest, now: Now, topic_prefix: TopicPrefix
) -> CompleteResponse:
    program = await onboarding.complete(session, athlete.sub, body, now, topic_prefix=topic_prefix)
    return CompleteResponse(
        program=GeneratedProgram(
            id=program.id,
            goal_id=program.goal_id,
            template_id=program.template_id,
            start_date=program.start_date,
            end_date=program.end_date,
            total_weeks=program.total_weeks,
            phases=[PhaseOut(**phase) for phase in programs.phases_out(program)],
        )
    )
