"""Onboarding (seed 001): the athlete's goal, availability and constraints, then the program built from
them. Each step can be answered again until the onboarding is completed; completing it again later
generates a new program that replaces the active one."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from planning import library, programs, repository, reviews
from planning.domain import (
    WEEKDAY_NAMES,
    Availability,
    Constraints,
    Level,
    PlanInputs,
    Thresholds,
    TimeSlot,
)
from planning.domain import Goal as GoalSpec
from planning.models import AthleteProfile, Goal, Onboarding, Program
from planning.schemas import (
    AvailabilityRequest,
    CompleteRequest,
    ConstraintsRequest,
    GoalRequest,
    OnboardingStatus,
    OnboardingStep,
)
from planning.templates import recommend_template
from relay_platform.errors import Conflict, InvalidInput

MIN_WEEKS_TO_EVENT = 8
STEPS = ("strava_analysis", "goal", "level", "availability", "constraints", "target_time")


def local_today(profile: AthleteProfile | None, now: datetime) -> date:
    """The athlete's calendar day (their profile's timezone; UTC until identity told us)."""
    zone = ZoneInfo(profile.timezone) if profile is not None else UTC
    return now.astimezone(zone).date()


def first_monday(today: date) -> date:
    """A program starts on a Monday: today if it is one, else the next one."""
    return today + timedelta(days=(7 - today.weekday()) % 7)


def weeks_until(today: date, event_date: date) -> int:
    """Training weeks from the program's first Monday to the event's week, that week included."""
    start = first_monday(today)
    return max((event_date - start).days // 7 + 1, 0)


def level_of(profile: AthleteProfile | None) -> Level:
    """The level the athlete gave in their profile; a beginner's plan when they gave none, the safe side."""
    level = profile.experience_level if profile is not None else None
    return level if level in ("beginner", "intermediate", "advanced") else "beginner"  # type: ignore[return-value]


async def _onboarding(session: AsyncSession, user_id: str) -> Onboarding:
    found = await repository.get_onboarding(session, user_id, for_update=True)
    if found is None:
        found = Onboarding(user_id=user_id)
        session.add(found)
    return found


async def status(session: AsyncSession, user_id: str) -> OnboardingStatus:
    onboarding = await repository.get_onboarding(session, user_id)
    profile = await repository.get_profile(session, user_id)
    goal = (
        await repository.get_goal(session, user_id, onboarding.goal_id)
        if onboarding is not None and onboarding.goal_id
        else None
    )
    done = {
        # Strava's analysis is read from ingestion by the app; it never holds the athlete back.
        "strava_analysis": True,
        "goal": goal is not None,
        "level": profile is not None and profile.experience_level is not None,
        "availability": onboarding is not None and onboarding.availability_at is not None,
        "constraints": onboarding is not None and onboarding.constraints_at is not None,
        "target_time": onboarding is not None and onboarding.completed_at is not None,
    }
    data: dict[str, dict[str, Any]] = {}
    if goal is not None:
        data["goal"] = {
            "event_name": goal.event_name,
            "event_date": goal.event_date.isoformat(),
            "distance_type": goal.distance_type,
        }
    steps = {name: OnboardingStep(completed=done[name], data=data.get(name)) for name in STEPS}
    pending = [index for index, name in enumerate(STEPS, start=1) if not done[name]]
    # Done once the program exists: a level left unanswered (identity's profile) is planned as a beginner.
    completed = done["target_time"]
    return OnboardingStatus(
        completed=completed,
        current_step=len(STEPS) + 1 if completed or not pending else pending[0],
        steps=steps,
    )


async def set_goal(
    session: AsyncSession, user_id: str, request: GoalRequest, now: datetime
) -> tuple[Goal, int, str]:
    """Stores the goal; returns it with the weeks until the event and the recommended template."""
    profile = await repository.get_profile(session, user_id)
    today = local_today(profile, now)
    if request.event_date < today + timedelta(weeks=MIN_WEEKS_TO_EVENT):
        raise InvalidInput(
            f"the event must be at least {MIN_WEEKS_TO_EVENT} weeks away",
            details={
                "field": "event_date",
                "earliest": (today + timedelta(weeks=MIN_WEEKS_TO_EVENT)).isoformat(),
            },
        )
    goal = Goal(
        id=f"goal_{uuid.uuid4().hex[:16]}",
        user_id=user_id,
        event_name=request.event_name,
        event_date=request.event_date,
        distance_type=request.distance_type,
        target_time_s=request.target_time,
        event_location=request.event_location,
        event_url=str(request.event_url) if request.event_url else None,
    )
    session.add(goal)
    onboarding = await _onboarding(session, user_id)
    onboarding.goal_id = goal.id
    weeks = weeks_until(today, request.event_date)
    templates = await library.active_templates(session)
    template = recommend_template(templates, request.distance_type, level_of(profile), weeks)
    return goal, weeks, template.id


async def set_availability(
    session: AsyncSession, user_id: str, request: AvailabilityRequest, now: datetime
) -> None:
    onboarding = await _onboarding(session, user_id)
    onboarding.weekly_hours = request.weekly_hours
    onboarding.unavailable_days = request.unavailable_days
    onboarding.preferred_long_day = request.preferred_long_day
    onboarding.availability_at = now


async def set_constraints(
    session: AsyncSession, user_id: str, request: ConstraintsRequest, now: datetime
) -> None:
    onboarding = await _onboarding(session, user_id)
    onboarding.constraints = request.model_dump(mode="json")
    onboarding.constraints_at = now


def _constraints(stored: dict[str, Any] | None) -> Constraints:
    if not stored:
        return Constraints()
    schedule: dict[int, tuple[TimeSlot, ...]] = {}
    for day, slots in (stored.get("pool_schedule") or {}).items():
        schedule[WEEKDAY_NAMES.index(day)] = tuple(
            TimeSlot(time.fromisoformat(start), time.fromisoformat(end))
            for start, end in (slot.split("-") for slot in slots)
        )
    return Constraints(
        pool_access=bool(stored.get("pool_access", True)),
        pool_schedule=schedule,
        home_trainer=bool(stored.get("home_trainer", False)),
        outdoor_bike_only=bool(stored.get("outdoor_bike_only", False)),
        injuries_notes=stored.get("injuries_notes"),
    )


def current_thresholds(profile: AthleteProfile | None, answers: Onboarding | None, today: date) -> Thresholds:
    """The athlete's thresholds as planning knows them: the values given at the end of the onboarding,
    else the profile's, and a maximum heart rate estimated from the age when none is known."""
    manual_hr = answers.max_hr_manual if answers else None
    manual_ftp = answers.ftp_manual if answers else None
    return Thresholds(
        max_hr=_max_hr(profile, manual_hr, today),
        ftp_w=manual_ftp or (profile.ftp_watts if profile else None),
        threshold_pace_s_per_km=profile.threshold_pace_seconds_per_km if profile else None,
        css_s_per_100m=profile.swim_css_seconds_per_100m if profile else None,
    )


def _max_hr(profile: AthleteProfile | None, manual: int | None, today: date) -> int | None:
    if manual is not None:
        return manual
    if profile is not None and profile.max_heart_rate is not None:
        return profile.max_heart_rate
    if profile is not None and profile.birth_year is not None:
        # Tanaka's estimate (208 - 0.7 x age): better than 220 - age for trained adults.
        return round(208 - 0.7 * (today.year - profile.birth_year))
    return None


async def complete(
    session: AsyncSession, user_id: str, request: CompleteRequest, now: datetime, *, topic_prefix: str = ""
) -> Program:
    """Generates the program from the answers and makes it the athlete's active one."""
    onboarding = await _onboarding(session, user_id)
    missing = [
        step
        for step, answered in (("goal", onboarding.goal_id), ("availability", onboarding.availability_at))
        if answered is None
    ]
    if missing:
        raise Conflict("answer the onboarding's steps first", details={"missing_steps": missing})
    goal = await repository.get_goal(session, user_id, str(onboarding.goal_id))
    if goal is None:
        raise Conflict("answer the onboarding's steps first", details={"missing_steps": ["goal"]})
    profile = await repository.get_profile(session, user_id)
    today = local_today(profile, now)
    if goal.event_date < first_monday(today) + timedelta(weeks=MIN_WEEKS_TO_EVENT - 1):
        raise InvalidInput(
            "the event is too close to build a program: set a later goal",
            details={"field": "event_date", "event_date": goal.event_date.isoformat()},
        )
    onboarding.target_time_s = request.target_time
    onboarding.max_hr_manual = request.fc_max_manual
    onboarding.ftp_manual = request.ftp_manual
    inputs = PlanInputs(
        goal=GoalSpec(goal.distance_type, goal.event_date, request.target_time or goal.target_time_s),  # type: ignore[arg-type]
        level=level_of(profile),
        availability=Availability(
            weekly_hours=float(onboarding.weekly_hours or 0),
            unavailable_days=frozenset(onboarding.unavailable_days or ()),
            preferred_long_day=int(onboarding.preferred_long_day or 0),
        ),
        constraints=_constraints(onboarding.constraints),
        thresholds=current_thresholds(profile, onboarding, today),
        start_date=first_monday(today),
    )
    program = await programs.create_program(session, user_id, goal, inputs, now, topic_prefix=topic_prefix)
    program.review_at = reviews.next_review(now, reviews.zone_named(profile.timezone if profile else None))
    onboarding.completed_at = now
    return program
