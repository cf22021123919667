"""Request and response bodies of the planning API (seed 001: Onboarding, Programme, Séances)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from planning.domain import WEEKDAY_NAMES

SLOT_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class Success(BaseModel):
    success: Literal[True] = True


# Onboarding


class OnboardingStep(BaseModel):
    completed: bool
    data: dict[str, Any] | None = None


class OnboardingStatus(BaseModel):
    completed: bool
    current_step: int = Field(
        description="1-based position of the first step not completed (7 when all are)."
    )
    steps: dict[str, OnboardingStep]


class GoalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_name: str = Field(min_length=1, max_length=120)
    event_date: date = Field(description="At least 8 weeks from today.")
    distance_type: Literal["70.3", "ironman"]
    target_time: int | None = Field(default=None, ge=3600, le=17 * 3600, description="Seconds.")
    event_location: str | None = Field(default=None, max_length=120)
    event_url: HttpUrl | None = None


class GoalResponse(Success):
    goal_id: str
    weeks_until_event: int
    recommended_template: str


class AvailabilityRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekly_hours: float = Field(ge=3, le=30)
    unavailable_days: list[int] = Field(
        default_factory=list, max_length=5, description="0 Sunday ... 6 Saturday."
    )
    preferred_long_day: int = Field(ge=0, le=6)

    @field_validator("unavailable_days")
    @classmethod
    def _days(cls, days: list[int]) -> list[int]:
        if any(not 0 <= day <= 6 for day in days):
            raise ValueError("days go from 0 (Sunday) to 6 (Saturday)")
        if len(set(days)) != len(days):
            raise ValueError("a day is listed twice")
        return sorted(days)

    @model_validator(mode="after")
    def _long_day_available(self) -> AvailabilityRequest:
        if self.preferred_long_day in self.unavailable_days:
            raise ValueError("the preferred long day is one of the unavailable days")
        return self


class ConstraintsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pool_access: bool
    pool_schedule: dict[str, list[str]] = Field(
        default_factory=dict, description='Day name to open slots, e.g. {"monday": ["12:00-13:30"]}.'
    )
    home_trainer: bool = False
    outdoor_bike_only: bool = False
    injuries_notes: str | None = Field(default=None, max_length=1000)

    @field_validator("pool_schedule")
    @classmethod
    def _schedule(cls, schedule: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, slots in schedule.items():
            if day not in WEEKDAY_NAMES:
                raise ValueError(f"unknown day {day!r}: use {', '.join(WEEKDAY_NAMES)}")
            if len(slots) > 6:
                raise ValueError(f"{day}: at most 6 slots")
            for slot in slots:
                found = SLOT_PATTERN.match(slot)
                if found is None:
                    raise ValueError(f"{day}: slot {slot!r} is not HH:MM-HH:MM")
                start, end = found.group(1, 2), found.group(3, 4)
                if start >= end:
                    raise ValueError(f"{day}: slot {slot!r} ends before it starts")
        return schedule

    @model_validator(mode="after")
    def _consistent(self) -> ConstraintsRequest:
        if self.outdoor_bike_only and self.home_trainer:
            raise ValueError("outdoor_bike_only and home_trainer exclude each other")
        return self


class CompleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_time: int | None = Field(default=None, ge=3600, le=17 * 3600, description="Seconds.")
    fc_max_manual: int | None = Field(default=None, ge=120, le=230)
    ftp_manual: int | None = Field(default=None, ge=50, le=600)


class PhaseOut(BaseModel):
    name: str
    weeks: str = Field(description="First and last week, e.g. `1-6`.")
    start: date


class GeneratedProgram(BaseModel):
    id: str
    goal_id: str
    template_id: str
    start_date: date
    end_date: date
    total_weeks: int
    phases: list[PhaseOut]


class CompleteResponse(Success):
    program: GeneratedProgram


# Programs


class GoalOut(BaseModel):
    event_name: str
    event_date: date
    distance_type: str
    days_remaining: int | None = None
    target_time: int | None = None
    event_location: str | None = None


class ProgressOut(BaseModel):
    current_week: int
    total_weeks: int
    current_phase: str
    completion_pct: float


class ProgramStats(BaseModel):
    total_swim_m: int
    total_bike_km: int
    total_run_km: int
    total_hours: float
    avg_compliance: float | None


class CurrentProgram(BaseModel):
    id: str
    status: str
    goal: GoalOut
    progress: ProgressOut
    stats: ProgramStats


class CurrentProgramResponse(BaseModel):
    program: CurrentProgram


class TemplateRef(BaseModel):
    id: str
    name: str
    slug: str
    duration_weeks: int


class ProgramDetail(BaseModel):
    id: str
    goal: GoalOut
    template: TemplateRef
    start_date: date
    end_date: date
    total_weeks: int
    current_week: int
    status: str
    phases: list[PhaseOut]
    weekly_hours_target: float
    last_recalc_at: datetime | None


class ProgramDetailResponse(BaseModel):
    program: ProgramDetail


class WeekSummary(BaseModel):
    week_number: int
    phase: str
    status: Literal["completed", "current", "upcoming"]
    planned_hours: float
    actual_hours: float
    compliance_rate: float | None
    sessions_completed: int
    sessions_total: int


class OverviewTotals(BaseModel):
    planned_hours: float
    actual_hours: float
    avg_compliance: float | None


class Overview(BaseModel):
    program_id: str
    weeks: list[WeekSummary]
    totals: OverviewTotals


class OverviewResponse(BaseModel):
    overview: Overview


class Volume(BaseModel):
    hours: float
    swim_m: int
    bike_km: float
    run_km: float


class WeekSession(BaseModel):
    id: str
    day_of_week: int
    scheduled_date: date
    sport: str
    session_type: str
    title: str
    duration_planned: int
    status: str
    actual_duration: int | None


class WeekDetail(BaseModel):
    id: str
    program_id: str
    week_number: int
    phase: str
    status: Literal["completed", "current", "upcoming"]
    start_date: date
    end_date: date
    planned: Volume
    actual: Volume
    sessions: list[WeekSession]
    compliance_rate: float | None
    recalc_notes: str | None


class WeekDetailResponse(BaseModel):
    week: WeekDetail


class Changes(BaseModel):
    weeks_modified: list[int]
    sessions_added: int
    sessions_removed: int
    volume_adjustment: int = Field(description="Percent of the upcoming volume, negative for a reduction.")


class RecalculationOut(BaseModel):
    triggered_at: datetime
    status: Literal["completed"]
    changes: Changes


class RecalculateResponse(Success):
    recalculation: RecalculationOut


# Sessions


class SkipRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Literal["fatigue", "illness", "injury", "schedule", "other"]
    notes: str | None = Field(default=None, max_length=1000)


class CompleteSessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    perceived_effort: int | None = Field(default=None, ge=1, le=10)
    notes: str | None = Field(default=None, max_length=1000)
    strava_activity_id: str | None = Field(default=None, max_length=64)
    actual_duration: int | None = Field(default=None, ge=1, le=24 * 60, description="Minutes.")
    actual_distance: float | None = Field(default=None, ge=0, le=500_000, description="Metres.")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    perceived_effort: int = Field(ge=1, le=10)
    feeling: Literal["great", "good", "ok", "hard", "very_hard"]
    notes: str | None = Field(default=None, max_length=1000)
    pain_reported: bool = False


class LoadDay(BaseModel):
    date: date
    stress: float = Field(
        description="The day's summed training stress (TSS scale: 100 is one hour at threshold)."
    )
    fitness: float = Field(description="Chronic training load (CTL, 42 days) at the end of the day.")
    fatigue: float = Field(description="Acute training load (ATL, 7 days) at the end of the day.")
    form: float = Field(
        description="Training stress balance (TSB) the day starts with: yesterday's CTL - ATL."
    )


class TrainingLoadResponse(BaseModel):
    from_: date = Field(alias="from")
    to: date
    days: list[LoadDay]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
