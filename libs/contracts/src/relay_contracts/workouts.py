"""The structured workout: what planning prescribes for a session and export turns into a FIT workout
file and Garmin Connect workout JSON. Every target is in the units devices use (beats per minute,
metres per second, watts), with the zone it came from when there is one; pace is a speed target."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

WorkoutSport = Literal["swim", "bike", "run"]
StepIntensity = Literal["warmup", "active", "recovery", "rest", "cooldown"]


class Duration(BaseModel):
    """How a step ends: after a time (seconds), a distance (metres) or when the athlete presses lap."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["time", "distance", "open"]
    value: float | None = Field(default=None, gt=0, description="Seconds for `time`, metres for `distance`.")

    @model_validator(mode="after")
    def _value_matches_kind(self) -> Duration:
        if (self.kind == "open") != (self.value is None):
            raise ValueError("an open duration has no value; a time or distance duration has one")
        return self


class Target(BaseModel):
    """The intensity to hold: a range of heart rate (bpm), speed (m/s, also for pace) or power (W)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["heart_rate", "speed", "power"]
    low: float = Field(gt=0)
    high: float = Field(gt=0)
    zone: int | None = Field(default=None, ge=1, le=7, description="The zone the range comes from.")

    @model_validator(mode="after")
    def _ordered(self) -> Target:
        if self.low > self.high:
            raise ValueError("a target's low bound is above its high bound")
        return self


class Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["step"] = "step"
    name: str = Field(max_length=60)
    intensity: StepIntensity
    duration: Duration
    target: Target | None = Field(default=None, description="None: no target (easy, by feel).")
    notes: str | None = Field(default=None, max_length=200)


class Repeat(BaseModel):
    """Its steps done `times` times in a row (intervals and their recoveries)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["repeat"] = "repeat"
    times: int = Field(ge=2, le=99)
    steps: list[Step] = Field(min_length=1)


WorkoutItem = Annotated[Step | Repeat, Field(discriminator="type")]


class StructuredWorkout(BaseModel):
    """Warm-up, main sets (with repeats), recoveries and cool-down, in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(max_length=60)
    sport: WorkoutSport
    pool_length_m: float | None = Field(default=None, gt=0, description="Pool swims only.")
    steps: list[WorkoutItem] = Field(min_length=1)

    def flat_steps(self) -> list[Step]:
        """Every step as the athlete does them, repeats unrolled."""
        flat: list[Step] = []
        for item in self.steps:
            if isinstance(item, Repeat):
                flat.extend(step for _ in range(item.times) for step in item.steps)
            else:
                flat.append(item)
        return flat


class WorkoutThresholds(BaseModel):
    """The athlete's thresholds a workout's targets were computed from; None where one was unknown (no
    target of that kind came from it)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    max_hr: int | None = Field(default=None, gt=0, description="Beats per minute: heart-rate targets.")
    ftp_w: int | None = Field(default=None, gt=0, description="Functional threshold power: power targets.")
    threshold_pace_s_per_km: int | None = Field(
        default=None, gt=0, description="Running threshold pace: running speed targets."
    )
    css_s_per_100m: int | None = Field(
        default=None, gt=0, description="Critical swim speed as a pace: swimming speed targets."
    )
