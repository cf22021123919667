"""Valid structured workouts as planning could prescribe them, for the property tests of both export
formats: every sport, every duration kind, the targets each sport uses, repeats, any text."""

from __future__ import annotations

from typing import Literal

from hypothesis import strategies as st

from relay_contracts.workouts import (
    Duration,
    Repeat,
    Step,
    StructuredWorkout,
    Target,
    WorkoutItem,
    WorkoutSport,
)

TargetKind = Literal["heart_rate", "speed", "power"]

SPORTS: list[WorkoutSport] = ["run", "bike", "swim"]

TARGET_RANGES: dict[WorkoutSport, dict[TargetKind, tuple[float, float]]] = {
    "run": {"speed": (1.5, 7.0), "heart_rate": (60.0, 210.0)},
    "bike": {"power": (40.0, 1500.0), "heart_rate": (60.0, 210.0), "speed": (3.0, 20.0)},
    "swim": {"speed": (0.4, 2.5)},
}
"""Plausible bounds per sport and target kind: bpm, watts, m/s."""

_any_character = st.characters(codec="utf-8")
names = st.text(_any_character, max_size=60)
notes = st.none() | st.text(_any_character, max_size=200)


def _amounts(low: float, high: float) -> st.SearchStrategy[float]:
    """Round values as planning usually writes them, and values finer than any file holds."""
    whole = st.integers(int(low) + 1, int(high)).map(float)
    return whole | st.floats(low, high, allow_nan=False, allow_infinity=False)


durations = st.one_of(
    st.builds(Duration, kind=st.just("time"), value=_amounts(1, 4 * 3600)),
    st.builds(Duration, kind=st.just("distance"), value=_amounts(1, 50_000)),
    st.just(Duration(kind="open")),
)


@st.composite
def targets(draw: st.DrawFn, sport: WorkoutSport) -> Target:
    kind = draw(st.sampled_from(sorted(TARGET_RANGES[sport])))
    low, high = sorted(draw(st.lists(_amounts(*TARGET_RANGES[sport][kind]), min_size=2, max_size=2)))
    zone = draw(st.none() | st.integers(1, 7))
    return Target(kind=kind, low=low, high=high, zone=zone)


def steps(sport: WorkoutSport) -> st.SearchStrategy[Step]:
    return st.builds(
        Step,
        name=names,
        intensity=st.sampled_from(["warmup", "active", "recovery", "rest", "cooldown"]),
        duration=durations,
        target=st.none() | targets(sport),
        notes=notes,
    )


def repeats(sport: WorkoutSport) -> st.SearchStrategy[Repeat]:
    return st.builds(Repeat, times=st.integers(2, 99), steps=st.lists(steps(sport), min_size=1, max_size=4))


@st.composite
def structured_workouts(draw: st.DrawFn) -> StructuredWorkout:
    sport = draw(st.sampled_from(SPORTS))
    pool_length = None
    if sport == "swim":
        pool_length = draw(st.none() | st.sampled_from([25.0, 33.33, 50.0]) | _amounts(10, 100))
    items: list[WorkoutItem] = draw(st.lists(steps(sport) | repeats(sport), min_size=1, max_size=8))
    return StructuredWorkout(name=draw(names), sport=sport, pool_length_m=pool_length, steps=items)
