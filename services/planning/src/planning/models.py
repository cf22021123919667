"""Tables of the planning service's own database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from relay_platform.consumers import ProcessedMessage
from relay_platform.db import service_metadata
from relay_platform.outbox import OutboxMessage

__all__ = [
    "ActivityLoad",
    "AthleteProfile",
    "Goal",
    "Onboarding",
    "OutboxMessage",
    "PlanningTable",
    "ProcessedMessage",
    "Program",
    "ProgramTemplate",
    "ProgramWeek",
    "Recalculation",
    "TrainingSession",
    "metadata",
]

metadata = service_metadata()
"""Every table of this database, the kit's included: what Alembic compares the migrations with."""


class PlanningTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of this service's tables, on its own metadata (`relay_platform.db.service_metadata`)."""


class AthleteProfile(PlanningTable, table=True):
    """The athlete's training profile as identity last told it (`identity.profile.updated`): what plans
    are built from."""

    __tablename__ = "athlete_profiles"

    user_id: str = Field(primary_key=True)
    birth_year: int | None = None
    gender: str | None = None
    weight_kg: float | None = None
    experience_level: str | None = None
    weekly_hours_available: float | None = None
    max_heart_rate: int | None = None
    ftp_watts: int | None = None
    threshold_pace_seconds_per_km: int | None = None
    swim_css_seconds_per_100m: int | None = None
    timezone: str
    updated_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False),
        description="When identity changed the profile; an older update never replaces a newer one.",
    )


def _at(*, nullable: bool = False, default_now: bool = False) -> Any:
    return Field(
        default=None,
        sa_column=Column(
            DateTime(timezone=True), nullable=nullable, server_default=func.now() if default_now else None
        ),
    )


def _json(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(JSONB, nullable=nullable))


class Onboarding(PlanningTable, table=True):
    """The athlete's answers to the onboarding steps kept by planning (seed 001): goal, availability,
    constraints; `completed_at` once the program was generated."""

    __tablename__ = "onboardings"

    user_id: str = Field(primary_key=True)
    goal_id: str | None = None
    weekly_hours: float | None = None
    unavailable_days: list[int] | None = Field(default=None, sa_column=Column(ARRAY(Integer), nullable=True))
    preferred_long_day: int | None = None
    availability_at: datetime | None = _at(nullable=True)
    constraints: dict[str, Any] | None = _json(nullable=True)
    constraints_at: datetime | None = _at(nullable=True)
    target_time_s: int | None = None
    max_hr_manual: int | None = None
    ftp_manual: int | None = None
    completed_at: datetime | None = _at(nullable=True)


class Goal(PlanningTable, table=True):
    """A race the athlete trains for."""

    __tablename__ = "goals"

    id: str = Field(primary_key=True)
    user_id: str = Field(index=True)
    event_name: str
    event_date: date
    distance_type: str
    target_time_s: int | None = None
    event_location: str | None = None
    event_url: str | None = None
    created_at: datetime | None = _at(default_now=True)


class ProgramTemplate(PlanningTable, table=True):
    """A template of the library: the built-in ones and those admins add (`/api/admin/templates`)."""

    __tablename__ = "program_templates"

    id: str = Field(primary_key=True)
    slug: str = Field(unique=True)
    name: str
    distance_type: str
    experience_level: str
    duration_weeks: int
    weekly_hours_min: float
    weekly_hours_max: float
    description: str
    definition: dict[str, Any] = _json()
    is_active: bool = True
    builtin: bool = False
    created_at: datetime | None = _at(default_now=True)


class Program(PlanningTable, table=True):
    """A generated program; one `active` per athlete at most."""

    __tablename__ = "programs"
    __table_args__ = (
        Index("ux_programs_one_active", "user_id", unique=True, postgresql_where=text("status = 'active'")),
        Index("ix_programs_review_due", "review_at", postgresql_where=text("status = 'active'")),
    )

    id: str = Field(primary_key=True)
    user_id: str = Field(index=True)
    goal_id: str
    template_id: str
    status: str  # active | replaced | completed
    start_date: date
    end_date: date
    total_weeks: int
    weekly_hours_target: float
    phases: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    inputs: dict[str, Any] = _json()
    created_at: datetime | None = _at(default_now=True)
    last_recalc_at: datetime | None = _at(nullable=True)
    review_at: datetime | None = _at(nullable=True)
    """When the weekly review is next due: Monday 06:00 in the athlete's timezone (None once ended)."""


class ProgramWeek(PlanningTable, table=True):
    __tablename__ = "program_weeks"
    __table_args__ = (UniqueConstraint("program_id", "number"),)

    id: str = Field(primary_key=True)
    program_id: str = Field(
        sa_column=Column(String, ForeignKey("programs.id", ondelete="CASCADE"), nullable=False)
    )
    number: int
    phase: str
    start_date: date
    recovery: bool
    target_minutes: int
    recalc_notes: str | None = None


class TrainingSession(PlanningTable, table=True):
    """A planned session and what became of it."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user_date", "user_id", "scheduled_date"),)

    id: str = Field(primary_key=True)
    program_id: str = Field(
        sa_column=Column(String, ForeignKey("programs.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    week_number: int
    user_id: str
    scheduled_date: date
    position: int = 0
    sport: str
    session_type: str
    title: str
    objective: str
    tips: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    duration_planned: int  # minutes
    distance_planned: float | None = None  # metres
    indoor: bool = False
    slot: str | None = None  # the pool slot, "12:00-13:30"
    workout: dict[str, Any] = _json()
    status: str = "pending"  # pending | completed | skipped
    skip_reason: str | None = None
    skip_notes: str | None = None
    completed_at: datetime | None = _at(nullable=True)
    actual_duration: int | None = None  # minutes
    actual_distance: float | None = None
    actual_avg_hr: int | None = None
    activity_id: str | None = None
    perceived_effort: int | None = None
    notes: str | None = None
    feedback: dict[str, Any] | None = _json(nullable=True)
    updated_at: datetime | None = _at(default_now=True)


class Recalculation(PlanningTable, table=True):
    __tablename__ = "recalculations"

    id: str = Field(primary_key=True)
    program_id: str = Field(
        sa_column=Column(String, ForeignKey("programs.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    trigger: str
    changes: dict[str, Any] = _json()
    triggered_at: datetime | None = _at(default_now=True)


class ActivityLoad(PlanningTable, table=True):
    """The training stress of one ingested activity, scored when it arrived with the athlete's thresholds
    then (another provider's copy of an activity is not counted twice)."""

    __tablename__ = "activity_loads"
    __table_args__ = (Index("ix_activity_loads_user_date", "user_id", "local_date"),)

    activity_id: str = Field(primary_key=True)
    user_id: str
    local_date: date
    sport: str
    moving_time_s: int
    stress: float  # on the TSS scale: 100 for one hour at threshold
    method: str  # power | pace | heart_rate | duration
    revision: int
    updated_at: datetime | None = _at(default_now=True)
