"""Recalculation of the upcoming weeks when training did not go as planned.

The rules, as a coach applies them:

- Skipped for illness: the rest of the current week is easy. Every remaining session is shortened by
  30% and nothing stays harder than endurance: intensity, long and brick sessions become recovery in the
  first two days (today and tomorrow), endurance after. Next week is 20% lighter.
- Skipped for fatigue: the next intensity session this week (tempo, threshold, intervals, race pace)
  becomes a recovery session at 60% of its duration, and next week is 10% lighter.
- Skipped for injury: no running for the rest of this week and next week. Each run is removed and half of
  its time, when that makes 20 minutes or more, comes back as an easy ride on the same day (a swim when a
  ride is already planned then, nothing when both are), so the aerobic work goes on without impact; the
  rest of next week is 20% lighter.
- Skipped for schedule or another reason: nothing changes; one missed session is life, and a pattern of
  them shows up in compliance.
- Low compliance (below 70% the previous week): the week after it is 10% lighter, and not above the
  previous week's planned volume, unless the previous week was a planned recovery week: a load that was
  not absorbed is not built on.
- Weekly review (Monday): the low compliance rule when the week that ended was below 70%; otherwise the
  plan stays as it is, in particular when the athlete did 90% or more of it.

And the limits every rule respects: only pending sessions from today on change (past, completed and
skipped sessions never do); durations only get shorter and what is added for an injury is less than
what is removed, so no week grows and week targets only go down; in the taper, sessions keep their type
and nothing is added: the taper is only ever reduced. Shortened sessions are rounded to 5 minutes and
never below 15 minutes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal, TypedDict

from planning.domain import PhaseName, SessionType, Sport
from planning.matching import SessionOutcome, SessionStatus, compliance

SkipReason = Literal["fatigue", "illness", "injury", "schedule", "other"]
TriggerKind = Literal["skip", "low_compliance", "weekly"]
Rule = Literal["illness", "fatigue", "injury", "low_compliance"]

INTENSITY_TYPES: frozenset[SessionType] = frozenset({"tempo", "threshold", "intervals", "race_pace"})
EASY_TYPES: frozenset[SessionType] = frozenset({"endurance", "technique", "recovery"})

ILLNESS_REST_OF_WEEK = 0.7
ILLNESS_RECOVERY_DAYS = 2  # today and tomorrow
ILLNESS_NEXT_WEEK = 0.8
FATIGUE_RECOVERY_SESSION = 0.6
FATIGUE_NEXT_WEEK = 0.9
INJURY_NEXT_WEEK = 0.8
INJURY_CROSS_TRAINING_SHARE = 0.5
LOW_COMPLIANCE_PERCENT = 70.0
LOW_COMPLIANCE_WEEK = 0.9
MIN_SESSION_MINUTES = 15
MIN_ADDED_SESSION_MINUTES = 20  # a shorter cross-training session is not worth the trip to the pool


@dataclass(frozen=True)
class SessionState:
    id: str
    date: date
    sport: Sport
    session_type: SessionType
    duration_minutes: int
    status: SessionStatus = "pending"
    skip_reason: SkipReason | None = None
    actual_minutes: float | None = None
    order: int = 0  # position within the day


@dataclass(frozen=True)
class WeekState:
    number: int
    phase: PhaseName
    start_date: date  # Monday
    recovery: bool
    target_minutes: int
    sessions: tuple[SessionState, ...]

    @property
    def end_date(self) -> date:
        return self.start_date + timedelta(days=6)

    @property
    def planned_minutes(self) -> int:
        return sum(s.duration_minutes for s in self.sessions)


@dataclass(frozen=True)
class Trigger:
    """Why the plan is recalculated: a skipped session (with its reason), a week below 70% compliance,
    or the weekly review."""

    kind: TriggerKind
    skip_reason: SkipReason | None = None

    def __post_init__(self) -> None:
        if (self.kind == "skip") != (self.skip_reason is not None):
            raise ValueError("a skip trigger has a reason, and only a skip trigger has one")


@dataclass(frozen=True)
class SessionChange:
    session_id: str
    session_type: SessionType
    duration_minutes: int


@dataclass(frozen=True)
class AddedSession:
    week_number: int
    date: date
    sport: Sport
    session_type: SessionType
    duration_minutes: int
    replaces: str | None = None  # the removed session it stands in for


class ChangesSummary(TypedDict):
    weeks_modified: list[int]
    sessions_added: int
    sessions_removed: int
    volume_adjustment: int


@dataclass(frozen=True)
class Recalculation:
    """What changes in the plan. `volume_adjustment` is the change of the modified weeks' planned time, in
    whole percent (negative for a reduction); `week_targets` the new target minutes of those weeks."""

    rule: Rule | None = None
    changed: tuple[SessionChange, ...] = ()
    removed: tuple[str, ...] = ()
    added: tuple[AddedSession, ...] = ()
    weeks_modified: tuple[int, ...] = ()
    week_targets: dict[int, int] = field(default_factory=dict)
    volume_adjustment: int = 0

    @property
    def unchanged(self) -> bool:
        return not (self.changed or self.removed or self.added)

    @property
    def changes(self) -> ChangesSummary:
        """The summary the API returns with a recalculation."""
        return {
            "weeks_modified": list(self.weeks_modified),
            "sessions_added": len(self.added),
            "sessions_removed": len(self.removed),
            "volume_adjustment": self.volume_adjustment,
        }


def recalculate(weeks: Sequence[WeekState], today: date, trigger: Trigger) -> Recalculation:
    """The changes the trigger calls for, by the rules of this module. The current week is the one
    containing `today`, the next week the first one starting after it."""
    ordered = sorted(weeks, key=lambda w: w.start_date)
    draft = _Draft(ordered, today)
    current = next((w for w in ordered if w.start_date <= today <= w.end_date), None)
    following = next((w for w in ordered if w.start_date > today), None)
    rule: Rule | None = None
    if trigger.kind == "skip":
        if trigger.skip_reason == "illness":
            rule = "illness"
            _after_illness(draft, current, following)
        elif trigger.skip_reason == "fatigue":
            rule = "fatigue"
            _after_fatigue(draft, current, following)
        elif trigger.skip_reason == "injury":
            rule = "injury"
            _after_injury(draft, current, following)
    else:
        ended = [w for w in ordered if w.end_date < today]
        if ended and (trigger.kind == "low_compliance" or _low_compliance(ended[-1], today)):
            rule = "low_compliance"
            _after_low_compliance(draft, ordered, ended[-1])
    return draft.result(rule)


def _after_illness(draft: _Draft, current: WeekState | None, following: WeekState | None) -> None:
    if current is not None:
        for session in draft.editable(current):
            if session.session_type in EASY_TYPES:
                draft.shorten(session, ILLNESS_REST_OF_WEEK)
                continue
            first_days = (session.date - draft.today).days < ILLNESS_RECOVERY_DAYS
            draft.ease(current, session, "recovery" if first_days else "endurance", ILLNESS_REST_OF_WEEK)
    if following is not None:
        for session in draft.editable(following):
            draft.shorten(session, ILLNESS_NEXT_WEEK)


def _after_fatigue(draft: _Draft, current: WeekState | None, following: WeekState | None) -> None:
    if current is not None:
        hard = [s for s in draft.editable(current) if s.session_type in INTENSITY_TYPES]
        if hard:
            draft.ease(current, hard[0], "recovery", FATIGUE_RECOVERY_SESSION)
    if following is not None:
        for session in draft.editable(following):
            draft.shorten(session, FATIGUE_NEXT_WEEK)


def _after_injury(draft: _Draft, current: WeekState | None, following: WeekState | None) -> None:
    for week in (current, following):
        if week is None:
            continue
        for session in draft.editable(week):
            if session.sport == "run":
                draft.replace_run(week, session)
            elif week is following:
                draft.shorten(session, INJURY_NEXT_WEEK)


def _low_compliance(week: WeekState, today: date) -> bool:
    rate = compliance([_outcome(s) for s in week.sessions], today)
    return rate is not None and rate < LOW_COMPLIANCE_PERCENT


def _after_low_compliance(draft: _Draft, ordered: Sequence[WeekState], evaluated: WeekState) -> None:
    position = ordered.index(evaluated)
    if position + 1 >= len(ordered):
        return
    week = ordered[position + 1]
    factor = LOW_COMPLIANCE_WEEK
    if not evaluated.recovery and evaluated.planned_minutes > 0 and week.planned_minutes > 0:
        factor = min(factor, evaluated.planned_minutes / week.planned_minutes)
    for session in draft.editable(week):
        draft.shorten(session, factor)


def _outcome(session: SessionState) -> SessionOutcome:
    return SessionOutcome(session.date, session.duration_minutes, session.status, session.actual_minutes)


def _reduced(minutes: int, factor: float) -> int:
    """`minutes * factor` to the nearest 5 minutes, not below the shortest useful session and never above
    `minutes`."""
    rounded = math.floor(minutes * factor / 5 + 0.5) * 5
    return min(minutes, max(MIN_SESSION_MINUTES, rounded))


def _scaled_target(week: WeekState, delta_minutes: int) -> int:
    """The week's target shrunk in proportion to its planned time, never above the original target."""
    if week.planned_minutes <= 0:
        return week.target_minutes
    scaled = round(week.target_minutes * (week.planned_minutes + delta_minutes) / week.planned_minutes)
    return min(week.target_minutes, scaled)


class _Draft:
    """The plan being edited: only pending sessions from today on can be touched, and only downwards."""

    def __init__(self, weeks: Sequence[WeekState], today: date) -> None:
        self.today = today
        self._weeks = weeks
        self._types: dict[str, SessionType] = {}
        self._minutes: dict[str, int] = {}
        self._removed: list[str] = []
        self._added: list[AddedSession] = []

    def editable(self, week: WeekState) -> list[SessionState]:
        sessions = [
            s
            for s in week.sessions
            if s.status == "pending" and s.date >= self.today and s.id not in self._removed
        ]
        return sorted(sessions, key=lambda s: (s.date, s.order, s.id))

    def minutes(self, session: SessionState) -> int:
        return self._minutes.get(session.id, session.duration_minutes)

    def shorten(self, session: SessionState, factor: float) -> None:
        self._minutes[session.id] = _reduced(self.minutes(session), factor)

    def ease(self, week: WeekState, session: SessionState, session_type: SessionType, factor: float) -> None:
        """An easier session of the given type; in the taper, the same session shorter."""
        if week.phase != "Taper":
            self._types[session.id] = session_type
        self.shorten(session, factor)

    def replace_run(self, week: WeekState, run: SessionState) -> None:
        """Removes the run and, outside the taper, adds an easy ride or swim for part of its time."""
        self._removed.append(run.id)
        minutes = math.floor(self.minutes(run) * INJURY_CROSS_TRAINING_SHARE / 5) * 5
        if week.phase == "Taper" or minutes < MIN_ADDED_SESSION_MINUTES:
            return
        planned = {s.sport for s in week.sessions if s.date == run.date and s.id not in self._removed}
        planned |= {a.sport for a in self._added if a.date == run.date}
        replacements: tuple[Sport, ...] = ("bike", "swim")
        for sport in replacements:
            if sport not in planned:
                self._added.append(AddedSession(week.number, run.date, sport, "endurance", minutes, run.id))
                return

    def result(self, rule: Rule | None) -> Recalculation:
        changed: list[SessionChange] = []
        delta: dict[int, int] = {}  # week number to its change in planned minutes
        for week in self._weeks:
            for session in week.sessions:
                if session.id in self._removed:
                    delta[week.number] = delta.get(week.number, 0) - session.duration_minutes
                    continue
                session_type = self._types.get(session.id, session.session_type)
                minutes = self.minutes(session)
                if (session_type, minutes) != (session.session_type, session.duration_minutes):
                    changed.append(SessionChange(session.id, session_type, minutes))
                    delta[week.number] = delta.get(week.number, 0) + minutes - session.duration_minutes
        for added in self._added:
            delta[added.week_number] = delta.get(added.week_number, 0) + added.duration_minutes
        if not delta:
            return Recalculation(rule=rule)
        modified = [w for w in self._weeks if w.number in delta]
        before = sum(w.planned_minutes for w in modified)
        after = before + sum(delta.values())
        targets = {w.number: _scaled_target(w, delta[w.number]) for w in modified}
        return Recalculation(
            rule=rule,
            changed=tuple(changed),
            removed=tuple(self._removed),
            added=tuple(self._added),
            weeks_modified=tuple(sorted(delta)),
            week_targets=targets,
            volume_adjustment=round(100 * (after - before) / before) if before else 0,
        )
