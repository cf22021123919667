"""A training program from a template and the athlete's answers: phases on the calendar, a weekly
volume that builds, unloads and tapers, and each week's sessions on the days the athlete can train,
each with its structured workout and French wording."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time, timedelta

from planning.domain import Phase as ProgramPhase
from planning.domain import (
    PlanInputs,
    PlannedSession,
    PlannedWeek,
    Program,
    SessionType,
    Sport,
    Template,
    TimeSlot,
)
from planning.durations import Slot, allocate, capacity, floor_step, round_step
from planning.periodization import WeekFrame, phase_templates, program_weeks, week_frames
from planning.placement import TrainingDay, place_week, training_days
from planning.week_plan import SessionSpec, WeekContext, sport_split, week_units
from planning.workouts import build_workout, describe, estimated_distance_m
from relay_contracts.workouts import StructuredWorkout

POOL_LENGTH_M = 25.0  # the athlete's pool length is not asked: the most common one
INDOOR_TYPES: frozenset[SessionType] = frozenset({"threshold", "intervals"})
WEEKDAYS = frozenset({1, 2, 3, 4, 5})
# A swim in a pool slot from this hour on is done after the day's other session, otherwise before.
EVENING = time(17, 0)


def generate_program(template: Template, inputs: PlanInputs) -> Program:
    """The athlete's program from `inputs.start_date` (a Monday) to the event, the race day itself left
    free. Pure and deterministic: the same template and inputs give the same program.

    The weekly volume peaks at the athlete's hours capped by the template's maximum; a week's target is
    lowered to what its available days can hold. Raises ValueError when the inputs cannot make a
    program: a start that is not a Monday, fewer than 3 weeks to the event, no available day, a
    template of another distance."""
    _validate(template, inputs)
    total_weeks = program_weeks(inputs.start_date, inputs.goal.event_date)
    frames = week_frames(template, inputs.start_date, total_weeks)
    peak_hours = min(inputs.availability.weekly_hours, template.weekly_hours_max)
    planner = _WeekPlanner(template, inputs)

    weeks: list[PlannedWeek] = []
    peak_minutes = 0
    for frame in frames:
        if frame.taper:
            # The taper is measured against the week actually planned at the peak.
            target = round_step(frame.load * peak_minutes)
        else:
            target = round_step(frame.load * peak_hours * 60)
        week = planner.week(frame, target)
        if not frame.taper:
            peak_minutes = max(peak_minutes, week.target_minutes)
        weeks.append(week)

    return Program(
        template_id=template.id,
        start_date=inputs.start_date,
        end_date=inputs.goal.event_date,
        phases=_phases(frames),
        weeks=tuple(weeks),
        weekly_hours_target=peak_hours,
    )


def _validate(template: Template, inputs: PlanInputs) -> None:
    if inputs.start_date.weekday() != 0:
        raise ValueError(f"a program starts on a Monday, not on {inputs.start_date.isoformat()}")
    if template.distance_type != inputs.goal.distance_type:
        raise ValueError(
            f"template {template.id} is for a {template.distance_type}, not a {inputs.goal.distance_type}"
        )
    if inputs.goal.event_date <= inputs.start_date:
        raise ValueError("the event must come after the program's start")
    if inputs.availability.weekly_hours <= 0:
        raise ValueError("the weekly hours must be positive")
    days = {inputs.availability.preferred_long_day, *inputs.availability.unavailable_days}
    if not days <= set(range(7)):
        raise ValueError("days of the week go from 0 (Sunday) to 6 (Saturday)")
    if len(inputs.availability.unavailable_days) >= 7:
        raise ValueError("at least one day of the week must be available")
    phase_templates(template)


def _phases(frames: tuple[WeekFrame, ...]) -> tuple[ProgramPhase, ...]:
    phases: list[ProgramPhase] = []
    for frame in frames:
        if phases and phases[-1].name == frame.phase:
            last = phases[-1]
            phases[-1] = ProgramPhase(last.name, last.first_week, frame.number, last.start_date)
        else:
            phases.append(ProgramPhase(frame.phase, frame.number, frame.number, frame.start_date))
    return tuple(phases)


@dataclass(frozen=True)
class _Sized:
    spec: SessionSpec
    day: TrainingDay
    minutes: int
    brick_part: int | None  # 0 for a brick's bike, 1 for its run


class _WeekPlanner:
    """Builds weeks for one program; remembers workouts already built, which repeat across weeks."""

    def __init__(self, template: Template, inputs: PlanInputs) -> None:
        self._template = template
        self._inputs = inputs
        self._phases = phase_templates(template)
        self._workouts: dict[tuple[Sport, SessionType, int, int], tuple[StructuredWorkout, float | None]] = {}
        self._last_day = inputs.goal.event_date - timedelta(days=1)

    def week(self, frame: WeekFrame, target: int) -> PlannedWeek:
        inputs = self._inputs
        days = training_days(
            frame.start_date, self._last_day, inputs.availability.unavailable_days, inputs.constraints
        )
        phase = self._phases[frame.phase]
        context = WeekContext(
            distance_type=self._template.distance_type,
            phase=phase,
            recovery=frame.recovery,
            race_week=frame.start_date + timedelta(days=6) >= inputs.goal.event_date,
            target_minutes=target,
            sessions_per_week=self._template.sessions_per_week,
            days=len(days),
            pool_days=sum(1 for d in days if d.swim_ok),
        )
        placements = place_week(week_units(context), days, inputs.availability.preferred_long_day)
        slots = [_slot(spec, p.day) for p in placements for spec in p.unit.specs]
        target = min(target, capacity(slots))
        swims = any(p.unit.sports & {"swim"} for p in placements)
        intensity = 0.0 if frame.recovery else phase.intensity
        minutes = allocate(
            slots,
            sport_split(phase, swims),
            target,
            phase=frame.phase,
            intensity=intensity,
            light=frame.recovery,
        )

        sized: list[_Sized] = []
        flat = [(p, i, spec) for p in placements for i, spec in enumerate(p.unit.specs)]
        for (placement, part, spec), duration in zip(flat, minutes, strict=True):
            brick = part if len(placement.unit.specs) > 1 else None
            sized.append(_Sized(spec, placement.day, duration, brick))
        sessions = self._sessions(sized, frame)
        return PlannedWeek(
            number=frame.number,
            phase=frame.phase,
            start_date=frame.start_date,
            recovery=frame.recovery,
            target_minutes=target,
            sessions=sessions,
        )

    def _sessions(self, sized: list[_Sized], frame: WeekFrame) -> tuple[PlannedSession, ...]:
        constraints = self._inputs.constraints
        by_day: dict[date, list[_Sized]] = {}
        for item in sized:
            by_day.setdefault(item.day.date, []).append(item)
        sessions: list[PlannedSession] = []
        for day in sorted(by_day):
            for order, item in enumerate(sorted(by_day[day], key=_day_order(by_day[day]))):
                spec = item.spec
                workout, distance = self._workout(
                    spec.sport, spec.session_type, item.minutes, frame.week_in_phase
                )
                title, objective, tips = describe(spec.sport, spec.session_type)
                indoor = (
                    spec.sport == "bike"
                    and constraints.home_trainer
                    and not constraints.outdoor_bike_only
                    and spec.session_type in INDOOR_TYPES
                    and item.day.weekday in WEEKDAYS
                )
                sessions.append(
                    PlannedSession(
                        date=day,
                        sport=spec.sport,
                        session_type=spec.session_type,
                        title=title,
                        duration_minutes=item.minutes,
                        objective=objective,
                        tips=tips,
                        workout=workout,
                        distance_m=distance,
                        indoor=indoor,
                        slot=_pool_slot(item),
                        order=order,
                    )
                )
        return tuple(sessions)

    def _workout(
        self, sport: Sport, session_type: SessionType, minutes: int, week_in_phase: int
    ) -> tuple[StructuredWorkout, float | None]:
        key = (sport, session_type, minutes, week_in_phase)
        if key not in self._workouts:
            workout = build_workout(
                sport,
                session_type,
                minutes,
                self._inputs.thresholds,
                week_in_phase=week_in_phase,
                pool_length_m=POOL_LENGTH_M,
            )
            self._workouts[key] = (workout, estimated_distance_m(workout, self._inputs.thresholds))
        return self._workouts[key]


def _slot(spec: SessionSpec, day: TrainingDay) -> Slot:
    high = spec.max_minutes
    longest = day.longest_slot_minutes
    if spec.sport == "swim" and longest is not None:
        # The swim is trimmed to the pool's longest slot that day.
        high = min(high, floor_step(longest))
    return Slot(spec, spec.min_minutes, max(spec.min_minutes, high))


def _pool_slot(item: _Sized) -> TimeSlot | None:
    """The earliest of the day's pool slots long enough for the swim (the longest when none is)."""
    if item.spec.sport != "swim" or not item.day.pool_slots:
        return None
    fitting = [s for s in item.day.pool_slots if s.minutes >= item.minutes]
    if fitting:
        return fitting[0]
    return max(item.day.pool_slots, key=lambda s: (s.minutes, -(s.start.hour * 60 + s.start.minute)))


def _day_order(day: list[_Sized]) -> Callable[[_Sized], tuple[int, int]]:
    """A brick's bike then its run come first; a swim before the other session unless its pool slot is
    in the evening; otherwise the hard session first, done fresh."""

    def key(item: _Sized) -> tuple[int, int]:
        if item.brick_part is not None:
            return 0, item.brick_part
        if item.spec.sport == "swim":
            slot = _pool_slot(item)
            return (4, 0) if slot is not None and slot.start >= EVENING else (1, 0)
        return (2, 0) if item.spec.key else (3, 0)

    return key
