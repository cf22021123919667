"""The targets a device gets: planning computed a session's targets from the athlete's thresholds of the
day it planned it; when the athlete's profile changed them since, the targets follow.

Every zone is a fixed share of its threshold (heart rate of max HR, power of FTP, speed of the threshold
speed), so a target moves in the ratio of the new threshold to the old one; a pace threshold is a time,
so speed moves in the inverse ratio."""

from __future__ import annotations

from datetime import datetime

from export.models import AthleteProfile, PlannedSession
from relay_contracts.workouts import Repeat, Step, StructuredWorkout, Target, WorkoutThresholds


def device_workout(
    planned: PlannedSession, profile: AthleteProfile | None
) -> tuple[StructuredWorkout, WorkoutThresholds]:
    """The session's workout as a device should get it today, and the thresholds its targets came from."""
    planned_thresholds = WorkoutThresholds.model_validate(planned.thresholds) if planned.thresholds else None
    thresholds = effective_thresholds(planned_thresholds, profile, planned.planned_at)
    workout = StructuredWorkout.model_validate(planned.workout)
    return retarget(workout, planned_thresholds, thresholds), thresholds


def effective_thresholds(
    planned: WorkoutThresholds | None, profile: AthleteProfile | None, planned_at: datetime
) -> WorkoutThresholds:
    """The thresholds the targets should come from: the profile's where it changed after the session was
    planned (the newer word of the athlete), else those planning used."""
    planned = planned or WorkoutThresholds()
    if profile is None or profile.updated_at <= planned_at:
        return planned
    return WorkoutThresholds(
        max_hr=profile.max_heart_rate or planned.max_hr,
        ftp_w=profile.ftp_watts or planned.ftp_w,
        threshold_pace_s_per_km=profile.threshold_pace_seconds_per_km or planned.threshold_pace_s_per_km,
        css_s_per_100m=profile.swim_css_seconds_per_100m or planned.css_s_per_100m,
    )


def retarget(
    workout: StructuredWorkout, planned: WorkoutThresholds | None, effective: WorkoutThresholds
) -> StructuredWorkout:
    """The workout with its targets moved from the planned thresholds to the effective ones; targets
    whose threshold was unknown to planning, or has not changed, stay as planned."""
    if planned is None or planned == effective:
        return workout
    ratios = {
        "heart_rate": _ratio(effective.max_hr, planned.max_hr),
        "power": _ratio(effective.ftp_w, planned.ftp_w),
        "speed": _speed_ratio(workout, planned, effective),
    }
    if all(ratio == 1.0 for ratio in ratios.values()):
        return workout
    items = [
        item.model_copy(update={"steps": [_moved(step, ratios) for step in item.steps]})
        if isinstance(item, Repeat)
        else _moved(item, ratios)
        for item in workout.steps
    ]
    return workout.model_copy(update={"steps": items})


def _ratio(new: int | None, old: int | None) -> float:
    return new / old if new and old else 1.0


def _speed_ratio(
    workout: StructuredWorkout, planned: WorkoutThresholds, effective: WorkoutThresholds
) -> float:
    # Paces are times over a distance: a faster threshold (smaller time) means faster targets.
    if workout.sport == "run":
        return _ratio(planned.threshold_pace_s_per_km, effective.threshold_pace_s_per_km)
    if workout.sport == "swim":
        return _ratio(planned.css_s_per_100m, effective.css_s_per_100m)
    return 1.0  # a ride's speed targets come from no threshold


def _moved(step: Step, ratios: dict[str, float]) -> Step:
    target = step.target
    if target is None or ratios[target.kind] == 1.0:
        return step
    ratio = ratios[target.kind]
    digits = 3 if target.kind == "speed" else 0
    moved = Target(
        kind=target.kind,
        low=round(target.low * ratio, digits),
        high=round(target.high * ratio, digits),
        zone=target.zone,
    )
    return step.model_copy(update={"target": moved})
