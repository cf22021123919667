"""The shape of a Garmin Connect workout document (`POST /workout-service/workout`), checked far enough
to refuse what Connect refuses: a workout needs a name, a known sport and at least one segment of steps;
a step is an `ExecutableStepDTO` (a step type and an end condition, with a value where the condition
needs one) or a `RepeatGroupDTO` (the repeat step type, a number of iterations, steps of its own).

The ids are Connect's. Keys are checked against ids for sports and step types; for end conditions and
targets only the id is, Connect's keys for the rarer ones being less settled."""

from __future__ import annotations

from typing import Any, TypeGuard

SPORT_TYPES = {
    1: "running",
    2: "cycling",
    3: "other",
    4: "swimming",
    5: "strength_training",
    6: "cardio_training",
    7: "yoga",
    8: "pilates",
    9: "hiit",
    10: "multi_sport",
    11: "mobility",
}
STEP_TYPES = {
    1: "warmup",
    2: "cooldown",
    3: "interval",
    4: "recovery",
    5: "rest",
    6: "repeat",
    7: "other",
    8: "main",
}
REPEAT_STEP_TYPE = 6
END_CONDITIONS = {
    1: "lap.button",
    2: "time",
    3: "distance",
    4: "calories",
    5: "power",
    6: "heart.rate",
    7: "iterations",
    8: "fixed.rest",
    9: "fixed.repetition",
    10: "reps",
}
VALUED_END_CONDITIONS = {2, 3, 4, 10}
"""Time (s), distance (m), calories and repetitions: the step cannot end without the value."""
TARGET_TYPES = {
    1: "no.target",
    2: "power.zone",
    3: "cadence",
    4: "heart.rate.zone",
    5: "speed.zone",
    6: "pace.zone",
    7: "grade",
    8: "heart.rate.lap",
    9: "power.lap",
    10: "power.3s",
    11: "power.10s",
    12: "power.30s",
    13: "speed.lap",
    14: "swim.stroke",
    15: "resistance",
    16: "power.curve",
    17: "swim.css.offset",
    18: "swim.instruction",
}
STEP_KINDS = ("ExecutableStepDTO", "RepeatGroupDTO")


def workout_problem(document: Any) -> str | None:
    """What makes `document` no Connect workout, or None when Connect would take it."""
    if not isinstance(document, dict):
        return "The workout must be a JSON object"
    name = document.get("workoutName")
    if not isinstance(name, str) or not name.strip():
        return "workoutName is required"
    problem = _sport_problem(document.get("sportType"), "sportType")
    if problem:
        return problem
    segments = document.get("workoutSegments")
    if not isinstance(segments, list) or not segments:
        return "workoutSegments must hold at least one segment"
    for index, segment in enumerate(segments):
        where = f"workoutSegments[{index}]"
        if not isinstance(segment, dict) or not _is_int(segment.get("segmentOrder")):
            return f"{where}.segmentOrder is required"
        problem = _sport_problem(segment.get("sportType"), f"{where}.sportType") or _steps_problem(
            segment.get("workoutSteps"), f"{where}.workoutSteps"
        )
        if problem:
            return problem
    return None


def _steps_problem(steps: Any, where: str) -> str | None:
    if not isinstance(steps, list) or not steps:
        return f"{where} must hold at least one step"
    for index, step in enumerate(steps):
        problem = _step_problem(step, f"{where}[{index}]")
        if problem:
            return problem
    return None


def _step_problem(step: Any, where: str) -> str | None:
    if not isinstance(step, dict):
        return f"{where} must be an object"
    kind = step.get("type")
    if kind not in STEP_KINDS:
        return f"{where}.type must be one of {', '.join(STEP_KINDS)}"
    if not _is_int(step.get("stepOrder")):
        return f"{where}.stepOrder is required"
    problem = _typed_problem(
        step.get("stepType"), "stepTypeId", "stepTypeKey", STEP_TYPES, f"{where}.stepType"
    )
    if problem:
        return problem
    is_repeat_type = step["stepType"]["stepTypeId"] == REPEAT_STEP_TYPE
    if kind == "RepeatGroupDTO":
        iterations = step.get("numberOfIterations")
        if not _is_int(iterations) or iterations < 1:
            return f"{where}.numberOfIterations must be a positive integer"
        if not is_repeat_type:
            return f"{where}.stepType of a repeat group must be repeat"
        return _steps_problem(step.get("workoutSteps"), f"{where}.workoutSteps")
    if is_repeat_type:
        return f"{where}.stepType repeat belongs to a RepeatGroupDTO"
    condition: Any = step.get("endCondition")
    problem = _typed_problem(condition, "conditionTypeId", None, END_CONDITIONS, f"{where}.endCondition")
    if problem:
        return problem
    value = step.get("endConditionValue")
    if condition["conditionTypeId"] in VALUED_END_CONDITIONS and not (_is_number(value) and value > 0):
        return f"{where}.endConditionValue must be a positive number for this endCondition"
    target = step.get("targetType")
    if target is not None:
        problem = _typed_problem(target, "workoutTargetTypeId", None, TARGET_TYPES, f"{where}.targetType")
        if problem:
            return problem
    for bound in ("targetValueOne", "targetValueTwo"):
        if step.get(bound) is not None and not _is_number(step[bound]):
            return f"{where}.{bound} must be a number"
    return None


def _sport_problem(sport: Any, where: str) -> str | None:
    return _typed_problem(sport, "sportTypeId", "sportTypeKey", SPORT_TYPES, where)


def _typed_problem(
    value: Any, id_field: str, key_field: str | None, known: dict[int, str], where: str
) -> str | None:
    """A Connect type reference (`{"<x>Id": 1, "<x>Key": "..."}`) must name a known id, and the key,
    when checked and given, must be that id's."""
    if not isinstance(value, dict):
        return f"{where} is required"
    type_id = value.get(id_field)
    if not _is_int(type_id) or type_id not in known:
        return f"{where}.{id_field} {type_id!r} is unknown"
    key = value.get(key_field) if key_field else None
    if key is not None and key != known[type_id]:
        return f"{where}.{key_field} {key!r} is not the key of {id_field} {type_id}"
    return None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
