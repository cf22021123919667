"""Events produced by the planning service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from relay_contracts.events.common import Actor
from relay_contracts.workouts import StructuredWorkout, WorkoutThresholds


class ProgramActivated(BaseModel):
    """A training program became the athlete's active one (the previous one, if any, ended)."""

    model_config = ConfigDict(extra="ignore")

    program_id: str
    user_id: str
    distance_type: str = Field(description="`70.3` or `ironman` (seed 001).")
    event_date: date
    start_date: date
    activated_at: datetime
    actor: Actor


class ProgramEnded(BaseModel):
    """A program stopped being active: finished, replaced or abandoned."""

    model_config = ConfigDict(extra="ignore")

    program_id: str
    user_id: str
    reason: Literal["completed", "replaced", "abandoned"]
    ended_at: datetime
    actor: Actor


class PhaseSpan(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    first_week: int
    last_week: int
    start_date: date


class ProgramGenerated(BaseModel):
    """A program was generated for the athlete (it is activated by `planning.program.activated`)."""

    model_config = ConfigDict(extra="ignore")

    program_id: str
    user_id: str
    template_id: str
    distance_type: str
    event_date: date
    start_date: date
    total_weeks: int
    weekly_hours_target: float
    phases: list[PhaseSpan]
    sessions: int = Field(description="How many sessions were scheduled (each has its own event).")
    actor: Actor


class ProgramRecalculated(BaseModel):
    """Upcoming weeks were adjusted; the sessions changed have their own events."""

    model_config = ConfigDict(extra="ignore")

    program_id: str
    user_id: str
    trigger: Literal["skip", "low_compliance", "weekly", "manual"]
    weeks_modified: list[int]
    sessions_added: int
    sessions_removed: int
    volume_adjustment: int = Field(description="Percent of the upcoming volume; negative for a reduction.")
    actor: Actor


class SessionScheduled(BaseModel):
    """A session was planned, with the structured workout export turns into device files."""

    model_config = ConfigDict(extra="ignore")

    session_id: str
    program_id: str
    user_id: str
    scheduled_date: date
    sport: Literal["swim", "bike", "run"]
    session_type: str
    title: str
    duration_minutes: int
    workout: StructuredWorkout
    thresholds: WorkoutThresholds | None = Field(
        default=None, description="The thresholds the workout's targets were computed from."
    )
    actor: Actor


class SessionChanged(BaseModel):
    """A scheduled session was changed (or, with `removed`, taken out of the plan): what export needs to
    update or delete a workout already pushed to a device."""

    model_config = ConfigDict(extra="ignore")

    session_id: str
    program_id: str
    user_id: str
    scheduled_date: date
    removed: bool = False
    session_type: str | None = None
    title: str | None = None
    duration_minutes: int | None = None
    workout: StructuredWorkout | None = None
    thresholds: WorkoutThresholds | None = Field(
        default=None, description="The thresholds the workout's targets were computed from."
    )
    actor: Actor


class SessionCompleted(BaseModel):
    model_config = ConfigDict(extra="ignore")

    session_id: str
    program_id: str
    user_id: str
    scheduled_date: date
    completed_at: datetime
    actual_duration_minutes: int | None = None
    actual_distance_m: float | None = None
    activity_id: str | None = Field(default=None, description="The activity that completed it, if matched.")
    actor: Actor


class SessionSkipped(BaseModel):
    model_config = ConfigDict(extra="ignore")

    session_id: str
    program_id: str
    user_id: str
    scheduled_date: date
    reason: Literal["fatigue", "illness", "injury", "schedule", "other"]
    actor: Actor
