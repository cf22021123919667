"""Training load: per-activity stress scores and the fitness, fatigue and form they add up to."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planning.domain import Thresholds
from planning.load import ActivityFacts, DailyLoad, StressScore, fitness_series, training_stress
from relay_contracts.events.ingestion import ActivityUpserted

ATHLETE = Thresholds(max_hr=185, ftp_w=250, threshold_pace_s_per_km=240, css_s_per_100m=100)
HOUR = 3600


def _scored(score: StressScore) -> tuple[float, str]:
    return score.value, score.method


def test_an_hour_at_ftp_is_100_tss() -> None:
    ride = ActivityFacts(sport="bike", moving_time_s=HOUR, normalized_power_w=250, average_power_w=235)

    assert _scored(training_stress(ride, ATHLETE)) == (pytest.approx(100.0), "power")


def test_power_tss_follows_the_duration_np_and_if_formula() -> None:
    ride = ActivityFacts(sport="bike", moving_time_s=2 * HOUR + 15 * 60, normalized_power_w=210)
    intensity = 210 / 250
    expected = (2 * HOUR + 15 * 60) * 210 * intensity / (250 * 3600) * 100

    assert training_stress(ride, ATHLETE).value == pytest.approx(expected)


def test_average_power_stands_in_for_a_missing_normalized_power() -> None:
    ride = ActivityFacts(sport="bike", moving_time_s=HOUR, average_power_w=200)

    score = training_stress(ride, ATHLETE)

    assert score.method == "power"
    assert score.value == pytest.approx(64.0)


def test_power_is_preferred_to_heart_rate_for_a_ride() -> None:
    ride = ActivityFacts(sport="bike", moving_time_s=HOUR, normalized_power_w=200, average_hr=170)

    assert training_stress(ride, ATHLETE).method == "power"


def test_a_ride_without_an_ftp_is_scored_from_heart_rate() -> None:
    ride = ActivityFacts(sport="bike", moving_time_s=HOUR, normalized_power_w=200, average_hr=140)

    assert training_stress(ride, Thresholds(max_hr=185)).method == "heart_rate"


def test_an_hour_at_threshold_pace_is_about_100_rtss() -> None:
    run = ActivityFacts(sport="run", moving_time_s=HOUR, distance_m=15_000, average_speed_m_s=1000 / 240)

    assert _scored(training_stress(run, ATHLETE)) == (pytest.approx(100.0), "pace")


def test_an_easy_run_at_three_quarters_of_threshold_speed_scores_about_56_an_hour() -> None:
    easy_speed = 0.75 * 1000 / 240  # 5:20/km for a 4:00/km threshold
    run = ActivityFacts(sport="run", moving_time_s=HOUR, average_speed_m_s=easy_speed)

    assert training_stress(run, ATHLETE).value == pytest.approx(56.25)


def test_run_speed_is_taken_from_distance_and_time_when_the_average_is_missing() -> None:
    run = ActivityFacts(sport="run", moving_time_s=HOUR, distance_m=15_000)

    assert training_stress(run, ATHLETE).value == pytest.approx(100.0)


def test_the_threshold_pace_is_estimated_from_vma_when_unknown() -> None:
    run = ActivityFacts(sport="run", moving_time_s=HOUR, average_speed_m_s=18 / 3.6 * 0.85)

    score = training_stress(run, Thresholds(vma_kmh=18))

    assert _scored(score) == (pytest.approx(100.0), "pace")


def test_a_hilly_run_at_the_same_pace_costs_more_than_a_flat_one() -> None:
    flat = ActivityFacts(sport="run", moving_time_s=HOUR, distance_m=12_000, elevation_gain_m=0)
    hilly = ActivityFacts(sport="run", moving_time_s=HOUR, distance_m=12_000, elevation_gain_m=300)

    flat_score, hilly_score = training_stress(flat, ATHLETE), training_stress(hilly, ATHLETE)

    assert hilly_score.value > flat_score.value
    # 300 m climbed counts as 600 m of flat running: 12.6 km instead of 12 km in the hour.
    assert hilly_score.value / flat_score.value == pytest.approx((12.6 / 12) ** 2)


def test_an_implausible_climb_on_a_short_run_is_capped_as_altimeter_noise() -> None:
    treadmill = ActivityFacts(sport="run", moving_time_s=HOUR, distance_m=12_000, elevation_gain_m=9_000)
    vertical_km = ActivityFacts(sport="run", moving_time_s=HOUR, distance_m=12_000, elevation_gain_m=3_600)

    assert training_stress(treadmill, ATHLETE) == training_stress(vertical_km, ATHLETE)


def test_an_hour_swum_at_css_is_100_stss() -> None:
    swim = ActivityFacts(sport="swim", moving_time_s=HOUR, distance_m=3600)

    assert _scored(training_stress(swim, ATHLETE)) == (pytest.approx(100.0), "pace")


def test_swim_stress_grows_with_the_cube_of_speed() -> None:
    swim = ActivityFacts(sport="swim", moving_time_s=HOUR, average_speed_m_s=0.9)

    assert training_stress(swim, ATHLETE).value == pytest.approx(72.9)


def test_a_ride_is_never_scored_from_its_speed() -> None:
    ride = ActivityFacts(sport="bike", moving_time_s=HOUR, average_speed_m_s=9.0)

    assert training_stress(ride, Thresholds(threshold_pace_s_per_km=240)).method == "duration"


def test_an_hour_at_threshold_heart_rate_is_100_hrtss() -> None:
    threshold_hr = 0.89 * 185
    run = ActivityFacts(sport="run", moving_time_s=HOUR, average_hr=threshold_hr)

    assert _scored(training_stress(run, Thresholds(max_hr=185))) == (pytest.approx(100.0), "heart_rate")


def test_an_easy_aerobic_hour_by_heart_rate_scores_like_an_easy_hour_by_power() -> None:
    run = ActivityFacts(sport="run", moving_time_s=HOUR, average_hr=135)

    assert 40 <= training_stress(run, Thresholds(max_hr=185)).value <= 60


def test_heart_rate_scores_rise_steeply_above_threshold() -> None:
    by_heart_rate = Thresholds(max_hr=185)
    tempo = ActivityFacts(sport="run", moving_time_s=HOUR, average_hr=150)
    hard = ActivityFacts(sport="run", moving_time_s=HOUR, average_hr=175)

    tempo_score, hard_score = training_stress(tempo, by_heart_rate), training_stress(hard, by_heart_rate)

    assert hard_score.value > 1.5 * tempo_score.value


def test_an_average_above_an_outdated_max_heart_rate_counts_as_maximal() -> None:
    at_max = ActivityFacts(sport="other", moving_time_s=HOUR, average_hr=185)
    above = ActivityFacts(sport="other", moving_time_s=HOUR, average_hr=195)

    assert training_stress(above, Thresholds(max_hr=185)) == training_stress(at_max, Thresholds(max_hr=185))


def test_a_walk_with_heart_rate_is_scored_from_heart_rate() -> None:
    walk = ActivityFacts(sport="other", moving_time_s=HOUR, average_hr=110, average_speed_m_s=1.5)

    assert training_stress(walk, ATHLETE).method == "heart_rate"


@pytest.mark.parametrize(
    ("sport", "per_hour"), [("swim", 49.0), ("bike", 49.0), ("run", 56.25), ("other", 30.25)]
)
def test_with_only_a_duration_each_sport_has_a_typical_intensity(sport: str, per_hour: float) -> None:
    activity = ActivityFacts(sport=sport, moving_time_s=2 * HOUR)  # type: ignore[arg-type]

    assert _scored(training_stress(activity, Thresholds())) == (pytest.approx(2 * per_hour), "duration")


def test_an_activity_without_moving_time_scores_nothing() -> None:
    ride = ActivityFacts(sport="bike", moving_time_s=0, normalized_power_w=250)

    assert training_stress(ride, ATHLETE).value == 0


def test_facts_are_read_from_an_ingested_activity() -> None:
    event = ActivityUpserted(
        activity_id="act-1",
        user_id="u-1",
        provider="garmin",
        external_id="g-1",
        created=True,
        revision=1,
        sport="hike",
        sport_type="hiking",
        start_time=datetime(2025, 3, 12, 7, 30, tzinfo=UTC),
        elapsed_time_s=5400,
        distance_m=8000,
        elevation_gain_m=450,
        average_heartrate=118,
    )

    facts = ActivityFacts.from_event(event)

    assert facts == ActivityFacts(
        sport="other", moving_time_s=5400, distance_m=8000, average_hr=118, elevation_gain_m=450
    )


optional_measure = st.none() | st.floats(min_value=-50, max_value=2000, allow_nan=False)
thresholds = st.builds(
    Thresholds,
    max_hr=st.none() | st.integers(min_value=120, max_value=220),
    ftp_w=st.none() | st.integers(min_value=80, max_value=450),
    threshold_pace_s_per_km=st.none() | st.integers(min_value=180, max_value=480),
    vma_kmh=st.none() | st.floats(min_value=10, max_value=25),
    css_s_per_100m=st.none() | st.integers(min_value=60, max_value=180),
)


@st.composite
def activities(draw: st.DrawFn) -> ActivityFacts:
    speed = draw(st.none() | st.floats(min_value=0, max_value=20))
    return ActivityFacts(
        sport=draw(st.sampled_from(["swim", "bike", "run", "other"])),
        moving_time_s=draw(st.integers(min_value=0, max_value=12 * HOUR)),
        # Without an average speed the distance sets it, and a fixed distance done slower is easier.
        distance_m=None if not speed else draw(st.none() | st.floats(min_value=0, max_value=200_000)),
        average_hr=draw(optional_measure),
        average_power_w=draw(optional_measure),
        normalized_power_w=draw(optional_measure),
        average_speed_m_s=speed,
        elevation_gain_m=draw(optional_measure),
    )


@given(activities(), thresholds)
def test_stress_is_never_negative(activity: ActivityFacts, athlete: Thresholds) -> None:
    assert training_stress(activity, athlete).value >= 0


@given(activities(), thresholds, st.integers(min_value=0, max_value=6 * HOUR))
def test_at_the_same_intensity_a_longer_activity_is_more_stress(
    activity: ActivityFacts, athlete: Thresholds, extra_s: int
) -> None:
    longer = ActivityFacts(**{**activity.__dict__, "moving_time_s": activity.moving_time_s + extra_s})

    shorter_score, longer_score = training_stress(activity, athlete), training_stress(longer, athlete)

    assert longer_score.value >= shorter_score.value - 1e-9


def test_42_days_of_100_tss_build_a_ctl_of_about_63() -> None:
    start = date(2025, 1, 6)
    days = {start + timedelta(days=i): 100.0 for i in range(42)}

    series = fitness_series(days, start, start + timedelta(days=41))

    assert len(series) == 42
    assert series[-1].ctl == pytest.approx(63.7, abs=0.1)
    assert series[-1].atl == pytest.approx(99.8, abs=0.1)


def test_form_is_yesterdays_fitness_minus_yesterdays_fatigue() -> None:
    start = date(2025, 3, 10)
    race = {start: 300.0}

    monday, tuesday = fitness_series(race, start, start + timedelta(days=1), ctl_seed=60, atl_seed=50)

    assert monday.tsb == pytest.approx(10.0)  # the big day does not count against its own form
    assert tuesday.tsb == pytest.approx(monday.ctl - monday.atl)
    assert tuesday.tsb < 0


def test_days_without_activities_are_rest_days() -> None:
    start = date(2025, 3, 10)

    series = fitness_series({}, start, start + timedelta(days=6), ctl_seed=50, atl_seed=70)

    assert [d.stress for d in series] == [0.0] * 7
    assert series[-1].ctl == pytest.approx(50 * (41 / 42) ** 7)
    assert series[-1].atl == pytest.approx(70 * (6 / 7) ** 7)


def test_a_series_continues_from_the_seeds_of_the_day_before() -> None:
    start = date(2025, 3, 1)
    stress = {start + timedelta(days=i): float(40 + 10 * (i % 5)) for i in range(20)}
    whole = fitness_series(stress, start, start + timedelta(days=19))
    first = whole[9]

    rest = fitness_series(
        stress, start + timedelta(days=10), start + timedelta(days=19), ctl_seed=first.ctl, atl_seed=first.atl
    )

    for resumed, original in zip(rest, whole[10:], strict=True):
        assert (resumed.ctl, resumed.atl, resumed.tsb) == pytest.approx(
            (original.ctl, original.atl, original.tsb)
        )


def test_an_empty_range_gives_an_empty_series() -> None:
    assert fitness_series({}, date(2025, 3, 10), date(2025, 3, 9)) == []


@given(
    st.lists(st.floats(min_value=0, max_value=400), min_size=1, max_size=120),
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=1),
)
def test_fitness_and_fatigue_stay_within_the_daily_stress_range(
    stresses: list[float], ctl_position: float, atl_position: float
) -> None:
    low, high = min(stresses), max(stresses)
    start = date(2025, 1, 1)
    daily = {start + timedelta(days=i): s for i, s in enumerate(stresses)}

    series: list[DailyLoad] = fitness_series(
        daily,
        start,
        start + timedelta(days=len(stresses) - 1),
        ctl_seed=low + ctl_position * (high - low),
        atl_seed=low + atl_position * (high - low),
    )

    tolerance = 1e-9 * max(1.0, high)
    for day in series:
        assert low - tolerance <= day.ctl <= high + tolerance
        assert low - tolerance <= day.atl <= high + tolerance
