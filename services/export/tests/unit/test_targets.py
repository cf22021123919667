from datetime import UTC, datetime, timedelta

from export.models import AthleteProfile
from export.targets import effective_thresholds, retarget
from relay_contracts.workouts import Duration, Repeat, Step, StructuredWorkout, Target, WorkoutThresholds

PLANNED_AT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
PLANNED = WorkoutThresholds(max_hr=190, ftp_w=250, threshold_pace_s_per_km=240, css_s_per_100m=100)


def profile(updated_at: datetime, **thresholds: int) -> AthleteProfile:
    return AthleteProfile(user_id="usr_1", timezone="Europe/Paris", updated_at=updated_at, **thresholds)


def step(target: Target | None) -> Step:
    return Step(name="Main", intensity="active", duration=Duration(kind="time", value=600), target=target)


def workout(sport: str, *items: Step | Repeat) -> StructuredWorkout:
    return StructuredWorkout(name="Session", sport=sport, steps=list(items))  # type: ignore[arg-type]


def test_a_profile_changed_after_the_plan_gives_its_thresholds() -> None:
    later = profile(PLANNED_AT + timedelta(days=1), ftp_watts=275, max_heart_rate=185)
    assert effective_thresholds(PLANNED, later, PLANNED_AT) == PLANNED.model_copy(
        update={"ftp_w": 275, "max_hr": 185}
    )


def test_a_profile_older_than_the_plan_leaves_the_planned_thresholds() -> None:
    older = profile(PLANNED_AT - timedelta(days=1), ftp_watts=200)
    assert effective_thresholds(PLANNED, older, PLANNED_AT) == PLANNED


def test_power_targets_follow_a_higher_ftp() -> None:
    ride = workout("bike", step(Target(kind="power", low=200, high=225, zone=3)))
    moved = retarget(ride, PLANNED, PLANNED.model_copy(update={"ftp_w": 300}))
    assert moved.steps[0].target == Target(kind="power", low=240, high=270, zone=3)  # type: ignore[union-attr]


def test_run_speeds_follow_a_faster_threshold_pace_inside_repeats() -> None:
    interval = step(Target(kind="speed", low=4.0, high=4.2, zone=4))
    run = workout("run", Repeat(times=5, steps=[interval, step(None)]))
    moved = retarget(run, PLANNED, PLANNED.model_copy(update={"threshold_pace_s_per_km": 200}))
    repeat = moved.steps[0]
    assert isinstance(repeat, Repeat)
    assert repeat.steps[0].target == Target(kind="speed", low=4.8, high=5.04, zone=4)
    assert repeat.steps[1].target is None


def test_heart_rate_targets_follow_the_max_heart_rate() -> None:
    run = workout("run", step(Target(kind="heart_rate", low=133, high=152, zone=2)))
    moved = retarget(run, PLANNED, PLANNED.model_copy(update={"max_hr": 200}))
    assert moved.steps[0].target == Target(kind="heart_rate", low=140, high=160, zone=2)  # type: ignore[union-attr]


def test_targets_of_a_threshold_planning_did_not_know_stay_as_planned() -> None:
    unknown = PLANNED.model_copy(update={"ftp_w": None})
    ride = workout("bike", step(Target(kind="power", low=200, high=225)))
    assert retarget(ride, unknown, unknown.model_copy(update={"ftp_w": 300})) == ride


def test_a_ride_speed_target_does_not_move_with_the_running_pace() -> None:
    ride = workout("bike", step(Target(kind="speed", low=8.0, high=9.0)))
    assert retarget(ride, PLANNED, PLANNED.model_copy(update={"threshold_pace_s_per_km": 200})) == ride
