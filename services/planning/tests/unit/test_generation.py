"""Program generation: what a coach checks on a plan (the seed's athlete and variations), then the
invariants that hold for any valid answers."""

from collections import Counter
from dataclasses import replace
from datetime import date, time, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.domain import (
    PHASES,
    Availability,
    Constraints,
    Goal,
    PlanInputs,
    PlannedSession,
    Program,
    Template,
    Thresholds,
    TimeSlot,
)
from planning.generation import generate_program
from planning.periodization import program_weeks
from planning.templates import DISTANCES, LEVELS, builtin_templates, recommend_template
from planning.workouts import describe, estimated_distance_m

from .program_checks import assert_volume_holds

TEMPLATES = {t.id: t for t in builtin_templates()}
START = date(2025, 3, 24)  # a Monday
SUNDAY, MONDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY = 0, 1, 3, 4, 5, 6
SEED_POOL = {
    MONDAY: (TimeSlot(time(12), time(13, 30)), TimeSlot(time(19), time(21))),
    WEDNESDAY: (TimeSlot(time(12), time(13, 30)),),
    SATURDAY: (TimeSlot(time(8), time(12)),),
}
BUILD_AND_PEAK = {"Build 1", "Build 2", "Peak"}
HARD = {"threshold", "intervals"}


def seed_inputs(weeks: int = 24, **availability: Any) -> PlanInputs:
    """The seed's athlete: an Ironman in 24 weeks, 14 h a week, off on Sunday and Wednesday."""
    return PlanInputs(
        goal=Goal("ironman", START + timedelta(weeks=weeks - 1, days=6), target_time_s=39600),
        level="intermediate",
        availability=replace(Availability(14, frozenset({SUNDAY, WEDNESDAY}), SATURDAY), **availability),
        constraints=Constraints(pool_access=True, pool_schedule=SEED_POOL, home_trainer=True),
        thresholds=Thresholds(max_hr=185, ftp_w=250, threshold_pace_s_per_km=270, css_s_per_100m=105),
        start_date=START,
    )


def with_constraints(inputs: PlanInputs, **changes: Any) -> PlanInputs:
    return replace(inputs, constraints=replace(inputs.constraints, **changes))


def generate(inputs: PlanInputs, template_id: str = "tpl_im_int_24") -> Program:
    return generate_program(TEMPLATES[template_id], inputs)


def sessions(program: Program) -> list[PlannedSession]:
    return [s for w in program.weeks for s in w.sessions]


@pytest.fixture(scope="module")
def seed_program() -> Program:
    return generate(seed_inputs())


def test_the_seed_athlete_gets_the_seed_phases_up_to_race_day(seed_program: Program) -> None:
    assert seed_program.template_id == "tpl_im_int_24"
    assert (seed_program.start_date, seed_program.end_date) == (START, date(2025, 9, 7))
    assert seed_program.total_weeks == 24
    phases = [(p.name, p.first_week, p.last_week, p.start_date) for p in seed_program.phases]
    assert phases == [
        ("Base", 1, 6, START),
        ("Build 1", 7, 12, START + timedelta(weeks=6)),
        ("Build 2", 13, 18, START + timedelta(weeks=12)),
        ("Peak", 19, 22, START + timedelta(weeks=18)),
        ("Taper", 23, 24, START + timedelta(weeks=22)),
    ]
    assert seed_program.weekly_hours_target == 14


@pytest.mark.parametrize(
    ("days_off", "long_days"),
    [
        ({SUNDAY, WEDNESDAY}, {"bike": SATURDAY, "run": FRIDAY}),  # the seed: Sunday off, the day before
        ({WEDNESDAY}, {"bike": SATURDAY, "run": SUNDAY}),  # the day after the long ride
        ({SATURDAY, WEDNESDAY}, {"bike": SUNDAY, "run": FRIDAY}),  # the long day moves to the next free day
    ],
)
def test_the_long_ride_is_on_the_long_day_and_the_long_run_next_to_it(
    days_off: set[int], long_days: dict[str, int]
) -> None:
    program = generate(seed_inputs(unavailable_days=frozenset(days_off)))
    for week in program.weeks[:-1]:
        longs = {s.sport: s.day_of_week for s in week.sessions if s.session_type == "long"}
        assert longs == long_days, week.number


def test_swims_are_in_a_seed_pool_slot_long_enough_for_them(seed_program: Program) -> None:
    swims = [s for s in sessions(seed_program) if s.sport == "swim"]
    assert swims
    for swim in swims:
        assert swim.slot in SEED_POOL[swim.day_of_week]
        assert 30 <= swim.duration_minutes <= swim.slot.minutes
    # Wednesday's pool is out of reach (the athlete is off): two pool days, two swims a week.
    assert all(sum(s.sport == "swim" for s in w.sessions) <= 2 for w in seed_program.weeks)


def test_bricks_come_once_a_week_in_build_and_peak_run_after_ride(seed_program: Program) -> None:
    for week in seed_program.weeks:
        bikes = [s for s in week.sessions if s.session_type == "brick_bike"]
        runs = [s for s in week.sessions if s.session_type == "brick_run"]
        if week.phase in BUILD_AND_PEAK and not week.recovery:
            assert len(bikes) == len(runs) == 1, week.number
            assert bikes[0].date == runs[0].date
            assert (bikes[0].order, runs[0].order) == (0, 1)
        else:
            assert not bikes and not runs, week.number


def test_weekday_threshold_and_interval_rides_go_on_the_home_trainer(seed_program: Program) -> None:
    rides = [s for s in sessions(seed_program) if s.sport == "bike"]
    for ride in rides:
        expected = ride.session_type in HARD and ride.day_of_week not in (SATURDAY, SUNDAY)
        assert ride.indoor == expected, ride
    assert any(r.indoor for r in rides)


def test_an_outdoor_only_athlete_never_rides_indoors() -> None:
    inputs = with_constraints(seed_inputs(), outdoor_bike_only=True)
    assert not any(s.indoor for s in sessions(generate(inputs)))


def test_volume_builds_from_four_fifths_to_the_athletes_hours_at_peak(seed_program: Program) -> None:
    weeks = seed_program.weeks
    assert 0.75 <= weeks[0].planned_minutes / (14 * 60) <= 0.80
    peak = max(weeks, key=lambda w: w.planned_minutes)
    assert peak.planned_minutes == 14 * 60
    assert peak.phase in {"Build 2", "Peak"}
    assert all(w.planned_minutes == 14 * 60 for w in weeks if w.phase == "Peak" and not w.recovery)
    loading = [w for w in weeks if w.phase != "Taper" and not w.recovery]
    for before, after in pairwise(loading):
        assert after.target_minutes <= before.target_minutes * 1.08 + 5


def test_every_fourth_week_unloads_by_about_a_third(seed_program: Program) -> None:
    weeks = seed_program.weeks
    assert [w.number for w in weeks if w.recovery] == [4, 8, 12, 16, 20]
    for week in weeks:
        if week.recovery:
            ratio = week.planned_minutes / weeks[week.number - 2].planned_minutes
            assert 0.6 <= ratio <= 0.7
            assert not any(s.session_type in HARD | {"brick_bike"} for s in week.sessions)


def test_the_taper_cuts_volume_week_after_week_down_to_a_light_race_week(seed_program: Program) -> None:
    peak = max(w.planned_minutes for w in seed_program.weeks if w.phase != "Taper")
    taper = [w.planned_minutes / peak for w in seed_program.weeks if w.phase == "Taper"]
    assert taper == sorted(taper, reverse=True)
    assert 0.55 <= taper[0] <= 0.7
    assert 0.35 <= taper[-1] <= 0.40


def test_race_day_is_left_free_and_the_race_week_holds_only_short_sessions(seed_program: Program) -> None:
    race_week = seed_program.weeks[-1]
    assert max(s.date for s in sessions(seed_program)) < seed_program.end_date
    assert max(s.date for s in race_week.sessions) == seed_program.end_date - timedelta(days=1)
    assert not any(s.session_type in {"long", "brick_bike"} for s in race_week.sessions)
    assert all(s.duration_minutes <= 90 for s in race_week.sessions)


def test_hard_rides_and_runs_are_never_on_consecutive_days(seed_program: Program) -> None:
    for week in seed_program.weeks:
        hard_days = sorted({s.date for s in week.sessions if s.session_type in HARD and s.sport != "swim"})
        assert all((b - a).days > 1 for a, b in pairwise(hard_days)), week.number


def test_a_day_holds_at_most_two_sessions_and_one_per_sport_except_a_brick(seed_program: Program) -> None:
    for week in seed_program.weeks:
        per_day = Counter((s.date, s.sport) for s in week.sessions if s.session_type != "brick_run")
        assert max(per_day.values()) == 1
        places = Counter(s.date for s in week.sessions if s.session_type != "brick_run")
        assert max(places.values()) <= 2
        for day in places:
            orders = sorted(s.order for s in week.sessions if s.date == day)
            assert orders == list(range(len(orders)))


def test_session_lengths_stay_within_what_a_coach_would_prescribe(seed_program: Program) -> None:
    for s in sessions(seed_program):
        assert s.duration_minutes >= 20 and s.duration_minutes % 5 == 0
        assert s.sport != "swim" or 30 <= s.duration_minutes <= 90
    longs = [s for s in sessions(seed_program) if s.session_type == "long"]
    long_ride = max(s.duration_minutes for s in longs if s.sport == "bike")
    long_run = max(s.duration_minutes for s in longs if s.sport == "run")
    # An Ironman peak at 14 h a week has a long ride past four hours and a long run near two.
    assert 240 <= long_ride <= 360 and 100 <= long_run <= 165


def test_quality_work_grows_from_the_base_to_the_peak(seed_program: Program) -> None:
    def quality_share(phase: str) -> float:
        weeks = [w for w in seed_program.weeks if w.phase == phase and not w.recovery]
        quality = [s for w in weeks for s in w.sessions if s.session_type in HARD | {"tempo", "race_pace"}]
        return sum(s.duration_minutes for s in quality) / sum(w.planned_minutes for w in weeks)

    assert quality_share("Base") < quality_share("Build 1") <= quality_share("Peak")
    assert quality_share("Peak") < 0.4


def test_every_session_carries_its_workout_wording_and_estimated_distance(seed_program: Program) -> None:
    thresholds = seed_inputs().thresholds
    for s in sessions(seed_program):
        assert s.workout.sport == s.sport
        assert (s.title, s.objective, s.tips) == describe(s.sport, s.session_type)
        assert s.distance_m == estimated_distance_m(s.workout, thresholds)


def test_without_pool_access_the_swim_time_goes_to_the_bike_and_run() -> None:
    with_pool = generate(seed_inputs())
    without = generate(with_constraints(seed_inputs(), pool_access=False))
    assert not any(s.sport == "swim" for s in sessions(without))
    for a, b in zip(with_pool.weeks, without.weeks, strict=True):
        if a.phase != "Taper" and not a.recovery:
            assert abs(b.planned_minutes - a.planned_minutes) <= 0.1 * a.planned_minutes


def test_a_pool_open_only_on_days_off_means_no_swim() -> None:
    inputs = with_constraints(seed_inputs(), pool_schedule={WEDNESDAY: (TimeSlot(time(12), time(14)),)})
    assert not any(s.sport == "swim" for s in sessions(generate(inputs)))


def test_an_athlete_with_three_days_keeps_the_long_sessions_and_every_sport() -> None:
    inputs = seed_inputs(unavailable_days=frozenset({SUNDAY, MONDAY, WEDNESDAY, THURSDAY}))
    program = generate(inputs)
    full = generate(seed_inputs())
    assert {s.day_of_week for s in sessions(program)} <= {2, FRIDAY, SATURDAY}
    for week, roomy in zip(program.weeks[:-1], full.weeks, strict=False):
        types = Counter(s.session_type for s in week.sessions)
        assert types["long"] == 2, week.number
        assert {s.sport for s in week.sessions} == {"swim", "bike", "run"}
        # Fewer days, fewer sessions: what goes first is the easy filler, never a long session.
        assert len(week.sessions) < len(roomy.sessions)
        if not week.recovery:
            assert types["recovery"] == 0


def test_the_weekly_hours_are_capped_by_the_template_and_never_above_the_athletes() -> None:
    generous = generate(seed_inputs(weekly_hours=25, unavailable_days=frozenset()))
    assert generous.weekly_hours_target == 16
    assert max(w.planned_minutes for w in generous.weeks) == 16 * 60
    short_of_time = generate(seed_inputs(weekly_hours=9))
    assert short_of_time.weekly_hours_target == 9
    assert max(w.planned_minutes for w in short_of_time.weeks) <= 9 * 60


def test_a_short_program_compresses_the_template_but_keeps_base_build_and_taper() -> None:
    program = generate(seed_inputs(weeks=8), "tpl_im_int_12")
    phases = [(p.name, p.first_week, p.last_week) for p in program.phases]
    assert phases == [("Base", 1, 2), ("Build 1", 3, 4), ("Build 2", 5, 5), ("Peak", 6, 6), ("Taper", 7, 8)]


def test_a_half_ironman_beginner_has_shorter_long_sessions() -> None:
    inputs = replace(
        seed_inputs(weeks=12, weekly_hours=8), goal=Goal("70.3", START + timedelta(weeks=11, days=6))
    )
    program = generate(inputs, "tpl_703_beg_12")
    long_rides = [
        s.duration_minutes for s in sessions(program) if (s.sport, s.session_type) == ("bike", "long")
    ]
    assert max(long_rides) <= 240
    assert max(w.planned_minutes for w in program.weeks) <= 8 * 60


@pytest.mark.parametrize(
    ("inputs", "template_id", "message"),
    [
        (replace(seed_inputs(), start_date=START + timedelta(days=1)), "tpl_im_int_24", "Monday"),
        (seed_inputs(weeks=2), "tpl_im_int_12", "at least 3 weeks"),
        (seed_inputs(), "tpl_703_int_24", "is for a 70.3"),
        (seed_inputs(unavailable_days=frozenset(range(7))), "tpl_im_int_24", "one day"),
        (seed_inputs(weekly_hours=0), "tpl_im_int_24", "hours"),
    ],
    ids=["start-not-a-monday", "two-weeks", "wrong-distance", "no-day-available", "no-hours"],
)
def test_inputs_that_cannot_make_a_program_are_refused(
    inputs: PlanInputs, template_id: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        generate(inputs, template_id)


# Any valid answers


def _slot(start_minute: int, length: int) -> TimeSlot:
    end = min(start_minute + length, 23 * 60 + 59)
    return TimeSlot(time(start_minute // 60, start_minute % 60), time(end // 60, end % 60))


slots = st.builds(_slot, st.integers(6 * 4, 21 * 4).map(lambda q: q * 15), st.integers(20, 240))
thresholds = st.builds(
    Thresholds,
    max_hr=st.none() | st.integers(160, 205),
    ftp_w=st.none() | st.integers(120, 400),
    threshold_pace_s_per_km=st.none() | st.integers(200, 420),
    vma_kmh=st.none() | st.floats(12, 22),
    css_s_per_100m=st.none() | st.integers(70, 180),
)


@st.composite
def plans(draw: st.DrawFn) -> tuple[Template, PlanInputs]:
    distance, level = draw(st.sampled_from(DISTANCES)), draw(st.sampled_from(LEVELS))
    start = START + timedelta(weeks=draw(st.integers(0, 52)))
    weeks = draw(st.integers(8, 40))
    event = start + timedelta(weeks=weeks - 1, days=draw(st.integers(0, 6)))
    inputs = PlanInputs(
        goal=Goal(distance, event),
        level=level,
        availability=Availability(
            weekly_hours=draw(st.integers(8, 50)) / 2,
            unavailable_days=draw(st.frozensets(st.integers(0, 6), max_size=4)),
            preferred_long_day=draw(st.integers(0, 6)),
        ),
        constraints=Constraints(
            pool_access=draw(st.booleans()),
            pool_schedule=draw(
                st.just({})
                | st.dictionaries(st.integers(0, 6), st.lists(slots, min_size=1, max_size=3).map(tuple))
            ),
            home_trainer=draw(st.booleans()),
            outdoor_bike_only=draw(st.booleans()),
        ),
        thresholds=draw(thresholds),
        start_date=start,
    )
    return recommend_template(builtin_templates(), distance, level, weeks), inputs


@settings(max_examples=25, deadline=None)
@given(plans())
def test_the_same_answers_always_give_the_same_program(plan: tuple[Template, PlanInputs]) -> None:
    assert generate_program(*plan) == generate_program(*plan)


@settings(max_examples=60, deadline=None)
@given(plans())
def test_phases_cover_the_weeks_exactly_contiguous_and_in_order(plan: tuple[Template, PlanInputs]) -> None:
    template, inputs = plan
    program = generate_program(template, inputs)
    assert program.total_weeks == program_weeks(inputs.start_date, inputs.goal.event_date)
    assert [w.number for w in program.weeks] == list(range(1, program.total_weeks + 1))
    assert [w.start_date for w in program.weeks] == [
        inputs.start_date + timedelta(weeks=i) for i in range(program.total_weeks)
    ]
    names = [p.name for p in program.phases]
    assert names == [p for p in PHASES if p in names]
    assert {"Base", "Build 1", "Taper"} <= set(names)
    assert program.phases[0].first_week == 1 and program.phases[-1].last_week == program.total_weeks
    for before, after in pairwise(program.phases):
        assert after.first_week == before.last_week + 1
    for phase in program.phases:
        assert phase.start_date == inputs.start_date + timedelta(weeks=phase.first_week - 1)
        assert all(
            program.weeks[n - 1].phase == phase.name for n in range(phase.first_week, phase.last_week + 1)
        )


@settings(max_examples=60, deadline=None)
@given(plans())
def test_weekly_volume_meets_its_target_stays_within_the_athletes_hours_and_tapers(
    plan: tuple[Template, PlanInputs],
) -> None:
    template, inputs = plan
    program = generate_program(template, inputs)
    assert_volume_holds(program, inputs.availability.weekly_hours * 60)


@settings(max_examples=60, deadline=None)
@given(plans())
def test_sessions_respect_days_off_the_pool_the_bike_constraints_and_the_program_dates(
    plan: tuple[Template, PlanInputs],
) -> None:
    template, inputs = plan
    program = generate_program(template, inputs)
    constraints = inputs.constraints
    for week in program.weeks:
        bricks = [
            (s.date, s.session_type, s.order) for s in week.sessions if s.session_type.startswith("brick")
        ]
        if bricks:
            day = bricks[0][0]
            assert week.phase in BUILD_AND_PEAK and bricks == [(day, "brick_bike", 0), (day, "brick_run", 1)]
        places = Counter(s.date for s in week.sessions if s.session_type != "brick_run")
        assert not places or max(places.values()) <= 2
        for s in week.sessions:
            assert week.start_date <= s.date < week.start_date + timedelta(days=7)
            assert inputs.start_date <= s.date < inputs.goal.event_date
            assert s.day_of_week not in inputs.availability.unavailable_days
            assert s.duration_minutes >= 20
            if s.sport == "swim":
                assert constraints.pool_access
                assert 30 <= s.duration_minutes <= 90
                if constraints.pool_schedule:
                    assert s.slot is not None and s.slot in constraints.pool_schedule[s.day_of_week]
                    assert s.duration_minutes <= s.slot.minutes
            if s.indoor:
                assert s.sport == "bike" and constraints.home_trainer and not constraints.outdoor_bike_only
