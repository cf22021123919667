"""Which planned session an athlete's recorded activity completes, and how much of the plan was done.

Matching is deliberately conservative: an activity that is not clearly the planned session stays an
extra activity (it still counts in the training load), because a wrong match hides a missed session
from the athlete and from the recalculation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Literal

from planning.domain import SessionType, Sport
from relay_contracts.events.ingestion import ActivityUpserted

SessionStatus = Literal["pending", "completed", "skipped"]

# An activity within this share of the planned duration (or distance) can be the session: shorter, it
# was cut too short to count; longer, it was a different workout.
MIN_RATIO = 0.5
MAX_RATIO = 1.5
# A session moved to the neighbouring day is a weaker match than one done on its day.
NEIGHBOUR_DAY_CONFIDENCE = 0.8
_TRAINED_SPORTS = ("swim", "bike", "run")


@dataclass(frozen=True)
class ActivityToMatch:
    activity_id: str
    sport: str  # the activity's sport as ingestion names it (`run`, `bike`, `swim`, `walk`...)
    local_date: date  # the day it started, in the athlete's time zone
    moving_time_s: int
    distance_m: float | None = None

    @classmethod
    def from_event(cls, event: ActivityUpserted) -> ActivityToMatch:
        """The activity as matching sees it. The local day comes from the provider's UTC offset; a naive
        start time is read as UTC. Without an offset the start time's own date is used."""
        start = event.start_time
        if event.utc_offset_seconds is not None:
            aware = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
            local_date = (aware.astimezone(UTC) + timedelta(seconds=event.utc_offset_seconds)).date()
        else:
            local_date = start.date()
        return cls(
            activity_id=event.activity_id,
            sport=event.sport,
            local_date=local_date,
            moving_time_s=event.moving_time_s or event.elapsed_time_s or 0,
            distance_m=event.distance_m,
        )


@dataclass(frozen=True)
class SessionToMatch:
    session_id: str
    scheduled_date: date
    sport: Sport
    duration_minutes: int
    status: SessionStatus
    session_type: SessionType | None = None
    distance_m: float | None = None  # the planned distance, when the plan gives one
    activity_id: str | None = None  # the activity that completed it, if one did


@dataclass(frozen=True)
class MatchResult:
    session_id: str
    score: float  # 0 to 1: 1 is the planned duration on the planned day
    day_offset: int  # the activity's day minus the session's day: -1, 0 or 1
    explanation: str


def match_activity(activity: ActivityToMatch, candidates: Sequence[SessionToMatch]) -> MatchResult | None:
    """The planned session the activity completes, or None when none fits.

    A session fits when it is of the activity's sport, on the activity's local day, and the activity's
    moving time is 50% to 150% of the planned duration (or its distance 50% to 150% of a planned
    distance: a pool swim's moving time leaves out the rests between repeats). The closer to the plan,
    the higher the score. When no session of that sport is planned on the activity's day, a session of
    that sport on the day before or after fits too (sessions get moved for weather or work).

    A skipped session is never matched, nor one another activity already completed; the session this
    activity completed earlier stays available to it, so a re-delivered or edited activity keeps its
    match instead of taking a second session.

    Bricks: a run on a day whose brick bike is done goes to the brick run first; while the brick bike is
    still pending, a run goes first to another run planned that day (the brick's run comes off the bike).
    Remaining ties go to the earlier session, then the smaller id, so the result is deterministic."""
    if activity.sport not in _TRAINED_SPORTS or activity.moving_time_s <= 0:
        return None
    same_sport = [s for s in candidates if s.sport == activity.sport]
    same_day = [s for s in same_sport if s.scheduled_date == activity.local_date]
    # The neighbouring days only count when nothing of that sport was planned on the activity's own day.
    pool = same_day or [s for s in same_sport if abs((s.scheduled_date - activity.local_date).days) == 1]
    ranked: list[tuple[tuple[int, float, date, str], MatchResult]] = []
    for session in pool:
        if not _available(session, activity):
            continue
        closeness = _closeness(activity, session)
        if closeness is None:
            continue
        offset = (activity.local_date - session.scheduled_date).days
        score = closeness * (1.0 if offset == 0 else NEIGHBOUR_DAY_CONFIDENCE)
        result = MatchResult(session.session_id, round(score, 3), offset, _explain(activity, session, offset))
        # min() picks the best: brick preference, then score, then the earlier session, then the id.
        key = (-_brick_preference(session, candidates), -score, session.scheduled_date, session.session_id)
        ranked.append((key, result))
    if not ranked:
        return None
    return min(ranked, key=lambda entry: entry[0])[1]


def _available(session: SessionToMatch, activity: ActivityToMatch) -> bool:
    if session.status == "pending":
        return True
    return session.status == "completed" and session.activity_id == activity.activity_id


def _ratio_closeness(actual: float, planned: float) -> float | None:
    """1 at the planned amount, falling linearly to 0 at 50% and 150% of it; None outside."""
    if planned <= 0:
        return None
    ratio = actual / planned
    if not MIN_RATIO <= ratio <= MAX_RATIO:
        return None
    return 1.0 - abs(ratio - 1.0) / (1.0 - MIN_RATIO)


def _closeness(activity: ActivityToMatch, session: SessionToMatch) -> float | None:
    by_duration = _ratio_closeness(activity.moving_time_s / 60, session.duration_minutes)
    by_distance = None
    if activity.distance_m is not None and session.distance_m is not None:
        by_distance = _ratio_closeness(activity.distance_m, session.distance_m)
    fits = [c for c in (by_duration, by_distance) if c is not None]
    return max(fits) if fits else None


def _brick_preference(session: SessionToMatch, candidates: Sequence[SessionToMatch]) -> int:
    """1 for a brick run whose bike is done, -1 for one whose bike is still to come, 0 otherwise."""
    if session.session_type != "brick_run":
        return 0
    bikes = [
        s.status
        for s in candidates
        if s.session_type == "brick_bike" and s.scheduled_date == session.scheduled_date
    ]
    if "completed" in bikes:
        return 1
    if "pending" in bikes:
        return -1
    return 0


def _explain(activity: ActivityToMatch, session: SessionToMatch, offset: int) -> str:
    minutes = round(activity.moving_time_s / 60)
    share = round(100 * activity.moving_time_s / 60 / session.duration_minutes)
    day = {0: "the same day", 1: "the day before", -1: "the day after"}[offset]
    kind = (session.session_type or "session").replace("_", " ")
    return (
        f"{activity.sport} of {minutes} min on {activity.local_date.isoformat()} matches the "
        f"{session.duration_minutes}-min {session.sport} {kind} planned {day} ({share}% of its duration)"
    )


@dataclass(frozen=True)
class SessionOutcome:
    scheduled_date: date
    duration_minutes: int  # planned
    status: SessionStatus
    actual_minutes: float | None = None  # recorded duration of a completed session, when known


def compliance(sessions: Sequence[SessionOutcome], today: date) -> float | None:
    """The share of the planned training time done so far, in percent with one decimal (like 87.5),
    or None when no session was due yet.

    Due sessions are those scheduled before today, plus today's sessions already completed or skipped: a
    session still pending today is not missed yet. Future sessions are left out.

    Each due session counts its planned minutes once, and what was done of it: a completed session its
    actual minutes capped at the planned duration (a longer ride does not make up for a missed run), or
    the full planned duration when it was marked done without a recording; a skipped or missed session
    counts nothing. The result is the done minutes over the planned minutes, between 0 and 100."""
    planned = 0.0
    done = 0.0
    for session in sessions:
        if session.duration_minutes <= 0 or session.scheduled_date > today:
            continue
        if session.scheduled_date == today and session.status == "pending":
            continue
        planned += session.duration_minutes
        if session.status == "completed":
            actual = session.duration_minutes if session.actual_minutes is None else session.actual_minutes
            done += min(max(actual, 0.0), session.duration_minutes)
    if planned == 0:
        return None
    return round(100 * done / planned, 1)
