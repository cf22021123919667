"""A structured workout as Garmin Connect workout JSON (`POST /workout-service/workout`), and back.

Garmin rejects structured workouts uploaded as FIT on that route, so Garmin gets this JSON.
`workout_from_garmin` reads both what we send and what Garmin answers (with its workoutId, ownerId,
stepId, displayOrder, createdDate and other fields), so a workout read back from Garmin can be compared
with the one sent: `workout_from_garmin(garmin_workout(w)) == as_sent(w)` for every valid `w`.

What the document holds: sport and segment sportType; steps as ExecutableStepDTO (stepType from the
intensity, endCondition lap.button / time in seconds / distance in metres, targetType with
targetValueOne/Two as the low and high of the range in bpm, watts or m/s, description from the notes)
and repeats as RepeatGroupDTO (numberOfIterations, endCondition iterations); stepOrder numbers every step
and group in document order from 1. Speed targets are pace.zone for runs and swims, speed.zone for rides,
both in m/s. Pool swims carry poolLength in metres.

What Garmin cannot keep, and `as_sent` drops: step names (a Garmin step has no name, only a
description, which holds the notes); target zones (Garmin's zoneNumber means the athlete's own Garmin
zone, which need not match ours, so only the range is sent); empty notes (sent as none); a pool length on
anything but a swim. Garmin's field is `estimatedDurationInSecs`, as its answers show, not the
`estimatedDurationInSeconds` of the seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import count
from typing import Any, Literal, NamedTuple, TypeVar

from pydantic import ValidationError

from relay_contracts.workouts import (
    Duration,
    Repeat,
    Step,
    StepIntensity,
    StructuredWorkout,
    Target,
    WorkoutItem,
    WorkoutSport,
)

DurationKind = Literal["time", "distance", "open"]
TargetKind = Literal["heart_rate", "speed", "power"]


class GarminType(NamedTuple):
    """One of Garmin's typed values: the id and the key it sends together."""

    id: int
    key: str


SPORT_TYPES: dict[WorkoutSport, GarminType] = {
    "run": GarminType(1, "running"),
    "bike": GarminType(2, "cycling"),
    "swim": GarminType(4, "swimming"),
}
STEP_TYPES: dict[StepIntensity, GarminType] = {
    "warmup": GarminType(1, "warmup"),
    "cooldown": GarminType(2, "cooldown"),
    "active": GarminType(3, "interval"),
    "recovery": GarminType(4, "recovery"),
    "rest": GarminType(5, "rest"),
}
REPEAT_STEP_TYPE = GarminType(6, "repeat")
END_CONDITIONS: dict[DurationKind, GarminType] = {
    "open": GarminType(1, "lap.button"),
    "time": GarminType(2, "time"),
    "distance": GarminType(3, "distance"),
}
ITERATIONS_END_CONDITION = GarminType(7, "iterations")
NO_TARGET = GarminType(1, "no.target")
POWER_TARGET = GarminType(2, "power.zone")
HEART_RATE_TARGET = GarminType(4, "heart.rate.zone")
SPEED_TARGET = GarminType(5, "speed.zone")
PACE_TARGET = GarminType(6, "pace.zone")
METRE: dict[str, Any] = {"unitId": 1, "unitKey": "meter", "factor": 100.0}
"""Garmin's length unit; its factor is centimetres per unit."""

_TARGETS_READ: dict[str, TargetKind] = {
    POWER_TARGET.key: "power",
    HEART_RATE_TARGET.key: "heart_rate",
    SPEED_TARGET.key: "speed",
    PACE_TARGET.key: "speed",
}
_TARGET_KEYS_BY_ID = {
    target.id: target.key
    for target in (NO_TARGET, POWER_TARGET, HEART_RATE_TARGET, SPEED_TARGET, PACE_TARGET)
}

_T = TypeVar("_T")


class InvalidGarminWorkout(ValueError):
    """A Garmin workout document that is not a structured workout we could have sent."""


def garmin_workout(workout: StructuredWorkout, *, description: str | None = None) -> dict[str, Any]:
    """The workout as the JSON Garmin Connect's workout service takes; `description` is the workout's."""
    sport = _sport_type(workout.sport)
    orders = count(1)
    document: dict[str, Any] = {
        "workoutName": workout.name,
        "description": description,
        "sportType": sport,
        "workoutSegments": [
            {
                "segmentOrder": 1,
                "sportType": dict(sport),
                "workoutSteps": [_item(item, workout.sport, orders) for item in workout.steps],
            }
        ],
    }
    flat = workout.flat_steps()
    if all(step.duration.kind == "time" for step in flat):
        document["estimatedDurationInSecs"] = round(sum(_finite(step.duration.value) for step in flat))
    if all(step.duration.kind == "distance" for step in flat):
        document["estimatedDistanceInMeters"] = sum(_finite(step.duration.value) for step in flat)
    if workout.sport == "swim" and workout.pool_length_m is not None:
        document["poolLength"] = _finite(workout.pool_length_m)
        document["poolLengthUnit"] = dict(METRE)
    return document


def as_sent(workout: StructuredWorkout) -> StructuredWorkout:
    """The workout as Garmin keeps it: steps unnamed, targets without zones, no empty notes, a pool length
    only for swims."""
    return StructuredWorkout(
        name=workout.name,
        sport=workout.sport,
        pool_length_m=workout.pool_length_m if workout.sport == "swim" else None,
        steps=[
            Repeat(times=item.times, steps=[_step_as_sent(step) for step in item.steps])
            if isinstance(item, Repeat)
            else _step_as_sent(item)
            for item in workout.steps
        ],
    )


def workout_from_garmin(document: dict[str, Any]) -> StructuredWorkout:
    """The structured workout in a Garmin workout document, ours or Garmin's answer; ignores the fields
    Garmin adds and raises InvalidGarminWorkout for what a structured workout cannot hold."""
    sport = _read_type(document.get("sportType"), "sportType", SPORT_TYPES)
    segments = document.get("workoutSegments") or []
    if len(segments) != 1:
        raise InvalidGarminWorkout(f"a structured workout is one segment, not {len(segments)}")
    try:
        return StructuredWorkout(
            name=document.get("workoutName") or "",
            sport=sport,
            pool_length_m=_pool_length_read(document) if sport == "swim" else None,
            steps=[_item_read(step) for step in _in_order(segments[0].get("workoutSteps") or [])],
        )
    except ValidationError as error:
        raise InvalidGarminWorkout(f"not a valid structured workout: {error}") from error


def _sport_type(sport: WorkoutSport) -> dict[str, Any]:
    garmin = SPORT_TYPES[sport]
    return {"sportTypeId": garmin.id, "sportTypeKey": garmin.key}


def _item(item: WorkoutItem, sport: WorkoutSport, orders: Iterator[int]) -> dict[str, Any]:
    if isinstance(item, Step):
        return _step(item, sport, next(orders))
    group: dict[str, Any] = {
        "type": "RepeatGroupDTO",
        "stepOrder": next(orders),
        "stepType": {"stepTypeId": REPEAT_STEP_TYPE.id, "stepTypeKey": REPEAT_STEP_TYPE.key},
        "numberOfIterations": item.times,
        "smartRepeat": False,
        "endCondition": _end_condition(ITERATIONS_END_CONDITION),
        "endConditionValue": item.times,
    }
    group["workoutSteps"] = [_step(step, sport, next(orders)) for step in item.steps]
    return group


def _step(step: Step, sport: WorkoutSport, order: int) -> dict[str, Any]:
    step_type = STEP_TYPES[step.intensity]
    document: dict[str, Any] = {
        "type": "ExecutableStepDTO",
        "stepOrder": order,
        "stepType": {"stepTypeId": step_type.id, "stepTypeKey": step_type.key},
        "endCondition": _end_condition(END_CONDITIONS[step.duration.kind]),
    }
    if step.duration.value is not None:
        document["endConditionValue"] = _finite(step.duration.value)
    target_type = _target_type(step.target, sport)
    document["targetType"] = {"workoutTargetTypeId": target_type.id, "workoutTargetTypeKey": target_type.key}
    if step.target is not None:
        document["targetValueOne"] = _finite(step.target.low)
        document["targetValueTwo"] = _finite(step.target.high)
    if step.notes:
        document["description"] = step.notes
    return document


def _end_condition(condition: GarminType) -> dict[str, Any]:
    return {"conditionTypeId": condition.id, "conditionTypeKey": condition.key}


def _target_type(target: Target | None, sport: WorkoutSport) -> GarminType:
    if target is None:
        return NO_TARGET
    if target.kind == "heart_rate":
        return HEART_RATE_TARGET
    if target.kind == "power":
        return POWER_TARGET
    return SPEED_TARGET if sport == "bike" else PACE_TARGET


def _finite(value: float | None) -> float:
    """JSON has no infinity; a value without one is a bug upstream, not something to send."""
    if value is None or not math.isfinite(value):
        raise ValueError(f"{value} cannot be sent to Garmin")
    return value


def _step_as_sent(step: Step) -> Step:
    target = step.target
    return Step(
        name="",
        intensity=step.intensity,
        duration=step.duration,
        target=Target(kind=target.kind, low=target.low, high=target.high) if target is not None else None,
        notes=step.notes or None,
    )


def _in_order(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(steps, key=lambda step: step.get("stepOrder") or 0)


def _item_read(document: dict[str, Any]) -> WorkoutItem:
    if document.get("type") != "RepeatGroupDTO":
        return _step_read(document)
    steps = _in_order(document.get("workoutSteps") or [])
    if any(step.get("type") == "RepeatGroupDTO" for step in steps):
        raise InvalidGarminWorkout("a repeat inside a repeat has no place in a structured workout")
    times = document.get("numberOfIterations") or document.get("endConditionValue") or 0
    return Repeat(times=int(times), steps=[_step_read(step) for step in steps])


def _step_read(document: dict[str, Any]) -> Step:
    end = _read_type(document.get("endCondition"), "conditionType", END_CONDITIONS)
    value = None if end == "open" else document.get("endConditionValue")
    duration = Duration(kind=end, value=value)
    return Step(
        name="",
        intensity=_read_type(document.get("stepType"), "stepType", STEP_TYPES),
        duration=duration,
        target=_target_read(document),
        notes=document.get("description") or None,
    )


def _target_read(document: dict[str, Any]) -> Target | None:
    garmin: dict[str, Any] = document.get("targetType") or {}
    key = garmin.get("workoutTargetTypeKey") or _TARGET_KEYS_BY_ID.get(
        garmin.get("workoutTargetTypeId", NO_TARGET.id)
    )
    if key in (None, NO_TARGET.key):
        return None
    kind = _TARGETS_READ.get(key)
    if kind is None:
        raise InvalidGarminWorkout(f"no structured-workout target for Garmin's {key!r}")
    one, two = document.get("targetValueOne"), document.get("targetValueTwo")
    if one is None or two is None:
        raise InvalidGarminWorkout(f"a {key} target without a range (a Garmin zone) is not a range")
    return Target(kind=kind, low=min(one, two), high=max(one, two))


def _pool_length_read(document: dict[str, Any]) -> float | None:
    length = document.get("poolLength")
    if length is None:
        return None
    unit = document.get("poolLengthUnit") or METRE
    if unit.get("unitKey") == METRE["unitKey"]:
        return float(length)
    return float(length) * float(unit["factor"]) / 100


def _read_type(garmin: dict[str, Any] | None, name: str, table: dict[_T, GarminType]) -> _T:
    """The contract value for one of Garmin's typed values (`{name}Id`, `{name}Key`): by key, or by id
    where Garmin left the key out."""
    garmin = garmin or {}
    key, id_ = garmin.get(f"{name}Key"), garmin.get(f"{name}Id")
    for value, known in table.items():
        if known.key == key or (key is None and known.id == id_):
            return value
    raise InvalidGarminWorkout(f"no structured-workout value for Garmin's {name} {key or id_!r}")
