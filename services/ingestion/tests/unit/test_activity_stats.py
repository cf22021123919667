"""What the app shows from an athlete's activities: on which day an activity falls, calendar periods
and their trends, volumes and paces, heart-rate zones and the estimated level."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ingestion.activities import (
    activity_filters,
    add_months,
    analyse_history,
    analysis_period,
    estimate_level,
    heart_rate_zones,
    local_day,
    observed_max_heartrate,
    period_days,
    period_stats,
    previous_days,
    round_half_up,
)
from ingestion.repository import ActivityFacts
from ingestion.schemas import DateSpan
from relay_platform.errors import InvalidInput

PARIS_WINTER = 3600
LOS_ANGELES_SUMMER = -7 * 3600


def activity(
    sport: str,
    start: str,
    *,
    offset: int | None = PARIS_WINTER,
    moving: int | None = 3600,
    elapsed: int | None = None,
    metres: float | None = None,
    watts: float | None = None,
    max_hr: float | None = None,
) -> ActivityFacts:
    """An activity starting at `start` (UTC, ISO 8601)."""
    return ActivityFacts(
        sport=sport,
        start_time=datetime.fromisoformat(start).replace(tzinfo=UTC),
        utc_offset_seconds=offset,
        moving_time_s=moving,
        elapsed_time_s=elapsed if elapsed is not None else moving,
        distance_m=metres,
        average_power_w=watts,
        max_heartrate=max_hr,
    )


def days(start: str, end: str) -> DateSpan:
    return DateSpan(start=date.fromisoformat(start), end=date.fromisoformat(end))


# -- Days and periods ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "offset", "day"),
    [
        ("2025-03-11T23:30:00", PARIS_WINTER, "2025-03-12"),  # 00:30 in Paris
        ("2025-03-12T05:00:00", LOS_ANGELES_SUMMER, "2025-03-11"),  # 22:00 the evening before in LA
        ("2025-03-11T23:30:00", None, "2025-03-11"),  # no offset: its UTC day
    ],
)
def test_an_activity_falls_on_the_day_of_its_own_clock(start: str, offset: int | None, day: str) -> None:
    assert local_day(activity("run", start, offset=offset)) == date.fromisoformat(day)


def test_a_week_runs_from_monday_to_sunday() -> None:
    assert period_days("week", date(2025, 3, 12)) == days("2025-03-10", "2025-03-16")
    assert period_days("week", date(2025, 3, 16)) == days("2025-03-10", "2025-03-16")
    assert period_days("week", date(2025, 3, 17)) == days("2025-03-17", "2025-03-23")


def test_a_month_and_a_year_are_the_calendars() -> None:
    assert period_days("month", date(2024, 2, 10)) == days("2024-02-01", "2024-02-29")
    assert period_days("month", date(2025, 12, 31)) == days("2025-12-01", "2025-12-31")
    assert period_days("year", date(2025, 3, 12)) == days("2025-01-01", "2025-12-31")
    assert period_days("all", date(2025, 3, 12)) is None


@pytest.mark.parametrize(
    ("period", "today", "compared_with"),
    [
        ("week", "2025-03-12", ("2025-03-03", "2025-03-05")),  # Monday to Wednesday, both weeks
        ("week", "2025-03-10", ("2025-03-03", "2025-03-03")),  # on a Monday: last Monday
        ("week", "2025-03-16", ("2025-03-03", "2025-03-09")),  # on a Sunday: the whole last week
        ("month", "2025-03-10", ("2025-02-01", "2025-02-10")),
        ("month", "2025-03-31", ("2025-02-01", "2025-02-28")),  # February has no 29th-31st
        ("month", "2025-01-15", ("2024-12-01", "2024-12-15")),
        ("year", "2025-03-01", ("2024-01-01", "2024-02-29")),  # the 60th day of both years
    ],
)
def test_the_trend_compares_with_as_many_days_of_the_previous_period(
    period: str, today: str, compared_with: tuple[str, str]
) -> None:
    assert previous_days(period, date.fromisoformat(today)) == days(*compared_with)  # type: ignore[arg-type]


def test_months_are_added_without_leaving_the_month() -> None:
    assert add_months(date(2025, 8, 31), -6) == date(2025, 2, 28)
    assert add_months(date(2024, 8, 31), -6) == date(2024, 2, 29)
    assert add_months(date(2025, 1, 15), -1) == date(2024, 12, 15)
    assert add_months(date(2025, 11, 30), 1) == date(2025, 12, 30)
    assert add_months(date(2025, 12, 1), 1) == date(2026, 1, 1)


def test_the_analysis_covers_the_six_months_up_to_today() -> None:
    assert analysis_period(date(2025, 1, 1)) == days("2024-07-01", "2025-01-01")
    assert analysis_period(date(2025, 8, 31)) == days("2025-02-28", "2025-08-31")


def test_numbers_are_rounded_half_up() -> None:
    assert round_half_up(36900 / 3600) == 10.3  # 10.25 h
    assert round_half_up(0.05) == 0.1
    assert round_half_up(5.165, 2) == 5.17
    assert round_half_up(-2.25) == -2.3


# -- Stats --------------------------------------------------------------------------------------------


MARCH_AND_FEBRUARY = [
    # 1-12 March 2025
    activity("swim", "2025-03-03T06:30:00", moving=2700, metres=2000),
    activity("swim", "2025-03-06T06:30:00", moving=2400, metres=1800),
    activity("bike", "2025-03-08T08:00:00", moving=3 * 3600, metres=84_300, watts=190),
    activity("run", "2025-03-09T08:00:00", moving=3000, metres=10_050),
    activity("run", "2025-02-28T23:15:00", moving=1800, metres=5_000),  # 00:15 on 1 March in Paris
    activity("strength", "2025-03-11T17:00:00", moving=2700),
    # 1-12 February, what March is compared with
    activity("bike", "2025-02-02T08:00:00", moving=2 * 3600, metres=60_000),
    activity("run", "2025-02-12T18:00:00", moving=2700, metres=9_000),
    # later in February: not part of the comparison
    activity("run", "2025-02-20T18:00:00", moving=3600, metres=12_000),
]


def test_a_month_counts_the_activities_of_its_days_with_swims_in_metres() -> None:
    stats = period_stats(MARCH_AND_FEBRUARY, "month", date(2025, 3, 12))

    assert stats.period == "month"
    assert stats.dates == days("2025-03-01", "2025-03-31")
    body = stats.model_dump(mode="json")["stats"]
    assert body["totals"] == {"activities": 6, "hours": 6.5, "distance_km": 103.2}
    assert body["by_sport"] == {
        "swim": {"count": 2, "distance_m": 3800, "hours": 1.4},
        "bike": {"count": 1, "distance_km": 84.3, "hours": 3.0},
        "run": {"count": 2, "distance_km": 15.1, "hours": 1.3},
        "strength": {"count": 1, "distance_km": 0.0, "hours": 0.8},
    }


def test_the_trend_is_the_difference_with_the_same_days_of_the_previous_month() -> None:
    stats = period_stats(MARCH_AND_FEBRUARY, "month", date(2025, 3, 12))

    # 1-12 March: 6.5 h in 6 activities; 1-12 February: 2.8 h in 2 (the run of the 20th is not compared).
    assert stats.model_dump(mode="json")["stats"]["trends"] == {
        "vs_previous_period": {"hours": 3.7, "activities": 4}
    }


def test_a_period_with_less_than_before_has_a_negative_trend() -> None:
    history = [
        activity("bike", "2025-03-03T17:00:00", moving=90 * 60, metres=40_000),  # last Monday
        activity("run", "2025-03-05T17:00:00", moving=45 * 60, metres=9_000),  # last Wednesday
        activity("run", "2025-03-06T17:00:00", moving=60 * 60, metres=12_000),  # last Thursday: not compared
        activity("run", "2025-03-10T17:00:00", moving=30 * 60, metres=6_000),  # this Monday
    ]

    stats = period_stats(history, "week", date(2025, 3, 12))  # Wednesday

    assert stats.dates == days("2025-03-10", "2025-03-16")
    assert stats.stats.totals.model_dump() == {"activities": 1, "hours": 0.5, "distance_km": 6.0}
    assert stats.stats.trends.model_dump() == {"vs_previous_period": {"hours": -1.8, "activities": -1}}


def test_an_even_trend_is_zero() -> None:
    history = [
        activity("run", "2025-03-03T17:00:00", moving=2700),
        activity("run", "2025-03-11T17:00:00", moving=2700),
    ]
    stats = period_stats(history, "week", date(2025, 3, 12))
    assert stats.model_dump(mode="json")["stats"]["trends"] == {
        "vs_previous_period": {"hours": 0.0, "activities": 0}
    }
    assert str(stats.stats.trends.vs_previous_period.hours) == "0.0"  # type: ignore[union-attr]


def test_all_has_no_trend_and_always_shows_swim_bike_and_run() -> None:
    stats = period_stats([activity("yoga", "2024-05-01T07:00:00", moving=1800)], "all", date(2025, 3, 12))

    body = stats.model_dump(mode="json")
    assert body["dates"] is None
    assert body["stats"]["trends"] == {"vs_previous_period": None}
    assert body["stats"]["by_sport"] == {
        "swim": {"count": 0, "distance_m": 0, "hours": 0.0},
        "bike": {"count": 0, "distance_km": 0.0, "hours": 0.0},
        "run": {"count": 0, "distance_km": 0.0, "hours": 0.0},
        "yoga": {"count": 1, "distance_km": 0.0, "hours": 0.5},
    }


def test_an_activity_without_moving_time_counts_its_elapsed_time() -> None:
    walk = activity("walk", "2025-03-05T12:00:00", moving=None, elapsed=5400, metres=6_000)
    stats = period_stats([walk], "month", date(2025, 3, 12))
    assert stats.stats.totals.hours == 1.5


# -- The onboarding's analysis ------------------------------------------------------------------------


def test_paces_and_speeds_are_read_from_the_timed_distances() -> None:
    today = date(2025, 3, 12)
    history = [
        activity("swim", "2025-03-03T06:30:00", moving=40 * 60, metres=2000),
        activity("swim", "2025-03-05T06:30:00", moving=27 * 60, metres=1500),
        activity("run", "2025-03-02T08:00:00", moving=50 * 60, metres=10_000),
        activity("run", "2025-03-04T18:00:00", moving=27 * 60 + 30, metres=5_000),
        activity("run", "2025-03-06T18:00:00", moving=30 * 60, metres=None),  # treadmill, no distance
        activity("bike", "2025-03-08T08:00:00", moving=2 * 3600, metres=60_000, watts=200),
        activity("bike", "2025-03-09T08:00:00", moving=3600, metres=25_000, watts=180),
        activity("bike", "2025-03-10T08:00:00", moving=1800, metres=15_000),  # no power meter
    ]

    by_sport = analyse_history(history, today).model_dump()["by_sport"]

    # 4020 s for 35 x 100 m
    assert by_sport["swim"] == {"count": 2, "distance_m": 3500, "duration_min": 67, "avg_pace_100m": 115}
    # 4650 s for 15 km = 5 min 10 s per km; the treadmill run counts in the time, not in the pace
    assert by_sport["run"] == {"count": 3, "distance_km": 15.0, "duration_min": 108, "avg_pace_min_km": 5.17}
    # 100 km in 3.5 h; power over the 3 h with a meter: (200 x 2 + 180 x 1) / 3
    assert by_sport["bike"] == {
        "count": 3,
        "distance_km": 100.0,
        "duration_min": 210,
        "avg_speed_kmh": 28.6,
        "avg_power_w": 193,
    }


def test_an_empty_history_is_a_beginner_without_zones() -> None:
    analysis = analyse_history([], date(2025, 1, 1)).model_dump(mode="json")

    assert analysis["period"] == {"start": "2024-07-01", "end": "2025-01-01"}
    assert analysis["totals"] == {"activities": 0, "hours": 0.0}
    assert analysis["by_sport"]["swim"]["avg_pace_100m"] is None
    assert analysis["by_sport"]["bike"]["avg_speed_kmh"] is None
    assert analysis["by_sport"]["bike"]["avg_power_w"] is None
    assert analysis["by_sport"]["run"]["avg_pace_min_km"] is None
    assert analysis["weekly_avg"] == {"hours": 0.0, "sessions": 0.0}
    assert analysis["zones_detected"] == {"hr_zones": [], "max_heartrate": None, "source": "strava"}
    assert analysis["estimated_level"] == "beginner"


def training_block(
    weeks: int, sessions: list[tuple[str, int]], today: date, **measures: float
) -> list[ActivityFacts]:
    """`sessions` (sport, minutes) every week of the last `weeks`, one a day from the week's last day."""
    history = []
    for week in range(weeks):
        for index, (sport, minutes) in enumerate(sessions):
            day = today - timedelta(days=7 * week + index)
            start = f"{day.isoformat()}T06:00:00"
            history.append(activity(sport, start, moving=minutes * 60, **measures))  # type: ignore[arg-type]
    return history


def test_weekly_averages_and_level_come_from_regular_training() -> None:
    today = date(2025, 1, 1)
    week = [("swim", 60), ("bike", 120), ("run", 60), ("bike", 90), ("run", 45), ("swim", 45), ("run", 60)]
    history = training_block(26, week, today)  # 8 h a week, every week

    analysis = analyse_history(history, today)

    assert analysis.totals.activities == 182
    assert analysis.totals.hours == 208.0
    # 185 days (1 July to 1 January) are 26.4 weeks
    assert analysis.weekly_avg.model_dump() == {"hours": 7.9, "sessions": 6.9}
    assert analysis.level_basis.model_dump() == {"weekly_hours": 7.9, "active_weeks": 26, "weeks": 26}
    assert analysis.estimated_level == "intermediate"


def test_walks_and_strength_do_not_make_a_triathlete() -> None:
    today = date(2025, 1, 1)
    history = training_block(26, [("walk", 300), ("strength", 300), ("run", 30), ("run", 30)], today)

    analysis = analyse_history(history, today)

    assert analysis.weekly_avg.hours > 10
    assert analysis.level_basis.weekly_hours == 1.0
    assert analysis.estimated_level == "beginner"


def test_irregular_training_lowers_the_level() -> None:
    today = date(2025, 1, 1)
    big_weeks = training_block(26, [("bike", 720), ("run", 180), ("swim", 180)], today)  # 18 h a week
    history = [a for a in big_weeks if (today - local_day(a)).days // 7 % 3 == 0]  # one week in three

    analysis = analyse_history(history, today)

    assert analysis.level_basis.model_dump() == {"weekly_hours": 6.1, "active_weeks": 9, "weeks": 26}
    assert analysis.estimated_level == "beginner"


@pytest.mark.parametrize(
    ("weekly_hours", "consistency", "level"),
    [
        (18.0, 0.9, "elite"),
        (15.0, 0.85, "elite"),
        (18.0, 0.8, "advanced"),
        (12.0, 0.75, "advanced"),
        (12.0, 0.6, "intermediate"),
        (9.4, 0.8, "intermediate"),
        (5.0, 0.5, "intermediate"),
        (4.9, 1.0, "beginner"),
        (20.0, 0.3, "beginner"),
    ],
)
def test_the_level_needs_both_the_hours_and_the_regularity(
    weekly_hours: float, consistency: float, level: str
) -> None:
    assert estimate_level(weekly_hours, consistency) == level


def test_five_zones_split_the_maximum_heart_rate_without_gaps() -> None:
    zones = [zone.model_dump() for zone in heart_rate_zones(190)]

    assert zones == [
        {"zone": 1, "name": "recovery", "min_bpm": 95, "max_bpm": 113},
        {"zone": 2, "name": "endurance", "min_bpm": 114, "max_bpm": 132},
        {"zone": 3, "name": "tempo", "min_bpm": 133, "max_bpm": 151},
        {"zone": 4, "name": "threshold", "min_bpm": 152, "max_bpm": 170},
        {"zone": 5, "name": "vo2max", "min_bpm": 171, "max_bpm": 190},
    ]


def test_the_maximum_is_the_highest_heart_rate_a_heart_could_have_reached() -> None:
    history = [
        activity("run", "2025-03-02T08:00:00", max_hr=176),
        activity("run", "2025-03-04T08:00:00", max_hr=187.6),
        activity("bike", "2025-03-06T08:00:00", max_hr=238),  # an optical sensor locked on cadence
        activity("swim", "2025-03-07T08:00:00", max_hr=None),
    ]
    assert observed_max_heartrate(history) == 188
    assert observed_max_heartrate([activity("walk", "2025-03-02T08:00:00", max_hr=121)]) is None


def test_the_analysis_derives_the_zones_from_the_recorded_maximum() -> None:
    today = date(2025, 3, 12)
    history = [
        activity("run", "2025-03-02T08:00:00", metres=10_000, max_hr=185),
        activity("run", "2024-08-02T08:00:00", metres=10_000, max_hr=199),  # before the six months
    ]

    zones = analyse_history(history, today).zones_detected

    assert zones.max_heartrate == 185
    assert [(z.min_bpm, z.max_bpm) for z in zones.hr_zones] == [
        (93, 110),
        (111, 129),
        (130, 147),
        (148, 166),
        (167, 185),
    ]


# -- Filters ------------------------------------------------------------------------------------------


def test_a_sport_is_relays_or_else_the_providers_own_type() -> None:
    assert (activity_filters(sport="run").sport, activity_filters(sport="run").sport_type) == ("run", None)
    trail = activity_filters(sport="TrailRun")
    assert (trail.sport, trail.sport_type) == (None, "TrailRun")


def test_since_and_until_are_days_or_instants() -> None:
    filters = activity_filters(since="2025-03-01", until="2025-03-12T18:00:00+01:00")
    assert filters.since == date(2025, 3, 1)
    assert filters.until == datetime(2025, 3, 12, 17, 0, tzinfo=UTC)
    naive = activity_filters(since="2025-03-01T06:00:00")
    assert naive.since == datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
    same_day = activity_filters(since="2025-03-12", until="2025-03-12")
    assert same_day.since == same_day.until == date(2025, 3, 12)


@pytest.mark.parametrize(
    ("since", "until", "field", "reason"),
    [
        ("yesterday", None, "since", "invalid_date"),
        (None, "2025-02-30", "until", "invalid_date"),
        ("2025-03-12", "2025-03-01", "since", "since_after_until"),
    ],
)
def test_unreadable_or_inverted_bounds_are_refused(
    since: str | None, until: str | None, field: str, reason: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        activity_filters(since=since, until=until)
    assert (refused.value.details["field"], refused.value.details["reason"]) == (field, reason)
