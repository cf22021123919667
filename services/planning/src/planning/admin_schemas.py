"""Request and response bodies of the template library's administration (seed 001, section Admin)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from planning.domain import PHASES, DistanceType, Level, PhaseName
from planning.periodization import TAPER_LOADS
from planning.schemas import Success

# What generation can carry out: beyond these, a template would ask for a plan it cannot build.
SHARE_TOLERANCE = 0.01
MIN_SPORT_SHARE = 0.1  # a triathlon plan trains all three sports every phase
MAX_INTENSITY = 0.25  # at least three quarters of the time stays easy, as in the built-in templates


class SportSplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    swim: float = Field(ge=MIN_SPORT_SHARE, le=1)
    bike: float = Field(ge=MIN_SPORT_SHARE, le=1)
    run: float = Field(ge=MIN_SPORT_SHARE, le=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> SportSplitIn:
        if abs(self.swim + self.bike + self.run - 1) > SHARE_TOLERANCE:
            raise ValueError("the sport split must sum to 1")
        return self


class PhaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PhaseName
    share: float = Field(
        default=0,
        ge=0,
        le=1,
        description="Share of the weeks before the taper; 0 for the Taper (see `taper_weeks`).",
    )
    sport_split: SportSplitIn
    intensity: float = Field(ge=0, le=MAX_INTENSITY, description="Share of the week's time above zone 2.")


class SessionsPerWeekIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # No more than a week's choice of sessions holds (week_plan's menus).
    swim: int = Field(ge=1, le=4)
    bike: int = Field(ge=1, le=5)
    run: int = Field(ge=1, le=5)


class WeekTemplatesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    taper_weeks: int = Field(ge=1, le=max(TAPER_LOADS))
    recovery_every: int = Field(ge=2, le=5, description="A lighter week every n weeks.")
    sessions_per_week: SessionsPerWeekIn


class TemplateCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    distance_type: DistanceType
    experience_level: Level
    duration_weeks: int = Field(ge=8, le=52)
    weekly_hours_min: float = Field(ge=3, le=30)
    weekly_hours_max: float = Field(ge=3, le=30)
    description: str = Field(default="", max_length=2000)
    phases: list[PhaseIn] = Field(description="Base, Build 1, Build 2, Peak and Taper, each once.")
    week_templates: WeekTemplatesIn

    @field_validator("phases")
    @classmethod
    def _phases(cls, phases: list[PhaseIn]) -> list[PhaseIn]:
        if sorted(p.name for p in phases) != sorted(PHASES):
            raise ValueError(f"the phases must be {', '.join(PHASES)}, each once")
        shares = {p.name: p.share for p in phases}
        if shares["Taper"] != 0:
            raise ValueError("the Taper's share must be 0: week_templates.taper_weeks sets its length")
        before = [shares[name] for name in PHASES if name != "Taper"]
        if min(before) <= 0 or abs(sum(before) - 1) > SHARE_TOLERANCE:
            raise ValueError("the shares of Base, Build 1, Build 2 and Peak must be positive and sum to 1")
        return sorted(phases, key=lambda p: PHASES.index(p.name))

    @model_validator(mode="after")
    def _hours_range(self) -> TemplateCreateRequest:
        if self.weekly_hours_min >= self.weekly_hours_max:
            raise ValueError("weekly_hours_min must be below weekly_hours_max")
        return self


class AdminTemplate(BaseModel):
    id: str
    name: str
    slug: str
    distance_type: str
    experience_level: str
    duration_weeks: int
    weekly_hours_min: float
    weekly_hours_max: float
    description: str
    builtin: bool
    is_active: bool
    usage_count: int = Field(description="Programs generated from the template, whatever their status.")


class AdminTemplatesResponse(BaseModel):
    templates: list[AdminTemplate]


class CreatedTemplate(BaseModel):
    id: str
    slug: str


class TemplateCreatedResponse(Success):
    template: CreatedTemplate


class TemplateActivationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    is_active: bool


class TemplateActivation(BaseModel):
    id: str
    slug: str
    is_active: bool


class TemplateActivationResponse(Success):
    template: TemplateActivation
