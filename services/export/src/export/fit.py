"""A structured workout as a FIT workout file: what COROS imports and what a watch loads.

The file is written with fit-tool and judged by Garmin's own decoder (garmin-fit-sdk), because a file
fit-tool can read back is not yet a file a device accepts. `check_fit` is the gate before a file leaves
the service; `read_fit` is what a device gets; `as_written` is the planned workout at the precision the
file holds, so that `read_fit(encode_fit(w, created_at=t)) == as_written(w)` for every valid `w`.

What the file holds, in FIT profile units:
- `file_id`: type workout, manufacturer development, product 0, time_created (whole seconds).
- `workout`: wkt_name, sport (running, cycling, swimming), num_valid_steps (every workout_step message,
  repeat steps included, as Garmin counts them); for swims with a pool length, sub_sport lap_swimming,
  pool_length (cm) and pool_length_unit metric.
- `workout_step`: message_index, wkt_step_name, notes, intensity; duration_time in ms, duration_distance
  in cm, or open; custom target ranges with target_value 0: heart rate as bpm + 100, power as W + 1000
  (lower values would mean % of max HR or % of FTP), speed in mm/s. A repeat is one more step,
  repeat_until_steps_cmplt, whose duration_step is the message_index of the block's first step and whose
  target_value (repeat_steps) is the count.

What does not survive: a target's zone (a FIT step holds either a zone or a custom range, and the range is
what was prescribed); a pool length on anything but a swim; text after a NUL character or beyond the 254
bytes of UTF-8 a FIT string holds; an empty note (no note). Values that round to nothing at the file's
precision, or beyond what its fields hold, raise `FitRangeError` rather than being written wrong.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, cast

from fit_tool import FitFileBuilder
from fit_tool.profile.messages.file_id_message import FileIdMessage
from fit_tool.profile.messages.workout_message import WorkoutMessage
from fit_tool.profile.messages.workout_step_message import WorkoutStepMessage
from fit_tool.profile.profile_type import (
    DisplayMeasure,
    FileType,
    Intensity,
    Manufacturer,
    Sport,
    SubSport,
    WorkoutStepDuration,
    WorkoutStepTarget,
)
from garmin_fit_sdk import Decoder, Stream
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

MS_PER_SECOND = 1000
CM_PER_METRE = 100
MM_S_PER_M_S = 1000
HEART_RATE_OFFSET = 100
"""FIT reads heart-rate targets up to 100 as % of max HR; above, as bpm + 100."""
POWER_OFFSET = 1000
"""FIT reads power targets up to 1000 as % of FTP; above, as watts + 1000."""

_UINT16_MOST = 0xFFFE
_UINT32_MOST = 0xFFFF_FFFE
"""The all-ones value of an unsigned FIT field means "no value", so the largest is one below."""
_STRING_MOST_BYTES = 254
"""A field's size is one byte and a string carries its terminating NUL."""

_SPORTS: dict[WorkoutSport, Sport] = {"run": Sport.RUNNING, "bike": Sport.CYCLING, "swim": Sport.SWIMMING}
_INTENSITIES: dict[StepIntensity, Intensity] = {
    "warmup": Intensity.WARMUP,
    "active": Intensity.ACTIVE,
    "recovery": Intensity.RECOVERY,
    "rest": Intensity.REST,
    "cooldown": Intensity.COOLDOWN,
}
_TARGET_TYPES = {
    "heart_rate": WorkoutStepTarget.HEART_RATE,
    "power": WorkoutStepTarget.POWER,
    "speed": WorkoutStepTarget.SPEED,
}
"""Our target kinds are also the FIT profile's names for them, as Garmin's decoder returns them."""

# Garmin's decoder names profile values in snake_case.
_SPORTS_READ: dict[str, WorkoutSport] = {"running": "run", "cycling": "bike", "swimming": "swim"}
_INTENSITIES_READ: dict[str, StepIntensity] = {
    "warmup": "warmup",
    "active": "active",
    "recovery": "recovery",
    "rest": "rest",
    "cooldown": "cooldown",
}


class InvalidFitFile(Exception):
    """Garmin's decoder refuses the file, or it holds something a structured workout cannot be."""


class FitRangeError(ValueError):
    """A value the FIT file cannot hold: it rounds to nothing at the file's precision or exceeds its field."""


def encode_fit(workout: StructuredWorkout, *, created_at: datetime) -> bytes:
    """The workout as a FIT workout file, with the values of `as_written(workout)`.

    Built non-strict: fit-tool's strict validator counts num_valid_steps without the repeat steps,
    where Garmin counts every step; `check_fit` is the validation that matters.
    """
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    written = as_written(workout)
    steps = _step_messages(written)
    builder = FitFileBuilder(auto_define=True, strict=False)
    builder.add(_file_id(created_at))
    builder.add(_workout_message(written, num_valid_steps=len(steps)))
    builder.add_all(steps)
    return bytes(builder.build_bytes())


def check_fit(data: bytes) -> None:
    """Raise InvalidFitFile unless Garmin's decoder takes the file as FIT, its CRCs hold and it reads it
    without error."""
    _decoded(data)


def read_fit(data: bytes) -> StructuredWorkout:
    """The workout a device gets from the file, read with Garmin's decoder, repeats rebuilt."""
    messages = _decoded(data)
    headers = messages.get("workout_mesgs", [])
    if len(headers) != 1:
        raise InvalidFitFile(f"a workout file holds one workout message, not {len(headers)}")
    header = headers[0]
    sport = _SPORTS_READ.get(header.get("sport"))
    if sport is None:
        raise InvalidFitFile(f"no structured workout for the sport {header.get('sport')!r}")
    step_messages = sorted(messages.get("workout_step_mesgs", []), key=lambda m: m.get("message_index", 0))
    if header.get("num_valid_steps") != len(step_messages):
        raise InvalidFitFile(
            f"num_valid_steps is {header.get('num_valid_steps')} for {len(step_messages)} steps: "
            "a device would not read them all"
        )
    pool_length = header.get("pool_length") if sport == "swim" else None
    try:
        return StructuredWorkout(
            name=_text_read(header.get("wkt_name")) or "",
            sport=sport,
            pool_length_m=pool_length,
            steps=_items_read(step_messages),
        )
    except ValidationError as error:
        raise InvalidFitFile(f"the file's workout is not a valid structured workout: {error}") from error


def as_written(workout: StructuredWorkout) -> StructuredWorkout:
    """The workout with every value at the precision the file holds: time to the ms, distance to the cm,
    speed to the mm/s, heart rate and power to whole bpm and watts, no zones, texts as FIT keeps them."""
    pool_length = None
    if workout.sport == "swim" and workout.pool_length_m is not None:
        pool_length = _at_precision(workout.pool_length_m, CM_PER_METRE, "pool length", most=_UINT16_MOST)
    return StructuredWorkout(
        name=_fit_text(workout.name),
        sport=workout.sport,
        pool_length_m=pool_length,
        steps=[_item_as_written(item) for item in workout.steps],
    )


def _item_as_written(item: WorkoutItem) -> WorkoutItem:
    if isinstance(item, Repeat):
        return Repeat(times=item.times, steps=[_step_as_written(step) for step in item.steps])
    return _step_as_written(item)


def _step_as_written(step: Step) -> Step:
    return Step(
        name=_fit_text(step.name),
        intensity=step.intensity,
        duration=_duration_as_written(step.duration),
        target=_target_as_written(step.target) if step.target is not None else None,
        notes=_fit_note(step.notes),
    )


def _duration_as_written(duration: Duration) -> Duration:
    if duration.value is None:
        return duration
    scale = MS_PER_SECOND if duration.kind == "time" else CM_PER_METRE
    return Duration(kind=duration.kind, value=_at_precision(duration.value, scale, duration.kind))


def _target_as_written(target: Target) -> Target:
    if target.kind == "speed":
        scale, offset = MM_S_PER_M_S, 0
    else:
        scale, offset = 1, HEART_RATE_OFFSET if target.kind == "heart_rate" else POWER_OFFSET
    most = _UINT32_MOST - offset
    low = _at_precision(target.low, scale, f"{target.kind} target", most=most)
    high = _at_precision(target.high, scale, f"{target.kind} target", most=most)
    return Target(kind=target.kind, low=low, high=high)


def _at_precision(value: float, scale: int, what: str, *, most: int = _UINT32_MOST) -> float:
    """The value as the file holds it: rounded the way fit-tool rounds (half to even), read back the way
    Garmin's decoder scales."""
    if not math.isfinite(value):
        raise FitRangeError(f"a {what} of {value} cannot be written to a FIT file")
    raw = round(value * scale)
    if not 1 <= raw <= most:
        raise FitRangeError(f"a {what} of {value} cannot be written to a FIT file")
    return raw / scale


def _fit_text(text: str) -> str:
    """The text a FIT string keeps: up to the first NUL (the terminator), as UTF-8 (a lone surrogate
    becomes "?"), cut to 254 bytes without splitting a character."""
    encoded = text.split("\0", 1)[0].encode("utf-8", errors="replace")[:_STRING_MOST_BYTES]
    return encoded.decode("utf-8", errors="ignore")


def _fit_note(notes: str | None) -> str | None:
    """An empty note is no note: FIT has no empty string."""
    return (_fit_text(notes) or None) if notes is not None else None


def _file_id(created_at: datetime) -> Any:
    message = FileIdMessage()
    message.type = FileType.WORKOUT
    message.manufacturer = Manufacturer.DEVELOPMENT.value
    message.product = 0
    message.time_created = math.floor(created_at.timestamp()) * 1000
    return message


def _workout_message(workout: StructuredWorkout, *, num_valid_steps: int) -> Any:
    message = WorkoutMessage()
    if workout.name:
        message.workout_name = workout.name
    message.sport = _SPORTS[workout.sport]
    if workout.pool_length_m is not None:
        message.sub_sport = SubSport.LAP_SWIMMING
        message.pool_length = workout.pool_length_m
        message.pool_length_unit = DisplayMeasure.METRIC
    message.num_valid_steps = num_valid_steps
    return message


def _step_messages(workout: StructuredWorkout) -> list[Any]:
    messages: list[Any] = []
    for item in workout.steps:
        if isinstance(item, Repeat):
            first = len(messages)
            for step in item.steps:
                messages.append(_step_message(len(messages), step))
            messages.append(_repeat_message(len(messages), first_step=first, times=item.times))
        else:
            messages.append(_step_message(len(messages), item))
    return messages


def _step_message(index: int, step: Step) -> Any:
    """One step. fit-tool scales duration_value and the custom targets by the sub-field their type selects
    when the value is set, so each type is set before its values."""
    message = WorkoutStepMessage()
    message.message_index = index
    if step.name:
        message.workout_step_name = step.name
    if step.notes:
        message.notes = step.notes
    message.intensity = _INTENSITIES[step.intensity]
    if step.duration.kind == "time":
        message.duration_type = WorkoutStepDuration.TIME
        message.duration_time = step.duration.value
    elif step.duration.kind == "distance":
        message.duration_type = WorkoutStepDuration.DISTANCE
        message.duration_distance = step.duration.value
    else:
        message.duration_type = WorkoutStepDuration.OPEN
    target = step.target
    if target is None:
        message.target_type = WorkoutStepTarget.OPEN
        return message
    message.target_type = _TARGET_TYPES[target.kind]
    message.target_value = 0
    if target.kind == "speed":
        message.custom_target_speed_low = target.low
        message.custom_target_speed_high = target.high
    elif target.kind == "heart_rate":
        message.custom_target_heart_rate_low = round(target.low) + HEART_RATE_OFFSET
        message.custom_target_heart_rate_high = round(target.high) + HEART_RATE_OFFSET
    else:
        message.custom_target_power_low = round(target.low) + POWER_OFFSET
        message.custom_target_power_high = round(target.high) + POWER_OFFSET
    return message


def _repeat_message(index: int, *, first_step: int, times: int) -> Any:
    message = WorkoutStepMessage()
    message.message_index = index
    message.duration_type = WorkoutStepDuration.REPEAT_UNTIL_STEPS_CMPLT
    message.duration_step = first_step
    message.target_repeat_steps = times
    return message


def _decoded(data: bytes) -> dict[str, Any]:
    """Every message Garmin's decoder reads from the file. Its stubs name profile values in camelCase
    where it returns snake_case, so the messages are taken untyped."""
    if not Decoder(_stream(data)).is_fit():
        raise InvalidFitFile("not a FIT file")
    if not Decoder(_stream(data)).check_integrity():
        raise InvalidFitFile("the FIT file is damaged: its size or a CRC does not match")
    messages, errors = Decoder(_stream(data)).read()
    if errors:
        raise InvalidFitFile(f"Garmin's decoder could not read the file: {errors[0]}")
    return cast(dict[str, Any], messages)


def _stream(data: bytes) -> Stream:
    return Stream.from_byte_array(bytearray(data))


def _items_read(step_messages: list[dict[str, Any]]) -> list[WorkoutItem]:
    """The steps in order, each repeat step folding the steps from the one it points at into a Repeat."""
    items: list[WorkoutItem] = []
    position_of: dict[int, int] = {}
    for message in step_messages:
        if message.get("duration_type") != "repeat_until_steps_cmplt":
            position_of[message.get("message_index", 0)] = len(items)
            items.append(_step_read(message))
            continue
        first = position_of.get(message.get("duration_step", -1))
        if first is None:
            raise InvalidFitFile(
                f"the repeat at step {message.get('message_index')} does not point back at a step of its own"
            )
        block = items[first:]
        if not all(isinstance(item, Step) for item in block):
            raise InvalidFitFile("a repeat inside a repeat has no place in a structured workout")
        items[first:] = [Repeat(times=message.get("repeat_steps", 0), steps=cast(list[Step], block))]
        position_of = {index: at for index, at in position_of.items() if at < first}
    return items


def _step_read(message: dict[str, Any]) -> Step:
    intensity = _INTENSITIES_READ.get(message.get("intensity", "active"))
    if intensity is None:
        raise InvalidFitFile(f"no structured-workout intensity for {message.get('intensity')!r}")
    return Step(
        name=_text_read(message.get("wkt_step_name")) or "",
        intensity=intensity,
        duration=_duration_read(message),
        target=_target_read(message),
        notes=_text_read(message.get("notes")),
    )


def _duration_read(message: dict[str, Any]) -> Duration:
    kind = message.get("duration_type")
    if kind == "time":
        return Duration(kind="time", value=message.get("duration_time"))
    if kind == "distance":
        return Duration(kind="distance", value=message.get("duration_distance"))
    if kind == "open":
        return Duration(kind="open")
    raise InvalidFitFile(f"a step ending on {kind!r} has no place in a structured workout")


def _target_read(message: dict[str, Any]) -> Target | None:
    kind = message.get("target_type", "open")
    if kind == "open":
        return None
    if kind not in _TARGET_TYPES or message.get("target_value") != 0:
        raise InvalidFitFile(f"only custom heart-rate, power or speed ranges are read, not {kind!r}")
    if kind == "speed":
        low, high = message.get("custom_target_speed_low"), message.get("custom_target_speed_high")
        return Target(kind="speed", low=low, high=high)
    offset = HEART_RATE_OFFSET if kind == "heart_rate" else POWER_OFFSET
    low, high = message.get(f"custom_target_{kind}_low"), message.get(f"custom_target_{kind}_high")
    if not (isinstance(low, int) and isinstance(high, int) and low > offset and high > offset):
        raise InvalidFitFile(f"a {kind} target relative to a threshold is not an absolute range")
    return Target(kind=kind, low=low - offset, high=high - offset)


def _text_read(value: Any) -> str | None:
    """A decoded string: Garmin's decoder splits one at NULs, and a device shows what comes before."""
    if isinstance(value, list):
        return str(value[0]) if value else None
    return value if isinstance(value, str) else None
