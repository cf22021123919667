"""Export's FIT figures: workout files encoded per second on one core, and bytes per file, for a
typical interval session, with Relay's encoder (`export.fit.encode_fit`) and, in the same run, with
Garmin's own encoder (garmin-fit-sdk) writing the same workout from the same StructuredWorkout.
Export encodes a file for every session it pushes, so this is what a push costs in CPU; Garmin's
SDK is the reference it is compared with. Before anything is timed, both files must pass Garmin's
Decoder checks and decode to the same steps (durations, targets, intensities, repeat structure)."""

from __future__ import annotations

import os
import statistics
import time as clock
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from garmin_fit_sdk import Decoder, Encoder, Profile, Stream

from export.fit import check_fit, encode_fit
from relay_contracts.workouts import Repeat, Step, StructuredWorkout
from relay_testing.workouts import INTERVAL_RUN

ROUND_S = 2.0
ROUNDS = 3
WARMUP = 200
CREATED_AT = datetime(2027, 1, 4, 6, 0, tzinfo=UTC)
MESG = Profile["mesg_num"]
SPORTS = {"run": "running", "bike": "cycling", "swim": "swimming"}


def _garmin_step(step: Step) -> dict[str, Any]:
    # Garmin's Encoder only knows main field names (a sub-field name such as duration_time is
    # silently dropped), so values go in raw: ms, cm, mm/s, bpm + 100, W + 1000.
    mesg: dict[str, Any] = {"wkt_step_name": step.name, "intensity": step.intensity}
    duration = step.duration
    mesg["duration_type"] = duration.kind
    if duration.value is not None:
        mesg["duration_value"] = round(duration.value * (1000 if duration.kind == "time" else 100))
    target = step.target
    if target is None:
        mesg["target_type"] = "open"
    else:
        scale, offset = {"heart_rate": (1, 100), "speed": (1000, 0), "power": (1, 1000)}[target.kind]
        mesg |= {
            "target_type": target.kind,
            "target_value": 0,  # 0: the custom range below, not one of the device's zones
            "custom_target_value_low": round(target.low * scale) + offset,
            "custom_target_value_high": round(target.high * scale) + offset,
        }
    return mesg


def _garmin_encode(workout: StructuredWorkout, *, created_at: datetime) -> bytes:
    steps: list[dict[str, Any]] = []
    for item in workout.steps:
        if isinstance(item, Repeat):
            first = len(steps)
            steps.extend(_garmin_step(step) for step in item.steps)
            steps.append(
                {
                    "duration_type": "repeat_until_steps_cmplt",
                    "duration_value": first,
                    "target_value": item.times,
                }
            )
        else:
            steps.append(_garmin_step(item))
    encoder = Encoder()
    encoder.write_mesg(
        {"mesg_num": MESG["FILE_ID"], "type": "workout", "manufacturer": "development", "product": 0}
        | {"serial_number": 1, "time_created": created_at}
    )
    encoder.write_mesg(
        {"mesg_num": MESG["WORKOUT"], "wkt_name": workout.name, "sport": SPORTS[workout.sport]}
        | {"num_valid_steps": len(steps), "pool_length": workout.pool_length_m}
    )
    for index, step in enumerate(steps):
        encoder.write_mesg({"mesg_num": MESG["WORKOUT_STEP"], "message_index": index, **step})
    return encoder.close()


def _decoded_steps(data: bytes) -> tuple[str, list[tuple[Any, ...]]]:
    """The workout's sport and its steps as Garmin's Decoder reads them, in file order."""
    assert Decoder(Stream.from_byte_array(data)).is_fit()
    assert Decoder(Stream.from_byte_array(data)).check_integrity()
    messages, errors = Decoder(Stream.from_byte_array(data)).read()
    assert not errors, errors
    steps = []
    for m in messages["workout_step_mesgs"]:  # message_index too: a repeat's duration_step points at it
        kind, index = m["duration_type"], m.get("message_index")
        value = m.get("duration_time", m.get("duration_distance", m.get("duration_step")))
        if kind == "repeat_until_steps_cmplt":
            steps.append((index, kind, value, "repeat", m.get("repeat_steps")))
        elif m.get("target_type", "open") == "open":
            steps.append((index, kind, value, "open", m.get("intensity")))
        else:
            low, high = m.get("custom_target_value_low"), m.get("custom_target_value_high")
            steps.append(
                (index, kind, value, m["target_type"], m.get("target_value"), low, high, m.get("intensity"))
            )
    return messages["workout_mesgs"][0]["sport"], steps


def _time(encode: Callable[[], bytes], samples: list[float]) -> float:
    """One round: encodes for at least ROUND_S seconds; returns files per second, appends each file's s."""
    began = now = clock.perf_counter()
    files = 0
    while now - began < ROUND_S:
        start = now
        encode()
        now = clock.perf_counter()
        samples.append(now - start)
        files += 1
    return files / (now - began)


def run() -> dict[str, object]:
    workout = INTERVAL_RUN
    encoders: dict[str, Callable[[], bytes]] = {
        "relay": lambda: encode_fit(workout, created_at=CREATED_AT),
        "garmin": lambda: _garmin_encode(workout, created_at=CREATED_AT),
    }
    files = {name: encode() for name, encode in encoders.items()}
    check_fit(files["relay"])
    relay, garmin = _decoded_steps(files["relay"]), _decoded_steps(files["garmin"])
    assert relay == garmin, f"the two files differ:\nrelay  {relay}\ngarmin {garmin}"
    assert len(relay[1]) == 5

    affinity = os.sched_getaffinity(0)
    cpu = max(affinity)
    rates: dict[str, list[float]] = {name: [] for name in encoders}
    samples: dict[str, list[float]] = {name: [] for name in encoders}
    os.sched_setaffinity(0, {cpu})
    try:
        for encode in encoders.values():
            for _ in range(WARMUP):
                encode()
        for _ in range(ROUNDS):  # rounds alternate between the encoders, so drift hits both alike
            for name, encode in encoders.items():
                rates[name].append(_time(encode, samples[name]))
    finally:
        os.sched_setaffinity(0, affinity)

    best = {name: max(rates[name]) for name in encoders}
    return {
        "relay_files_per_s": round(best["relay"]),
        "garmin_files_per_s": round(best["garmin"]),
        "relay_vs_garmin": round(best["relay"] / best["garmin"], 2),
        "relay_median_us": round(statistics.median(samples["relay"]) * 1e6, 1),
        "garmin_median_us": round(statistics.median(samples["garmin"]) * 1e6, 1),
        "relay_bytes": len(files["relay"]),
        "garmin_bytes": len(files["garmin"]),
        "fit_steps": len(relay[1]),
        "setup": f"6 x 1000 m run session (5 FIT steps), pinned to cpu {cpu}, best of {ROUNDS} rounds "
        f"of >= {ROUND_S:g} s per encoder, after {WARMUP} warm-up encodes",
    }
