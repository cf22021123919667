"""Recalculation of the upcoming weeks after a skipped session, a poor week, or the weekly review."""

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planning.domain import PHASES
from planning.recalculation import (
    AddedSession,
    Recalculation,
    SessionChange,
    SessionState,
    SkipReason,
    Trigger,
    WeekState,
    recalculate,
)

# A Build week of a 70.3 plan, Monday to Sunday: (key, day offset, sport, type, minutes).
TEMPLATE = (
    ("swim-tech", 0, "swim", "technique", 45),
    ("run-intervals", 1, "run", "intervals", 50),
    ("bike-threshold", 2, "bike", "threshold", 60),
    ("run-easy", 3, "run", "endurance", 40),
    ("swim-easy", 4, "swim", "endurance", 50),
    ("brick-bike", 5, "bike", "brick_bike", 120),
    ("brick-run", 5, "run", "brick_run", 20),
    ("long-run", 6, "run", "long", 90),
)
WEEK_8 = date(2025, 3, 10)  # a Monday
WEEK_9 = WEEK_8 + timedelta(days=7)
TUESDAY_8 = WEEK_8 + timedelta(days=1)


def make_week(
    number: int, start: date, *, phase: str = "Build 1", recovery: bool = False, scale: float = 1.0
) -> WeekState:
    sessions = tuple(
        SessionState(
            id=f"w{number}-{key}",
            date=start + timedelta(days=offset),
            sport=sport,  # type: ignore[arg-type]
            session_type=session_type,  # type: ignore[arg-type]
            duration_minutes=round(minutes * scale),
            order=1 if key == "brick-run" else 0,
        )
        for key, offset, sport, session_type, minutes in TEMPLATE
    )
    planned = sum(s.duration_minutes for s in sessions)
    return WeekState(number, phase, start, recovery, planned, sessions)  # type: ignore[arg-type]


def done_before(week: WeekState, day: date, *, share: float = 1.0) -> WeekState:
    """The week with every session before `day` completed at `share` of its planned duration."""
    sessions = tuple(
        replace(s, status="completed", actual_minutes=s.duration_minutes * share) if s.date < day else s
        for s in week.sessions
    )
    return replace(week, sessions=sessions)


def skipped(week: WeekState, session_id: str, reason: SkipReason) -> WeekState:
    sessions = tuple(
        replace(s, status="skipped", skip_reason=reason) if s.id == session_id else s for s in week.sessions
    )
    return replace(week, sessions=sessions)


def changes_of(result: Recalculation) -> dict[str, tuple[str, int]]:
    return {c.session_id: (c.session_type, c.duration_minutes) for c in result.changed}


def minutes_after(week: WeekState, result: Recalculation) -> int:
    changed = {c.session_id: c.duration_minutes for c in result.changed}
    kept = sum(changed.get(s.id, s.duration_minutes) for s in week.sessions if s.id not in result.removed)
    return kept + sum(a.duration_minutes for a in result.added if a.week_number == week.number)


def skip_on_tuesday(reason: SkipReason, *, phase: str = "Build 1") -> tuple[list[WeekState], Recalculation]:
    week_8 = skipped(done_before(make_week(8, WEEK_8, phase=phase), TUESDAY_8), "w8-run-intervals", reason)
    weeks = [week_8, make_week(9, WEEK_9, phase=phase), make_week(10, WEEK_9 + timedelta(days=7))]
    return weeks, recalculate(weeks, TUESDAY_8, Trigger("skip", reason))


def test_after_an_illness_the_rest_of_the_week_is_shorter_and_nothing_is_harder_than_endurance() -> None:
    _, result = skip_on_tuesday("illness")

    assert result.rule == "illness"
    week_8 = {k: v for k, v in changes_of(result).items() if k.startswith("w8-")}
    assert week_8 == {
        "w8-bike-threshold": ("recovery", 40),  # tomorrow: the first days back are recovery
        "w8-run-easy": ("endurance", 30),
        "w8-swim-easy": ("endurance", 35),
        "w8-brick-bike": ("endurance", 85),
        "w8-brick-run": ("endurance", 15),
        "w8-long-run": ("endurance", 65),
    }


def test_after_an_illness_next_week_is_20_percent_lighter_and_keeps_its_sessions() -> None:
    weeks, result = skip_on_tuesday("illness")

    week_9 = weeks[1]
    assert minutes_after(week_9, result) / week_9.planned_minutes == pytest.approx(0.8, abs=0.03)
    next_week = {k: v for k, v in changes_of(result).items() if k.startswith("w9-")}
    assert len(next_week) == len(week_9.sessions)
    assert all(kind == _original(weeks, k).session_type for k, (kind, _) in next_week.items())
    assert result.changes == {
        "weeks_modified": [8, 9],
        "sessions_added": 0,
        "sessions_removed": 0,
        "volume_adjustment": -22,
    }


def test_after_fatigue_the_next_hard_session_becomes_recovery_and_next_week_is_10_percent_lighter() -> None:
    weeks, result = skip_on_tuesday("fatigue")

    assert result.rule == "fatigue"
    assert {k: v for k, v in changes_of(result).items() if k.startswith("w8-")} == {
        "w8-bike-threshold": ("recovery", 35)
    }
    assert minutes_after(weeks[1], result) / weeks[1].planned_minutes == pytest.approx(0.9, abs=0.02)
    assert result.weeks_modified == (8, 9)


def test_fatigue_late_in_the_week_only_lightens_next_week() -> None:
    saturday = WEEK_8 + timedelta(days=5)
    weeks = [done_before(make_week(8, WEEK_8), saturday), make_week(9, WEEK_9)]

    result = recalculate(weeks, saturday, Trigger("skip", "fatigue"))

    assert result.weeks_modified == (9,)


def test_after_an_injury_runs_give_way_to_easy_rides_this_week_and_next() -> None:
    weeks, result = skip_on_tuesday("injury")

    assert result.rule == "injury"
    still_planned = [
        s for w in weeks[:2] for s in w.sessions if s.status == "pending" and s.id not in result.removed
    ]
    assert not [s for s in still_planned if s.sport == "run"]
    assert set(result.removed) == {
        "w8-run-easy",
        "w8-brick-run",
        "w8-long-run",
        "w9-run-intervals",
        "w9-run-easy",
        "w9-brick-run",
        "w9-long-run",
    }
    thursday, sunday = WEEK_8 + timedelta(days=3), WEEK_8 + timedelta(days=6)
    assert result.added[:2] == (
        AddedSession(8, thursday, "bike", "endurance", 20, replaces="w8-run-easy"),
        AddedSession(8, sunday, "bike", "endurance", 45, replaces="w8-long-run"),
    )
    # Half of a 20-minute brick run is too short to be worth a session of its own.
    assert all(a.replaces not in {"w8-brick-run", "w9-brick-run"} for a in result.added)
    assert changes_of(result)["w9-brick-bike"] == ("brick_bike", 95)
    assert "w10-long-run" not in result.removed
    assert result.changes["sessions_removed"] == 7
    assert result.changes["sessions_added"] == 5


def test_an_injured_runs_time_goes_to_a_swim_when_a_ride_is_already_planned_that_day() -> None:
    saturday = WEEK_8 + timedelta(days=5)
    week = WeekState(
        8,
        "Build 1",
        WEEK_8,
        False,
        150,
        (
            SessionState("ride", saturday, "bike", "endurance", 90),
            SessionState("run", saturday, "run", "endurance", 60, order=1),
        ),
    )

    result = recalculate([week], WEEK_8, Trigger("skip", "injury"))

    assert result.removed == ("run",)
    assert result.added == (AddedSession(8, saturday, "swim", "endurance", 30, replaces="run"),)


def test_the_taper_is_only_ever_reduced() -> None:
    weeks, result = skip_on_tuesday("illness", phase="Taper")

    assert all(
        change.session_type == _original(weeks, change.session_id).session_type for change in result.changed
    )
    assert all(
        change.duration_minutes < _original(weeks, change.session_id).duration_minutes
        for change in result.changed
    )


def test_an_injury_in_the_taper_drops_the_runs_without_adding_anything() -> None:
    _, result = skip_on_tuesday("injury", phase="Taper")

    assert len(result.removed) == 7
    assert result.added == ()


def _original(weeks: list[WeekState], session_id: str) -> SessionState:
    return next(s for w in weeks for s in w.sessions if s.id == session_id)


@pytest.mark.parametrize("reason", ["schedule", "other"])
def test_a_session_skipped_for_schedule_or_another_reason_changes_nothing(reason: SkipReason) -> None:
    _, result = skip_on_tuesday(reason)

    assert result.unchanged
    assert result.changes == {
        "weeks_modified": [],
        "sessions_added": 0,
        "sessions_removed": 0,
        "volume_adjustment": 0,
    }


def test_a_missed_session_in_the_past_is_left_as_it_was() -> None:
    thursday = WEEK_8 + timedelta(days=3)
    week_8 = done_before(make_week(8, WEEK_8), TUESDAY_8)  # Tuesday and Wednesday were missed, still pending

    result = recalculate([week_8, make_week(9, WEEK_9)], thursday, Trigger("skip", "illness"))

    touched = {c.session_id for c in result.changed} | set(result.removed)
    assert not touched & {"w8-swim-tech", "w8-run-intervals", "w8-bike-threshold"}


def test_an_illness_in_the_last_week_of_the_program_only_eases_that_week() -> None:
    week = done_before(make_week(24, WEEK_8, phase="Taper"), TUESDAY_8)

    result = recalculate([week], TUESDAY_8, Trigger("skip", "illness"))

    assert result.weeks_modified == (24,)


def after_low_week(share: float, *, next_scale: float = 1.0, recovery: bool = False) -> list[WeekState]:
    week_8 = done_before(
        make_week(8, WEEK_8, recovery=recovery, scale=0.7 if recovery else 1.0), WEEK_9, share=share
    )
    return [week_8, make_week(9, WEEK_9, scale=next_scale)]


def test_after_a_week_below_70_percent_the_following_week_is_10_percent_lighter() -> None:
    weeks = after_low_week(0.5)

    result = recalculate(weeks, WEEK_9, Trigger("low_compliance"))

    assert result.rule == "low_compliance"
    assert changes_of(result)["w9-long-run"] == ("long", 80)
    assert minutes_after(weeks[1], result) == 430
    assert result.changes == {
        "weeks_modified": [9],
        "sessions_added": 0,
        "sessions_removed": 0,
        "volume_adjustment": -9,
    }
    assert result.week_targets == {9: 430}


def test_after_a_poor_week_the_next_one_is_not_allowed_to_grow() -> None:
    weeks = after_low_week(0.5, next_scale=1.2)

    result = recalculate(weeks, WEEK_9, Trigger("low_compliance"))

    assert minutes_after(weeks[1], result) <= weeks[0].planned_minutes


def test_a_poor_recovery_week_does_not_hold_the_next_build_week_to_its_lighter_volume() -> None:
    weeks = after_low_week(0.5, recovery=True)

    result = recalculate(weeks, WEEK_9, Trigger("low_compliance"))

    assert minutes_after(weeks[1], result) / weeks[1].planned_minutes == pytest.approx(0.9, abs=0.02)


def test_the_weekly_review_applies_the_low_compliance_rule_after_a_week_below_70_percent() -> None:
    weeks = after_low_week(0.6)

    assert recalculate(weeks, WEEK_9, Trigger("weekly")) == recalculate(
        weeks, WEEK_9, Trigger("low_compliance")
    )


@pytest.mark.parametrize("share", [0.8, 0.95, 1.0])
def test_the_weekly_review_leaves_the_plan_alone_when_the_athlete_keeps_up(share: float) -> None:
    week_7 = done_before(make_week(7, WEEK_8 - timedelta(days=7)), WEEK_8, share=share)
    weeks = [week_7, *after_low_week(share)]

    result = recalculate(weeks, WEEK_9, Trigger("weekly"))

    assert result == Recalculation()


def test_the_weekly_review_before_any_week_has_ended_changes_nothing() -> None:
    assert recalculate([make_week(1, WEEK_8)], WEEK_8, Trigger("weekly")).unchanged


def test_a_skip_trigger_needs_its_reason_and_the_others_have_none() -> None:
    with pytest.raises(ValueError, match="reason"):
        Trigger("skip")
    with pytest.raises(ValueError, match="reason"):
        Trigger("weekly", "illness")


def test_changes_are_reported_per_session() -> None:
    _, result = skip_on_tuesday("fatigue")

    assert SessionChange("w8-bike-threshold", "recovery", 35) in result.changed


SESSION_TYPES = ["endurance", "long", "technique", "tempo", "threshold", "intervals", "race_pace", "recovery"]


@st.composite
def plans(draw: st.DrawFn) -> list[WeekState]:
    weeks = []
    for index in range(draw(st.integers(min_value=1, max_value=4))):
        start = WEEK_8 + timedelta(days=7 * index)
        sessions = tuple(
            SessionState(
                id=f"{index}-{position}",
                date=start + timedelta(days=draw(st.integers(min_value=0, max_value=6))),
                sport=draw(st.sampled_from(["swim", "bike", "run"])),
                session_type=draw(st.sampled_from(SESSION_TYPES)),
                duration_minutes=draw(st.integers(min_value=10, max_value=300)),
                status=draw(st.sampled_from(["pending", "completed", "skipped"])),
                actual_minutes=draw(st.none() | st.integers(min_value=0, max_value=300)),
                order=position,
            )
            for position in range(draw(st.integers(min_value=0, max_value=9)))
        )
        target = draw(st.integers(min_value=0, max_value=900))
        phase = draw(st.sampled_from(PHASES))
        weeks.append(WeekState(index + 1, phase, start, draw(st.booleans()), target, sessions))
    return weeks


triggers = st.sampled_from(
    [Trigger("skip", reason) for reason in ("fatigue", "illness", "injury", "schedule", "other")]  # type: ignore[arg-type]
    + [Trigger("low_compliance"), Trigger("weekly")]
)


@given(plans(), st.integers(min_value=-3, max_value=30), triggers)
def test_recalculation_never_touches_done_or_past_sessions_and_never_adds_volume(
    weeks: list[WeekState], offset: int, trigger: Trigger
) -> None:
    today = WEEK_8 + timedelta(days=offset)

    result = recalculate(weeks, today, trigger)

    originals = {s.id: s for w in weeks for s in w.sessions}
    for session_id in [c.session_id for c in result.changed] + list(result.removed):
        assert originals[session_id].status == "pending"
        assert originals[session_id].date >= today
    for change in result.changed:
        assert change.duration_minutes <= originals[change.session_id].duration_minutes
    assert all(added.date >= today for added in result.added)
    for week in weeks:
        assert minutes_after(week, result) <= week.planned_minutes
        assert result.week_targets.get(week.number, week.target_minutes) <= week.target_minutes
        if week.phase == "Taper":
            assert not [a for a in result.added if a.week_number == week.number]
            for change in result.changed:
                if change.session_id in {s.id for s in week.sessions}:
                    assert change.session_type == originals[change.session_id].session_type
    assert result.volume_adjustment <= 0
    touched_weeks = {
        w.number for w in weeks for s in w.sessions if s.id in changes_of(result) or s.id in result.removed
    }
    assert set(result.weeks_modified) == touched_weeks | {a.week_number for a in result.added}
