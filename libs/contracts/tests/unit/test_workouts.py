"""The structured workout contract refuses what no device could run and unrolls repeats in order."""

import pytest
from pydantic import ValidationError

from relay_contracts.workouts import Duration, Repeat, Step, StructuredWorkout, Target


def step(name: str, intensity: str, seconds: float) -> Step:
    return Step(name=name, intensity=intensity, duration=Duration(kind="time", value=seconds))  # type: ignore[arg-type]


def test_repeats_unroll_in_the_order_the_athlete_does_them() -> None:
    workout = StructuredWorkout(
        name="Course - Intervalles",
        sport="run",
        steps=[
            step("Échauffement", "warmup", 900),
            Repeat(times=3, steps=[step("1000 m", "active", 230), step("Récup", "recovery", 120)]),
            step("Retour au calme", "cooldown", 600),
        ],
    )
    names = [s.name for s in workout.flat_steps()]
    assert names == ["Échauffement"] + ["1000 m", "Récup"] * 3 + ["Retour au calme"]


def test_a_workout_read_back_from_json_is_the_same_workout() -> None:
    workout = StructuredWorkout(
        name="Vélo - Seuil",
        sport="bike",
        steps=[
            Step(
                name="Seuil",
                intensity="active",
                duration=Duration(kind="time", value=1200),
                target=Target(kind="power", low=228, high=262, zone=4),
            )
        ],
    )
    assert StructuredWorkout.model_validate_json(workout.model_dump_json()) == workout


@pytest.mark.parametrize(
    "build",
    [
        lambda: Duration(kind="open", value=60),
        lambda: Duration(kind="time"),
        lambda: Duration(kind="distance", value=0),
        lambda: Target(kind="heart_rate", low=160, high=150),
        lambda: Repeat(times=1, steps=[step("x", "active", 60)]),
        lambda: StructuredWorkout(name="vide", sport="swim", steps=[]),
    ],
)
def test_what_no_device_could_run_is_refused(build: object) -> None:
    with pytest.raises(ValidationError):
        build()  # type: ignore[operator]
