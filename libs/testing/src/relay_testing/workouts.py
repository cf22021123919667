"""Workouts tests and benchmarks share: a typical interval run and a sweet-spot ride, as planning writes
them (targets in bpm, m/s and W, with their zones)."""

from __future__ import annotations

from relay_contracts.workouts import Duration, Repeat, Step, StructuredWorkout, Target

INTERVAL_RUN = StructuredWorkout(
    name="6 x 1000 m",
    sport="run",
    steps=[
        Step(
            name="Warm-up",
            intensity="warmup",
            duration=Duration(kind="time", value=900),
            target=Target(kind="heart_rate", low=120, high=140, zone=2),
        ),
        Repeat(
            times=6,
            steps=[
                Step(
                    name="1000 m",
                    intensity="active",
                    duration=Duration(kind="distance", value=1000),
                    target=Target(kind="speed", low=4.0, high=4.3, zone=4),
                ),
                Step(name="Recovery", intensity="recovery", duration=Duration(kind="time", value=90)),
            ],
        ),
        Step(name="Cool-down", intensity="cooldown", duration=Duration(kind="time", value=600)),
    ],
)

SWEET_SPOT_RIDE = StructuredWorkout(
    name="Sweet spot",
    sport="bike",
    steps=[
        Step(name="Warm-up", intensity="warmup", duration=Duration(kind="time", value=600)),
        Repeat(
            times=3,
            steps=[
                Step(
                    name="Sweet spot",
                    intensity="active",
                    duration=Duration(kind="time", value=720),
                    target=Target(kind="power", low=220, high=235, zone=3),
                ),
                Step(name="Easy", intensity="recovery", duration=Duration(kind="time", value=300)),
            ],
        ),
        Step(name="Cool-down", intensity="cooldown", duration=Duration(kind="open")),
    ],
)
