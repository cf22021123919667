"""Garmin Connect workout JSON: Garmin's ids for every sport, step, end condition and target, and a
workout read back from the JSON, ours or as Garmin answers it, is the workout sent as Garmin keeps it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings

from export.garmin_json import InvalidGarminWorkout, as_sent, garmin_workout, workout_from_garmin
from relay_contracts.workouts import Duration, Repeat, Step, StructuredWorkout, Target

from .workouts_strategy import structured_workouts

INTERVAL_RUN = StructuredWorkout(
    name="6 x 1000 m",
    sport="run",
    steps=[
        Step(name="Warm-up", intensity="warmup", duration=Duration(kind="time", value=900), notes="Easy"),
        Repeat(
            times=6,
            steps=[
                Step(
                    name="1000 m",
                    intensity="active",
                    duration=Duration(kind="distance", value=1000),
                    target=Target(kind="speed", low=4.0, high=4.3, zone=4),
                ),
                Step(name="Rest", intensity="rest", duration=Duration(kind="time", value=90)),
            ],
        ),
        Step(name="Cool-down", intensity="cooldown", duration=Duration(kind="time", value=600)),
    ],
)

RIDE = StructuredWorkout(
    name="Sweet spot",
    sport="bike",
    steps=[
        Step(
            name="Tempo",
            intensity="active",
            duration=Duration(kind="time", value=1200),
            target=Target(kind="power", low=250, high=270, zone=3),
        ),
        Step(
            name="Spin",
            intensity="recovery",
            duration=Duration(kind="time", value=300),
            target=Target(kind="speed", low=7.5, high=8.5),
        ),
        Step(
            name="Home",
            intensity="cooldown",
            duration=Duration(kind="open"),
            target=Target(kind="heart_rate", low=110, high=130),
        ),
    ],
)

POOL_SWIM = StructuredWorkout(
    name="Pool",
    sport="swim",
    pool_length_m=25,
    steps=[
        Step(
            name="400 m",
            intensity="active",
            duration=Duration(kind="distance", value=400),
            target=Target(kind="speed", low=1.1, high=1.2),
        )
    ],
)


def steps_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    (segment,) = document["workoutSegments"]
    steps: list[dict[str, Any]] = segment["workoutSteps"]
    return steps


def step_orders(steps: list[dict[str, Any]]) -> list[int]:
    orders: list[int] = []
    for step in steps:
        orders.append(step["stepOrder"])
        orders.extend(step_orders(step.get("workoutSteps", [])))
    return orders


def as_garmin_answers(document: dict[str, Any]) -> dict[str, Any]:
    """The document as Garmin's workout service returns it: ids, display orders, nulls and floats added."""
    answered: dict[str, Any] = {
        **document,
        "workoutId": 1234567890,
        "ownerId": 42,
        "createdDate": "2025-03-01T06:30:00.0",
        "updatedDate": "2025-03-01T06:30:00.0",
        "sportType": {**document["sportType"], "displayOrder": 1},
        "subSportType": None,
        "estimateType": None,
        "avgTrainingSpeed": 0.0,
        "workoutSegments": [
            {
                **segment,
                "workoutSteps": [
                    _step_answered(step, 1000 + i) for i, step in enumerate(segment["workoutSteps"])
                ],
            }
            for segment in document["workoutSegments"]
        ],
    }
    return answered


def _step_answered(step: dict[str, Any], step_id: int) -> dict[str, Any]:
    answered = {
        "stepId": step_id,
        "childStepId": None,
        "description": None,
        "endConditionValue": None,
        "preferredEndConditionUnit": None,
        "endConditionCompare": None,
        "targetValueOne": None,
        "targetValueTwo": None,
        "targetValueUnit": None,
        "zoneNumber": None,
        "secondaryTargetType": None,
        "strokeType": {"strokeTypeId": 0, "strokeTypeKey": None, "displayOrder": 0},
        **step,
        "stepType": {**step["stepType"], "displayOrder": step["stepType"]["stepTypeId"]},
    }
    if "endCondition" in step:
        answered["endCondition"] = {**step["endCondition"], "displayOrder": 1, "displayable": True}
    if isinstance(step.get("endConditionValue"), int):
        answered["endConditionValue"] = float(step["endConditionValue"])
    if "workoutSteps" in step:
        answered["workoutSteps"] = [
            _step_answered(child, step_id * 10 + i) for i, child in enumerate(step["workoutSteps"])
        ]
    return answered


@settings(max_examples=150, deadline=None)
@given(structured_workouts())
def test_every_workout_reads_back_from_its_json_as_garmin_keeps_it(workout: StructuredWorkout) -> None:
    document = json.loads(json.dumps(garmin_workout(workout), allow_nan=False))

    assert workout_from_garmin(document) == as_sent(workout)


@settings(max_examples=100, deadline=None)
@given(structured_workouts())
def test_a_workout_reads_the_same_from_garmins_answer_with_its_added_fields(
    workout: StructuredWorkout,
) -> None:
    assert workout_from_garmin(as_garmin_answers(garmin_workout(workout))) == as_sent(workout)


@settings(max_examples=100, deadline=None)
@given(structured_workouts())
def test_step_order_numbers_every_step_and_group_from_one(workout: StructuredWorkout) -> None:
    steps = steps_of(garmin_workout(workout))
    groups = sum(isinstance(item, Repeat) for item in workout.steps)
    written_steps = sum(len(item.steps) if isinstance(item, Repeat) else 1 for item in workout.steps)

    assert step_orders(steps) == list(range(1, groups + written_steps + 1))


def test_as_sent_drops_only_step_names_zones_and_empty_notes() -> None:
    workout = StructuredWorkout(
        name="Tempo",
        sport="run",
        pool_length_m=25,
        steps=[
            Step(
                name="Tempo",
                intensity="active",
                duration=Duration(kind="time", value=1200.5),
                target=Target(kind="heart_rate", low=150.5, high=160, zone=3),
                notes="",
            )
        ],
    )

    assert as_sent(workout) == StructuredWorkout(
        name="Tempo",
        sport="run",
        steps=[
            Step(
                name="",
                intensity="active",
                duration=Duration(kind="time", value=1200.5),
                target=Target(kind="heart_rate", low=150.5, high=160),
            )
        ],
    )


def test_an_interval_run_has_garmins_ids_and_a_repeat_group() -> None:
    document = garmin_workout(INTERVAL_RUN, description="Track session")

    assert document["workoutName"] == "6 x 1000 m"
    assert document["description"] == "Track session"
    assert document["sportType"] == {"sportTypeId": 1, "sportTypeKey": "running"}
    (segment,) = document["workoutSegments"]
    assert (segment["segmentOrder"], segment["sportType"]) == (1, document["sportType"])
    warmup, group, cooldown = segment["workoutSteps"]
    assert warmup["type"] == "ExecutableStepDTO"
    assert warmup["stepType"] == {"stepTypeId": 1, "stepTypeKey": "warmup"}
    assert warmup["endCondition"] == {"conditionTypeId": 2, "conditionTypeKey": "time"}
    assert (warmup["endConditionValue"], warmup["description"]) == (900, "Easy")
    assert warmup["targetType"] == {"workoutTargetTypeId": 1, "workoutTargetTypeKey": "no.target"}
    assert group["type"] == "RepeatGroupDTO"
    assert group["stepType"] == {"stepTypeId": 6, "stepTypeKey": "repeat"}
    assert (group["numberOfIterations"], group["smartRepeat"], group["endConditionValue"]) == (6, False, 6)
    assert group["endCondition"] == {"conditionTypeId": 7, "conditionTypeKey": "iterations"}
    interval, rest = group["workoutSteps"]
    assert interval["stepType"] == {"stepTypeId": 3, "stepTypeKey": "interval"}
    assert interval["endCondition"] == {"conditionTypeId": 3, "conditionTypeKey": "distance"}
    assert interval["endConditionValue"] == 1000
    assert interval["targetType"] == {"workoutTargetTypeId": 6, "workoutTargetTypeKey": "pace.zone"}
    assert (interval["targetValueOne"], interval["targetValueTwo"]) == (4.0, 4.3)
    assert rest["stepType"] == {"stepTypeId": 5, "stepTypeKey": "rest"}
    assert "description" not in rest
    assert cooldown["stepType"] == {"stepTypeId": 2, "stepTypeKey": "cooldown"}
    assert step_orders(segment["workoutSteps"]) == [1, 2, 3, 4, 5]


def test_a_ride_has_power_speed_and_heart_rate_targets_in_watts_m_s_and_bpm() -> None:
    document = garmin_workout(RIDE)

    assert document["sportType"] == {"sportTypeId": 2, "sportTypeKey": "cycling"}
    power, speed, heart_rate = steps_of(document)
    assert power["targetType"] == {"workoutTargetTypeId": 2, "workoutTargetTypeKey": "power.zone"}
    assert (power["targetValueOne"], power["targetValueTwo"]) == (250, 270)
    assert speed["stepType"] == {"stepTypeId": 4, "stepTypeKey": "recovery"}
    assert speed["targetType"] == {"workoutTargetTypeId": 5, "workoutTargetTypeKey": "speed.zone"}
    assert (speed["targetValueOne"], speed["targetValueTwo"]) == (7.5, 8.5)
    assert heart_rate["targetType"] == {"workoutTargetTypeId": 4, "workoutTargetTypeKey": "heart.rate.zone"}
    assert (heart_rate["targetValueOne"], heart_rate["targetValueTwo"]) == (110, 130)
    assert heart_rate["endCondition"] == {"conditionTypeId": 1, "conditionTypeKey": "lap.button"}
    assert "endConditionValue" not in heart_rate


def test_a_pool_swim_carries_its_pool_length_in_metres_and_paces_its_speed_targets() -> None:
    document = garmin_workout(POOL_SWIM)

    assert document["sportType"] == {"sportTypeId": 4, "sportTypeKey": "swimming"}
    assert document["poolLength"] == 25
    assert document["poolLengthUnit"] == {"unitId": 1, "unitKey": "meter", "factor": 100.0}
    (swim,) = steps_of(document)
    assert swim["targetType"] == {"workoutTargetTypeId": 6, "workoutTargetTypeKey": "pace.zone"}


def test_a_run_has_no_pool_length() -> None:
    assert "poolLength" not in garmin_workout(INTERVAL_RUN)


def test_the_estimates_are_given_only_when_every_step_has_that_kind_of_duration() -> None:
    timed = garmin_workout(RIDE.model_copy(update={"steps": RIDE.steps[:2]}))

    assert timed["estimatedDurationInSecs"] == 1500
    assert "estimatedDistanceInMeters" not in timed
    assert garmin_workout(POOL_SWIM)["estimatedDistanceInMeters"] == 400
    assert "estimatedDurationInSecs" not in garmin_workout(INTERVAL_RUN)
    assert "estimatedDistanceInMeters" not in garmin_workout(INTERVAL_RUN)


def test_a_pool_length_in_yards_reads_back_in_metres() -> None:
    document = {
        **garmin_workout(POOL_SWIM),
        "poolLength": 25,
        "poolLengthUnit": {"unitKey": "yard", "factor": 91.44},
    }

    assert workout_from_garmin(document).pool_length_m == pytest.approx(22.86)


def test_a_repeat_inside_a_repeat_is_not_a_structured_workout() -> None:
    document = garmin_workout(INTERVAL_RUN)
    group = steps_of(document)[1]
    group["workoutSteps"].append({**group, "workoutSteps": list(group["workoutSteps"])})

    with pytest.raises(InvalidGarminWorkout, match="repeat inside a repeat"):
        workout_from_garmin(document)


def test_a_garmin_zone_without_a_range_is_not_read_as_a_range() -> None:
    document = garmin_workout(RIDE)
    power = steps_of(document)[0]
    power.update(targetValueOne=None, targetValueTwo=None, zoneNumber=3)

    with pytest.raises(InvalidGarminWorkout, match="without a range"):
        workout_from_garmin(document)


def test_an_infinite_value_is_refused_rather_than_sent() -> None:
    endless = StructuredWorkout(
        name="Endless",
        sport="run",
        steps=[Step(name="Go", intensity="active", duration=Duration(kind="time", value=float("inf")))],
    )

    with pytest.raises(ValueError, match="cannot be sent"):
        garmin_workout(endless)
