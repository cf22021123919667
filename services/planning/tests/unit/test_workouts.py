"""Structured workouts of planned sessions: what a coach checks on a realistic athlete (max HR 185,
FTP 250 W, threshold pace 4:30/km, CSS 1:45/100m), and what must hold for any athlete and duration."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.domain import SessionType, Sport, Thresholds
from planning.workouts import (
    SESSION_TYPES,
    build_workout,
    describe,
    estimated_distance_m,
    estimated_duration_seconds,
)
from planning.zones import format_pace_range
from relay_contracts.workouts import Duration, Repeat, Step, StructuredWorkout, Target

ATHLETE = Thresholds(max_hr=185, ftp_w=250, threshold_pace_s_per_km=270, css_s_per_100m=105)
COMBINATIONS = sorted((sport, kind) for sport, kinds in SESSION_TYPES.items() for kind in kinds)


def repeats(workout: StructuredWorkout) -> list[Repeat]:
    return [item for item in workout.steps if isinstance(item, Repeat)]


def main_steps(workout: StructuredWorkout) -> list[Step | Repeat]:
    return workout.steps[1:-1]


def targets(workout: StructuredWorkout) -> list[Target]:
    return [step.target for step in workout.flat_steps() if step.target is not None]


def test_run_intervals_are_six_times_1000_m_in_zone_5_with_two_minute_jogs() -> None:
    workout = build_workout("run", "intervals", 60, ATHLETE)
    [repeat] = repeats(workout)
    bout, jog = repeat.steps

    assert repeat.times == 6
    assert bout.duration == Duration(kind="distance", value=1000)
    assert bout.target is not None
    assert bout.target.zone == 5
    assert format_pace_range(bout.target.low, bout.target.high, "run") == "3:55-4:25/km"
    assert jog.duration == Duration(kind="time", value=120)
    assert jog.target is not None
    assert jog.target.zone == 1


def test_run_threshold_is_three_times_ten_minutes_in_zone_4_with_three_minute_recoveries() -> None:
    [repeat] = repeats(build_workout("run", "threshold", 60, ATHLETE))
    bout, recovery = repeat.steps

    assert repeat.times == 3
    assert (bout.duration.value, recovery.duration.value) == (600, 180)
    assert bout.target is not None
    assert bout.target.zone == 4


def test_bike_threshold_grows_from_three_times_ten_to_two_times_twenty_minutes_over_the_phase() -> None:
    first = repeats(build_workout("bike", "threshold", 90, ATHLETE))[0]
    third = repeats(build_workout("bike", "threshold", 90, ATHLETE, week_in_phase=2))[0]

    assert (first.times, first.steps[0].duration.value) == (3, 600)
    assert (third.times, third.steps[0].duration.value) == (2, 1200)
    assert third.steps[0].target == Target(kind="power", low=228, high=263, zone=4)


def test_bike_vo2_intervals_are_five_times_four_minutes_at_zone_5_power() -> None:
    [repeat] = repeats(build_workout("bike", "intervals", 75, ATHLETE))
    bout = repeat.steps[0]

    assert repeat.times == 5
    assert bout.duration.value == 240
    assert bout.target == Target(kind="power", low=265, high=300, zone=5)


def test_an_endurance_ride_is_one_long_zone_2_step_between_warm_up_and_cool_down() -> None:
    workout = build_workout("bike", "endurance", 120, ATHLETE)
    [main] = main_steps(workout)

    assert isinstance(main, Step)
    assert main.target == Target(kind="power", low=140, high=188, zone=2)
    assert main.duration.value is not None
    assert main.duration.value >= 90 * 60


def test_a_recovery_run_stays_in_zone_1() -> None:
    workout = build_workout("run", "recovery", 30, ATHLETE)

    assert {target.zone for target in targets(workout)} == {1}


def test_a_tempo_ride_holds_blocks_in_zone_3() -> None:
    [repeat] = repeats(build_workout("bike", "tempo", 75, ATHLETE))

    assert repeat.steps[0].target == Target(kind="power", low=190, high=225, zone=3)


def test_race_pace_sessions_hold_blocks_in_zone_3() -> None:
    for sport in ("swim", "bike", "run"):
        [repeat] = repeats(build_workout(sport, "race_pace", 90, ATHLETE))
        assert repeat.steps[0].target is not None
        assert repeat.steps[0].target.zone == 3


def test_a_brick_ride_ends_with_a_block_at_race_intensity_before_a_short_cool_down() -> None:
    workout = build_workout("bike", "brick_bike", 120, ATHLETE)
    endurance, race_block = main_steps(workout)

    assert isinstance(endurance, Step)
    assert isinstance(race_block, Step)
    assert endurance.target is not None
    assert endurance.target.zone == 2
    assert race_block.target is not None
    assert race_block.target.zone == 3
    assert workout.flat_steps()[-1].duration.value == 300


def test_a_brick_run_starts_straight_off_the_bike_at_race_pace() -> None:
    workout = build_workout("run", "brick_run", 30, ATHLETE)
    transition = workout.steps[0]
    [race] = main_steps(workout)

    assert isinstance(transition, Step)
    assert transition.name == "Transition"
    assert transition.duration.value is not None
    assert transition.duration.value <= 300
    assert isinstance(race, Step)
    assert race.target is not None
    assert race.target.zone == 3


def test_a_threshold_swim_is_a_css_set_of_100_m_with_short_rests_at_the_wall() -> None:
    workout = build_workout("swim", "threshold", 45, ATHLETE)
    [repeat] = repeats(workout)
    swim, rest = repeat.steps

    assert repeat.times == 8
    assert swim.duration == Duration(kind="distance", value=100)
    assert swim.target is not None
    assert format_pace_range(swim.target.low, swim.target.high, "swim") == "1:43-1:47/100m"
    assert (rest.intensity, rest.duration, rest.target) == ("rest", Duration(kind="time", value=15), None)


def test_a_technique_swim_is_drills_with_their_cue_then_whole_stroke_swimming() -> None:
    workout = build_workout("swim", "technique", 60, ATHLETE)
    drills = repeats(workout)

    assert len(drills) == 3
    assert len({drill.steps[0].name for drill in drills}) == 3
    assert all(drill.steps[0].notes and drill.steps[0].target is None for drill in drills)
    assert all(drill.steps[1].intensity == "rest" for drill in drills)
    assert workout.flat_steps()[-2].name == "Nage complète"


def test_the_drills_of_a_technique_swim_change_from_week_to_week() -> None:
    first = [r.steps[0].name for r in repeats(build_workout("swim", "technique", 60, ATHLETE))]
    second = [
        r.steps[0].name for r in repeats(build_workout("swim", "technique", 60, ATHLETE, week_in_phase=1))
    ]

    assert first != second


def test_swims_have_no_target_without_css_even_when_max_heart_rate_is_known() -> None:
    workout = build_workout("swim", "threshold", 45, Thresholds(max_hr=185, ftp_w=250))

    assert targets(workout) == []


def test_runs_use_heart_rate_when_neither_threshold_pace_nor_vma_is_known() -> None:
    workout = build_workout("run", "threshold", 60, Thresholds(max_hr=185))

    assert {target.kind for target in targets(workout)} == {"heart_rate"}


def test_later_weeks_of_a_phase_add_one_repeat_each_up_to_two() -> None:
    times = [
        repeats(build_workout("run", "intervals", 75, ATHLETE, week_in_phase=w))[0].times for w in range(5)
    ]

    assert times == [6, 7, 8, 8, 8]


def test_short_sessions_shorten_the_bouts_rather_than_drop_the_intervals() -> None:
    workout = build_workout("run", "intervals", 20, Thresholds(threshold_pace_s_per_km=420))
    [repeat] = repeats(workout)

    assert repeat.times == 2
    assert repeat.steps[0].duration.value is not None
    assert repeat.steps[0].duration.value < 1000


def test_a_50_m_pool_gets_whole_lengths_of_50_m() -> None:
    workout = build_workout("swim", "intervals", 40, ATHLETE, pool_length_m=50)

    assert workout.pool_length_m == 50
    assert all(
        (s.duration.value or 1) % 50 == 0 for s in workout.flat_steps() if s.duration.kind == "distance"
    )


def test_a_session_type_the_sport_has_not_is_refused() -> None:
    with pytest.raises(ValueError, match="brick_run"):
        build_workout("swim", "brick_run", 30, ATHLETE)
    with pytest.raises(ValueError, match="brick_bike"):
        describe("run", "brick_bike")


@pytest.mark.parametrize(
    ("duration", "week", "pool"),
    [(0, 0, 25.0), (60, -1, 25.0), (60, 0, 0.0), (60, 0, 100.0)],
    ids=["no duration", "negative week", "no pool", "a lake, not a pool"],
)
def test_a_workout_is_refused_for_nonsense_sizes(duration: int, week: int, pool: float) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        build_workout("swim", "endurance", duration, ATHLETE, week_in_phase=week, pool_length_m=pool)


def test_the_description_of_run_intervals_is_in_french_like_the_app() -> None:
    title, objective, tips = describe("run", "intervals")

    assert title == "Course - Intervalles"
    assert "VMA" in objective
    assert 2 <= len(tips) <= 3


@pytest.mark.parametrize(("sport", "session_type"), COMBINATIONS)
def test_every_session_has_a_title_an_objective_and_two_or_three_tips(
    sport: Sport, session_type: SessionType
) -> None:
    title, objective, tips = describe(sport, session_type)

    assert title.startswith({"swim": "Natation - ", "bike": "Vélo - ", "run": "Course - "}[sport])
    assert objective.endswith(".")
    assert 2 <= len(tips) <= 3
    assert build_workout(sport, session_type, 60, ATHLETE).name == title


def test_the_distance_of_a_run_follows_the_athletes_paces() -> None:
    workout = build_workout("run", "endurance", 60, ATHLETE)
    distance = estimated_distance_m(workout, ATHLETE)

    assert distance is not None
    assert 10_000 < distance < 12_500


def test_the_distance_of_a_swim_is_the_sum_of_its_lengths() -> None:
    workout = build_workout("swim", "threshold", 45, Thresholds())
    lengths = sum(s.duration.value or 0 for s in workout.flat_steps() if s.duration.kind == "distance")

    assert estimated_distance_m(workout, Thresholds()) == lengths


def test_the_distance_is_unknown_for_rides_and_for_runs_without_a_pace() -> None:
    assert estimated_distance_m(build_workout("bike", "endurance", 90, ATHLETE), ATHLETE) is None
    heart_only = Thresholds(max_hr=185)
    assert estimated_distance_m(build_workout("run", "endurance", 45, heart_only), heart_only) is None


def test_a_step_ending_on_a_lap_press_has_no_estimate() -> None:
    workout = StructuredWorkout(
        name="Test",
        sport="run",
        steps=[Step(name="Libre", intensity="active", duration=Duration(kind="open"))],
    )

    assert estimated_duration_seconds(workout, ATHLETE) is None
    assert estimated_distance_m(workout, ATHLETE) is None


thresholds = st.builds(
    Thresholds,
    max_hr=st.none() | st.integers(min_value=120, max_value=220),
    ftp_w=st.none() | st.integers(min_value=80, max_value=450),
    threshold_pace_s_per_km=st.none() | st.integers(min_value=180, max_value=480),
    vma_kmh=st.none() | st.floats(min_value=8, max_value=25),
    css_s_per_100m=st.none() | st.integers(min_value=60, max_value=240),
)


@st.composite
def sessions(draw: st.DrawFn) -> tuple[Sport, SessionType, int, int, float]:
    sport, session_type = draw(st.sampled_from(COMBINATIONS))
    duration = draw(st.integers(min_value=20, max_value=120 if sport == "swim" else 360))
    week = draw(st.integers(min_value=0, max_value=12))
    pool = draw(st.sampled_from([25.0, 50.0, 33.33, 22.86, 20.0, 15.0, 10.0]))
    return sport, session_type, duration, week, pool


@settings(max_examples=400, deadline=None)
@given(session=sessions(), known=thresholds)
def test_any_workout_is_valid_framed_by_warm_up_and_cool_down_and_lasts_the_planned_time(
    session: tuple[Sport, SessionType, int, int, float], known: Thresholds
) -> None:
    sport, session_type, duration, week, pool = session
    workout = build_workout(sport, session_type, duration, known, week_in_phase=week, pool_length_m=pool)
    estimate = estimated_duration_seconds(workout, known)

    assert StructuredWorkout.model_validate(workout.model_dump()) == workout
    assert workout.sport == sport
    assert isinstance(workout.steps[0], Step)
    assert workout.steps[0].intensity == "warmup"
    assert isinstance(workout.steps[-1], Step)
    assert workout.steps[-1].intensity == "cooldown"
    assert len(workout.steps) >= 3
    assert all(repeat.times >= 2 for repeat in repeats(workout))
    assert all(target.zone is not None and target.low <= target.high for target in targets(workout))
    assert estimate is not None
    assert 0.85 * duration * 60 <= estimate <= 1.15 * duration * 60


@settings(max_examples=200, deadline=None)
@given(session=sessions(), known=thresholds)
def test_swims_are_whole_pool_lengths_with_timed_rests_only(
    session: tuple[Sport, SessionType, int, int, float], known: Thresholds
) -> None:
    _, session_type, duration, week, pool = session
    if session_type not in SESSION_TYPES["swim"]:
        session_type = "endurance"
    workout = build_workout(
        "swim", session_type, min(duration, 120), known, week_in_phase=week, pool_length_m=pool
    )

    assert workout.pool_length_m == pool
    for step in workout.flat_steps():
        if step.duration.kind == "distance":
            lengths = (step.duration.value or 0) / pool
            assert lengths >= 1
            assert math.isclose(lengths, round(lengths), abs_tol=1e-6)
        else:
            assert (step.duration.kind, step.intensity) == ("time", "rest")
    assert estimated_distance_m(workout, known) is not None


@settings(max_examples=200, deadline=None)
@given(session=sessions(), known=thresholds)
def test_targets_are_the_best_kind_the_thresholds_allow(
    session: tuple[Sport, SessionType, int, int, float], known: Thresholds
) -> None:
    sport, session_type, duration, week, pool = session
    workout = build_workout(sport, session_type, duration, known, week_in_phase=week, pool_length_m=pool)
    kinds = {target.kind for target in targets(workout)}
    run_speed = known.threshold_pace_s_per_km is not None or known.vma_kmh is not None

    if sport == "bike":
        assert kinds == ({"power"} if known.ftp_w else {"heart_rate"} if known.max_hr else set())
    elif sport == "run":
        assert kinds == ({"speed"} if run_speed else {"heart_rate"} if known.max_hr else set())
    else:
        assert kinds == ({"speed"} if known.css_s_per_100m else set())


@settings(max_examples=100, deadline=None)
@given(session=sessions(), known=thresholds)
def test_the_same_inputs_give_the_same_workout(
    session: tuple[Sport, SessionType, int, int, float], known: Thresholds
) -> None:
    sport, session_type, duration, week, pool = session

    first = build_workout(sport, session_type, duration, known, week_in_phase=week, pool_length_m=pool)
    again = build_workout(sport, session_type, duration, known, week_in_phase=week, pool_length_m=pool)

    assert first == again
