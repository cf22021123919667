"""Matching recorded activities to planned sessions, and compliance with the plan."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planning.matching import (
    ActivityToMatch,
    SessionOutcome,
    SessionToMatch,
    compliance,
    match_activity,
)
from relay_contracts.events.ingestion import ActivityUpserted

WEDNESDAY = date(2025, 3, 12)
TUESDAY = WEDNESDAY - timedelta(days=1)
THURSDAY = WEDNESDAY + timedelta(days=1)


def activity(sport: str, minutes: float, day: date = WEDNESDAY, **kwargs: object) -> ActivityToMatch:
    return ActivityToMatch(
        activity_id=str(kwargs.pop("activity_id", "act-1")),
        sport=sport,
        local_date=day,
        moving_time_s=round(minutes * 60),
        distance_m=kwargs.pop("distance_m", None),  # type: ignore[arg-type]
    )


def session(
    session_id: str, sport: str, minutes: int, day: date = WEDNESDAY, **kwargs: object
) -> SessionToMatch:
    return SessionToMatch(
        session_id=session_id,
        scheduled_date=day,
        sport=sport,  # type: ignore[arg-type]
        duration_minutes=minutes,
        status=kwargs.pop("status", "pending"),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_52_minute_garmin_run_completes_the_50_minute_run_planned_that_day() -> None:
    planned = [session("swim", "swim", 45), session("run", "run", 50, session_type="intervals")]

    match = match_activity(activity("run", 52), planned)

    assert match is not None
    assert match.session_id == "run"
    assert match.day_offset == 0
    assert match.score == pytest.approx(0.92)
    assert "104%" in match.explanation


def test_a_20_minute_run_does_not_complete_a_2_hour_long_run() -> None:
    assert match_activity(activity("run", 20), [session("long", "run", 120, session_type="long")]) is None


def test_a_run_twice_as_long_as_planned_is_another_workout() -> None:
    assert match_activity(activity("run", 100), [session("easy", "run", 45)]) is None


def test_an_activity_only_completes_a_session_of_its_sport() -> None:
    assert match_activity(activity("bike", 50), [session("run", "run", 50)]) is None


def test_walks_and_strength_sessions_complete_nothing() -> None:
    assert match_activity(activity("walk", 50), [session("run", "run", 50)]) is None


def test_an_activity_without_moving_time_completes_nothing() -> None:
    assert match_activity(activity("run", 0), [session("run", "run", 50)]) is None


def test_the_closest_duration_wins_between_two_runs_the_same_day() -> None:
    planned = [session("morning", "run", 30), session("evening", "run", 60)]

    match = match_activity(activity("run", 55), planned)

    assert match is not None
    assert match.session_id == "evening"


def test_a_run_moved_to_the_next_day_completes_the_pending_run_of_the_day_before() -> None:
    match = match_activity(activity("run", 48, day=WEDNESDAY), [session("tue-run", "run", 50, day=TUESDAY)])

    assert match is not None
    assert match.session_id == "tue-run"
    assert match.day_offset == 1
    assert match.score < 0.9  # a moved session is a less certain match
    assert "the day before" in match.explanation


def test_a_run_done_a_day_early_completes_the_next_days_run() -> None:
    match = match_activity(activity("run", 50, day=WEDNESDAY), [session("thu-run", "run", 50, day=THURSDAY)])

    assert match is not None
    assert match.day_offset == -1


def test_a_neighbouring_day_is_not_considered_when_that_sport_is_planned_on_the_activity_day() -> None:
    planned = [
        session("wed-run", "run", 50, status="completed", activity_id="act-0"),
        session("thu-run", "run", 50, day=THURSDAY),
    ]

    assert match_activity(activity("run", 50), planned) is None


def test_a_session_two_days_away_is_not_matched() -> None:
    friday = WEDNESDAY + timedelta(days=2)

    assert match_activity(activity("run", 50), [session("fri-run", "run", 50, day=friday)]) is None


def test_a_skipped_session_is_never_completed_by_an_activity() -> None:
    assert match_activity(activity("run", 50), [session("run", "run", 50, status="skipped")]) is None


def test_a_skipped_neighbouring_session_is_not_matched() -> None:
    assert (
        match_activity(activity("run", 50), [session("run", "run", 50, day=TUESDAY, status="skipped")])
        is None
    )


def test_a_session_completed_by_another_activity_is_not_taken_again() -> None:
    planned = [session("run", "run", 50, status="completed", activity_id="act-0")]

    assert match_activity(activity("run", 50, activity_id="act-1"), planned) is None


def test_a_redelivered_activity_keeps_the_session_it_completed() -> None:
    planned = [
        session("a", "run", 45, status="completed", activity_id="act-1"),
        session("b", "run", 45),
    ]

    match = match_activity(activity("run", 45, activity_id="act-1"), planned)

    assert match is not None
    assert match.session_id == "a"


def test_a_bike_then_a_run_on_a_brick_day_complete_the_brick_bike_and_the_brick_run() -> None:
    brick = [
        session("brick-bike", "bike", 120, session_type="brick_bike"),
        session("brick-run", "run", 20, session_type="brick_run"),
    ]

    bike = match_activity(activity("bike", 115, activity_id="ride"), brick)
    assert bike is not None
    assert bike.session_id == "brick-bike"
    after_bike = [replace(brick[0], status="completed", activity_id="ride"), brick[1]]
    run = match_activity(activity("run", 22, activity_id="run"), after_bike)

    assert run is not None
    assert run.session_id == "brick-run"


def test_a_run_after_the_brick_bike_goes_to_the_brick_run_before_another_run_of_the_day() -> None:
    planned = [
        session("morning-run", "run", 30),
        session("brick-bike", "bike", 90, session_type="brick_bike", status="completed", activity_id="ride"),
        session("brick-run", "run", 20, session_type="brick_run"),
    ]

    match = match_activity(activity("run", 28), planned)

    assert match is not None
    assert match.session_id == "brick-run"


def test_a_run_before_the_brick_bike_goes_to_the_days_other_run() -> None:
    planned = [
        session("morning-run", "run", 30),
        session("brick-bike", "bike", 90, session_type="brick_bike"),
        session("brick-run", "run", 20, session_type="brick_run"),
    ]

    match = match_activity(activity("run", 22), planned)

    assert match is not None
    assert match.session_id == "morning-run"


def test_a_pool_swim_is_matched_by_distance_when_its_moving_time_leaves_out_the_rests() -> None:
    planned = [session("swim", "swim", 60, distance_m=2000)]

    match = match_activity(activity("swim", 28, distance_m=2000), planned)

    assert match is not None
    assert match.score == pytest.approx(1.0)


def test_equal_candidates_are_resolved_the_same_way_every_time() -> None:
    planned = [session("b", "run", 50, day=THURSDAY), session("a", "run", 50, day=TUESDAY)]

    first = match_activity(activity("run", 50), planned)
    again = match_activity(activity("run", 50), list(reversed(planned)))

    assert first is not None
    assert first == again
    assert first.session_id == "a"  # the earlier of two equally good neighbours


def test_the_local_day_of_a_late_evening_run_comes_from_the_providers_utc_offset() -> None:
    event = ActivityUpserted(
        activity_id="act-9",
        user_id="u-1",
        provider="garmin",
        external_id="g-9",
        created=True,
        revision=1,
        sport="run",
        sport_type="running",
        start_time=datetime(2025, 6, 11, 22, 30, tzinfo=UTC),
        utc_offset_seconds=7200,
        moving_time_s=3120,
        elapsed_time_s=3300,
        distance_m=10_100,
    )

    assert ActivityToMatch.from_event(event) == ActivityToMatch(
        "act-9", "run", date(2025, 6, 12), 3120, 10_100
    )


def outcome(day: date, planned: int, status: str, actual: float | None = None) -> SessionOutcome:
    return SessionOutcome(day, planned, status, actual)  # type: ignore[arg-type]


def test_compliance_is_the_share_of_planned_time_done() -> None:
    monday = date(2025, 1, 20)
    week = [outcome(monday + timedelta(days=i), 120, "completed", 115) for i in range(6)]

    assert compliance(week, monday + timedelta(days=6)) == 95.8  # 11.5 h of 12 h


def test_a_longer_session_does_not_make_up_for_a_missed_one() -> None:
    sessions = [outcome(TUESDAY, 60, "completed", 150), outcome(WEDNESDAY, 60, "pending")]

    assert compliance(sessions, THURSDAY) == 50.0


def test_skipped_sessions_count_as_not_done_whatever_the_reason() -> None:
    sessions = [outcome(TUESDAY, 60, "completed", 60), outcome(WEDNESDAY, 60, "skipped")]

    assert compliance(sessions, WEDNESDAY) == 50.0


def test_future_sessions_and_todays_pending_ones_are_not_due_yet() -> None:
    sessions = [
        outcome(TUESDAY, 60, "completed", 45),
        outcome(WEDNESDAY, 60, "pending"),
        outcome(THURSDAY, 90, "pending"),
    ]

    assert compliance(sessions, WEDNESDAY) == 75.0


def test_a_session_done_today_counts_today() -> None:
    sessions = [outcome(TUESDAY, 60, "completed", 60), outcome(WEDNESDAY, 40, "completed", 40)]

    assert compliance(sessions, WEDNESDAY) == 100.0


def test_a_session_marked_done_without_a_recording_counts_in_full() -> None:
    assert compliance([outcome(TUESDAY, 60, "completed")], WEDNESDAY) == 100.0


def test_compliance_is_unknown_before_anything_was_due() -> None:
    assert (
        compliance([outcome(THURSDAY, 60, "pending"), outcome(WEDNESDAY, 60, "pending")], WEDNESDAY) is None
    )
    assert compliance([], WEDNESDAY) is None


def test_compliance_has_one_decimal_like_the_app_shows_it() -> None:
    sessions = [outcome(TUESDAY, 60, "completed", 60)] * 6 + [outcome(TUESDAY, 60, "skipped")]

    assert compliance(sessions, WEDNESDAY) == 85.7


outcomes = st.builds(
    SessionOutcome,
    scheduled_date=st.dates(min_value=date(2025, 3, 1), max_value=date(2025, 3, 31)),
    duration_minutes=st.integers(min_value=0, max_value=360),
    status=st.sampled_from(["pending", "completed", "skipped"]),
    actual_minutes=st.none() | st.floats(min_value=-10, max_value=600),
)


@given(st.lists(outcomes, max_size=30), st.dates(min_value=date(2025, 2, 20), max_value=date(2025, 4, 10)))
def test_compliance_is_a_percentage_between_0_and_100(sessions: list[SessionOutcome], today: date) -> None:
    rate = compliance(sessions, today)

    assert rate is None or 0.0 <= rate <= 100.0
