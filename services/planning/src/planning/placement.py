"""Putting a week's sessions on days: the long ride on the athlete's long day and the long run next to
it, swims where the pool is open, hard sessions spread out, at most two places a day and one session
per sport a day (a brick takes one place for its bike and its run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from planning.domain import Constraints, TimeSlot, day_of_week
from planning.week_plan import Unit, least_important

PLACES_PER_DAY = 2
MIN_SWIM_MINUTES = 30

# Penalties when choosing a day, so that the most important spreading rules win over the others.
_HARD_NEXT_TO_HARD = 10  # two days in a row of hard bike or run work: the second is done tired
_HARD_SAME_DAY = 6  # stacking two hard sessions is the lesser evil: the next day stays easy
_PER_SESSION_ALREADY_THERE = 3  # spread the load over the week
_RUN_NEXT_TO_RUN = 2  # running on consecutive days is where overuse injuries come from
_BIKE_NEXT_TO_BIKE = 1
_SWIM_NEXT_TO_SWIM = 1
_ON_A_BRICK_DAY = 2  # a brick is already a double session


@dataclass(frozen=True)
class TrainingDay:
    """A day of the week the athlete can train."""

    date: date
    pool_slots: tuple[TimeSlot, ...]  # the pool's usable slots that day, when it keeps a schedule
    swim_ok: bool

    @property
    def weekday(self) -> int:
        return day_of_week(self.date)

    @property
    def longest_slot_minutes(self) -> int | None:
        return max((s.minutes for s in self.pool_slots), default=None)


@dataclass(frozen=True)
class Placement:
    unit: Unit
    day: TrainingDay


@dataclass
class _Day:
    option: TrainingDay
    units: list[Unit] = field(default_factory=list)

    def sports(self) -> set[str]:
        return {sport for unit in self.units for sport in unit.sports}

    def has_hard_legs(self) -> bool:
        return any(_hard_legs(u) for u in self.units)

    def accepts(self, unit: Unit) -> bool:
        if len(self.units) >= PLACES_PER_DAY or self.sports() & unit.sports:
            return False
        return "swim" not in unit.sports or self.option.swim_ok


def _hard_legs(unit: Unit) -> bool:
    return unit.key and bool(unit.sports & {"bike", "run"})


def training_days(
    monday: date, last_day: date, unavailable: frozenset[int], constraints: Constraints
) -> tuple[TrainingDay, ...]:
    """The week's days up to `last_day` (included) the athlete can train on, Monday first."""
    days: list[TrainingDay] = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        weekday = day_of_week(day)
        if day > last_day or weekday in unavailable:
            continue
        slots: tuple[TimeSlot, ...] = ()
        if not constraints.pool_access:
            swim_ok = False
        elif constraints.pool_schedule:
            slots = tuple(
                sorted(
                    (s for s in constraints.pool_schedule.get(weekday, ()) if s.minutes >= MIN_SWIM_MINUTES),
                    key=lambda s: (s.start, s.end),
                )
            )
            swim_ok = bool(slots)
        else:
            swim_ok = True
        days.append(TrainingDay(day, slots, swim_ok))
    return tuple(days)


def place_week(
    units: tuple[Unit, ...], days: tuple[TrainingDay, ...], preferred_long_day: int
) -> tuple[Placement, ...]:
    """Each unit on a day. When the days cannot hold them all, the least important units are dropped
    one at a time until they can; the long sessions are the last to go."""
    remaining = list(units)
    while remaining:
        placed = _greedy(remaining, days, preferred_long_day)
        if placed is not None:
            return placed
        remaining.remove(least_important(remaining))
    return ()


def _order(unit: Unit) -> tuple[int, int, int]:
    # The fixed long sessions first, then what has the fewest possible days: bricks need a day free of
    # both bike and run, swims a pool day; then hard sessions, which need spreading; the rest last.
    if unit.of_type("long"):
        group = 0 if "bike" in unit.sports else 1
    elif unit.of_type("brick_bike"):
        group = 2
    elif "swim" in unit.sports:
        group = 3
    elif unit.key:
        group = 4
    else:
        group = 5
    return group, unit.importance, unit.rank


def _greedy(
    units: list[Unit], days: tuple[TrainingDay, ...], preferred_long_day: int
) -> tuple[Placement, ...] | None:
    week = [_Day(d) for d in days]
    by_date = {d.option.date: d for d in week}
    long_ride: date | None = None
    placements: list[Placement] = []
    for unit in sorted(units, key=_order):
        if unit.of_type("long"):
            if "bike" in unit.sports or long_ride is None:
                chosen = _first_accepting(unit, by_date, _long_day_candidates(days, preferred_long_day))
            else:
                chosen = _first_accepting(unit, by_date, _next_to(long_ride))
            if chosen is not None and "bike" in unit.sports:
                long_ride = chosen.option.date
        else:
            candidates = [d for d in week if d.accepts(unit)]
            chosen = min(candidates, key=lambda d: _penalty(unit, d, week), default=None)
        if chosen is None:
            return None
        chosen.units.append(unit)
        placements.append(Placement(unit, chosen.option))
    return tuple(placements)


def _long_day_candidates(days: tuple[TrainingDay, ...], preferred_long_day: int) -> list[date]:
    """The preferred long day, then the following days of the week, then the preceding ones nearest
    first: a long day that moves should stay as close as possible to where the athlete wants it."""
    if not days:
        return []
    monday = days[0].date - timedelta(days=days[0].date.weekday())
    preferred = monday + timedelta(days=(preferred_long_day - 1) % 7)
    after = [preferred + timedelta(days=n) for n in range(7 - preferred.weekday())]
    before = [preferred - timedelta(days=n) for n in range(1, preferred.weekday() + 1)]
    return after + before


def _next_to(long_ride: date) -> list[date]:
    """The long run: the day after the long ride, else the day before, else the nearest day, and the
    same day only as a last resort."""
    nearest = [long_ride + timedelta(days=sign * n) for n in range(1, 7) for sign in (1, -1)]
    return [*nearest, long_ride]


def _first_accepting(unit: Unit, by_date: dict[date, _Day], candidates: list[date]) -> _Day | None:
    for candidate in candidates:
        day = by_date.get(candidate)
        if day is not None and day.accepts(unit):
            return day
    return None


def _penalty(unit: Unit, day: _Day, week: list[_Day]) -> int:
    """How much worse than an ideal day this one is for the unit; the earliest day wins ties."""
    penalty = _PER_SESSION_ALREADY_THERE * len(day.units)
    neighbours = [d for d in week if abs((d.option.date - day.option.date).days) == 1]
    if _hard_legs(unit):
        penalty += _HARD_NEXT_TO_HARD * sum(1 for d in neighbours if d.has_hard_legs())
        penalty += _HARD_SAME_DAY if day.has_hard_legs() else 0
    if any(u.of_type("brick_bike") for u in day.units):
        penalty += _ON_A_BRICK_DAY
    for sport, cost in (
        ("run", _RUN_NEXT_TO_RUN),
        ("bike", _BIKE_NEXT_TO_BIKE),
        ("swim", _SWIM_NEXT_TO_SWIM),
    ):
        if sport in unit.sports:
            penalty += cost * sum(1 for d in neighbours if sport in d.sports())
    return penalty
