"""FIT workout files: every workout becomes a file Garmin's decoder accepts and reads back as planned, at
the file's precision; the raw FIT values follow the profile's units and conventions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from garmin_fit_sdk import Decoder, Stream
from hypothesis import given, settings

from export.fit import FitRangeError, InvalidFitFile, as_written, check_fit, encode_fit, read_fit
from relay_contracts.workouts import Duration, Repeat, Step, StructuredWorkout, Target

from .workouts_strategy import structured_workouts

CREATED_AT = datetime(2025, 3, 1, 6, 30, tzinfo=UTC)

INTERVAL_RUN = StructuredWorkout(
    name="6 x 1000 m",
    sport="run",
    steps=[
        Step(name="Warm-up", intensity="warmup", duration=Duration(kind="time", value=900)),
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


def decoded(data: bytes) -> dict[str, Any]:
    """The file's messages as Garmin's decoder reads them, without going through read_fit."""
    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
    assert errors == []
    return cast(dict[str, Any], messages)


def single_step_workout(sport: Any, step: Step, **workout: Any) -> StructuredWorkout:
    return StructuredWorkout(name="One step", sport=sport, steps=[step], **workout)


@settings(max_examples=150, deadline=None)
@given(structured_workouts())
def test_every_workout_is_a_file_garmin_accepts_and_reads_back_as_written(workout: StructuredWorkout) -> None:
    data = encode_fit(workout, created_at=CREATED_AT)

    check_fit(data)
    assert read_fit(data) == as_written(workout)


@settings(max_examples=150, deadline=None)
@given(structured_workouts())
def test_as_written_moves_no_value_by_more_than_half_the_files_resolution(workout: StructuredWorkout) -> None:
    written = as_written(workout)

    assert written.sport == workout.sport
    assert len(written.steps) == len(workout.steps)
    for planned, kept in zip(workout.flat_steps(), written.flat_steps(), strict=True):
        assert kept.intensity == planned.intensity
        assert kept.duration.kind == planned.duration.kind
        if planned.duration.value is not None and kept.duration.value is not None:
            resolution = 0.001 if planned.duration.kind == "time" else 0.01
            assert abs(kept.duration.value - planned.duration.value) <= resolution / 2 + 1e-9
        assert (kept.target is None) == (planned.target is None)
        if planned.target is not None and kept.target is not None:
            resolution = 0.001 if planned.target.kind == "speed" else 1.0
            assert kept.target.zone is None
            assert abs(kept.target.low - planned.target.low) <= resolution / 2 + 1e-9
            assert abs(kept.target.high - planned.target.high) <= resolution / 2 + 1e-9
        assert planned.name.startswith(kept.name)
    assert as_written(written) == written


def test_an_interval_run_holds_the_fit_values_a_device_reads() -> None:
    messages = decoded(encode_fit(INTERVAL_RUN, created_at=CREATED_AT))

    (file_id,) = messages["file_id_mesgs"]
    assert (file_id["type"], file_id["manufacturer"]) == ("workout", "development")
    assert file_id["time_created"] == CREATED_AT
    (workout,) = messages["workout_mesgs"]
    assert (workout["wkt_name"], workout["sport"], workout["num_valid_steps"]) == ("6 x 1000 m", "running", 5)
    warmup, interval, rest, repeat, cooldown = messages["workout_step_mesgs"]
    assert [step["message_index"] for step in (warmup, interval, rest, repeat, cooldown)] == [0, 1, 2, 3, 4]
    assert (warmup["wkt_step_name"], warmup["intensity"]) == ("Warm-up", "warmup")
    assert (warmup["duration_type"], warmup["duration_time"], warmup["duration_value"]) == (
        "time",
        900.0,
        900_000,
    )
    assert warmup["target_type"] == "open"
    assert (interval["duration_type"], interval["duration_distance"]) == ("distance", 1000.0)
    assert interval["duration_value"] == 100_000
    assert (interval["target_type"], interval["target_value"]) == ("speed", 0)
    assert (interval["custom_target_speed_low"], interval["custom_target_speed_high"]) == (4.0, 4.3)
    assert (interval["custom_target_value_low"], interval["custom_target_value_high"]) == (4000, 4300)
    assert (rest["intensity"], rest["duration_time"]) == ("rest", 90.0)
    assert repeat["duration_type"] == "repeat_until_steps_cmplt"
    assert (repeat["duration_step"], repeat["repeat_steps"]) == (interval["message_index"], 6)
    assert (cooldown["intensity"], cooldown["duration_time"]) == ("cooldown", 600.0)


def test_an_interval_run_reads_back_with_its_repeat_and_without_its_zone() -> None:
    read = read_fit(encode_fit(INTERVAL_RUN, created_at=CREATED_AT))

    block = read.steps[1]
    assert isinstance(block, Repeat)
    assert block.times == 6
    assert [step.name for step in block.steps] == ["1000 m", "Rest"]
    assert block.steps[0].target == Target(kind="speed", low=4.0, high=4.3)


def test_heart_rate_is_stored_as_bpm_plus_100_and_power_as_watts_plus_1000() -> None:
    ride = StructuredWorkout(
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
                name="Easy",
                intensity="recovery",
                duration=Duration(kind="open"),
                target=Target(kind="heart_rate", low=119.6, high=135.2),
            ),
        ],
    )

    power, heart_rate = decoded(encode_fit(ride, created_at=CREATED_AT))["workout_step_mesgs"]

    assert (power["target_type"], power["target_value"]) == ("power", 0)
    assert (power["custom_target_power_low"], power["custom_target_power_high"]) == (1250, 1270)
    assert (heart_rate["target_type"], heart_rate["target_value"]) == ("heart_rate", 0)
    assert (heart_rate["custom_target_heart_rate_low"], heart_rate["custom_target_heart_rate_high"]) == (
        220,
        235,
    )
    assert heart_rate["duration_type"] == "open"


def test_a_pool_swim_is_lap_swimming_with_its_pool_length_in_metres() -> None:
    swim = single_step_workout(
        "swim",
        Step(name="400 m", intensity="active", duration=Duration(kind="distance", value=400)),
        pool_length_m=25,
    )

    (workout,) = decoded(encode_fit(swim, created_at=CREATED_AT))["workout_mesgs"]

    assert (workout["sport"], workout["sub_sport"]) == ("swimming", "lap_swimming")
    assert (workout["pool_length"], workout["pool_length_unit"]) == (25.0, "metric")


def test_a_swim_without_a_pool_length_has_none_in_the_file() -> None:
    swim = single_step_workout("swim", Step(name="Swim", intensity="active", duration=Duration(kind="open")))

    (workout,) = decoded(encode_fit(swim, created_at=CREATED_AT))["workout_mesgs"]

    assert workout["sport"] == "swimming"
    assert "pool_length" not in workout
    assert "sub_sport" not in workout


def test_step_notes_are_in_the_notes_field_cut_to_what_a_fit_string_holds() -> None:
    step = Step(name="Tempo", intensity="active", duration=Duration(kind="open"), notes="é" * 200)

    (message,) = decoded(encode_fit(single_step_workout("run", step), created_at=CREATED_AT))[
        "workout_step_mesgs"
    ]

    assert message["notes"] == "é" * 127
    assert len(message["notes"].encode()) == 254


def test_text_after_a_nul_character_is_not_written() -> None:
    step = Step(name="Tempo\0hidden", intensity="active", duration=Duration(kind="open"), notes="\0")

    assert as_written(single_step_workout("run", step)).steps[0] == Step(
        name="Tempo", intensity="active", duration=Duration(kind="open")
    )


@pytest.mark.parametrize(
    "step",
    [
        Step(name="Blink", intensity="active", duration=Duration(kind="time", value=0.0004)),
        Step(name="Far", intensity="active", duration=Duration(kind="distance", value=50_000_000)),
        Step(
            name="Crawl",
            intensity="active",
            duration=Duration(kind="open"),
            target=Target(kind="speed", low=0.0002, high=1.0),
        ),
    ],
)
def test_a_value_the_file_cannot_hold_is_refused_rather_than_written_wrong(step: Step) -> None:
    workout = single_step_workout("run", step)

    with pytest.raises(FitRangeError):
        encode_fit(workout, created_at=CREATED_AT)
    with pytest.raises(FitRangeError):
        as_written(workout)


def test_a_file_needs_a_timezone_aware_creation_time() -> None:
    with pytest.raises(ValueError, match="timezone"):
        encode_fit(INTERVAL_RUN, created_at=datetime(2025, 3, 1, 6, 30))


def damaged(data: bytes, how: str) -> bytes:
    if how == "a byte changed":
        middle = len(data) // 2
        return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
    if how == "truncated":
        return data[:-3]
    return b"not a FIT file at all"


@pytest.mark.parametrize("how", ["a byte changed", "truncated", "not FIT"])
def test_a_damaged_file_fails_the_check(how: str) -> None:
    data = encode_fit(INTERVAL_RUN, created_at=CREATED_AT)
    check_fit(data)

    with pytest.raises(InvalidFitFile):
        check_fit(damaged(data, how))
    with pytest.raises(InvalidFitFile):
        read_fit(damaged(data, how))
