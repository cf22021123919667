"""The vocabulary of training plans, free of storage and transport: what an athlete brings (goal,
availability, constraints, thresholds) and what a program is made of (phases, weeks, sessions).

Days of the week follow the mobile app's contract (seed 001): 0 is Sunday, 1 Monday ... 6 Saturday."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Literal

from relay_contracts.workouts import StructuredWorkout

DistanceType = Literal["70.3", "ironman"]
Level = Literal["beginner", "intermediate", "advanced"]
Sport = Literal["swim", "bike", "run"]
PhaseName = Literal["Base", "Build 1", "Build 2", "Peak", "Taper"]
SessionType = Literal[
    "endurance",  # aerobic, zone 2
    "long",  # the week's long ride or run
    "technique",  # swim drills
    "tempo",  # zone 3
    "threshold",  # zone 4 intervals
    "intervals",  # VO2max, zone 5
    "race_pace",  # at the goal's intensity
    "recovery",  # zone 1
    "brick_bike",  # the bike of a brick (a run follows it the same day)
    "brick_run",  # the run straight off the bike
]
PHASES: tuple[PhaseName, ...] = ("Base", "Build 1", "Build 2", "Peak", "Taper")
SUNDAY, MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY = range(7)
WEEKDAY_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


def day_of_week(day: date) -> int:
    """0 for Sunday ... 6 for Saturday, as the app counts them."""
    return (day.weekday() + 1) % 7


@dataclass(frozen=True)
class Thresholds:
    """What targets are computed from; any of them may be unknown."""

    max_hr: int | None = None
    ftp_w: int | None = None
    threshold_pace_s_per_km: int | None = None  # running, about the 10 km to half-marathon pace
    vma_kmh: float | None = None  # maximal aerobic speed, when the threshold pace is unknown
    css_s_per_100m: int | None = None  # swim critical speed


@dataclass(frozen=True)
class Goal:
    distance_type: DistanceType
    event_date: date
    target_time_s: int | None = None


@dataclass(frozen=True)
class TimeSlot:
    start: time
    end: time

    @property
    def minutes(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)


@dataclass(frozen=True)
class Availability:
    weekly_hours: float
    unavailable_days: frozenset[int] = frozenset()
    preferred_long_day: int = SATURDAY


@dataclass(frozen=True)
class Constraints:
    pool_access: bool = True
    # Days (0 Sunday ... 6 Saturday) to the pool's open slots; empty: the pool is open whenever.
    pool_schedule: dict[int, tuple[TimeSlot, ...]] = field(default_factory=dict)
    home_trainer: bool = False
    outdoor_bike_only: bool = False
    injuries_notes: str | None = None


@dataclass(frozen=True)
class PlanInputs:
    goal: Goal
    level: Level
    availability: Availability
    constraints: Constraints
    thresholds: Thresholds
    start_date: date  # the program's first day (a Monday)


@dataclass(frozen=True)
class PhaseTemplate:
    name: PhaseName
    share: float  # of the weeks before the taper (the taper's own weeks are fixed by the template)
    sport_split: dict[Sport, float]  # share of the week's time per sport, summing to 1
    intensity: float  # share of the week's time above zone 2


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    slug: str
    distance_type: DistanceType
    level: Level
    duration_weeks: int
    weekly_hours_min: float
    weekly_hours_max: float
    description: str
    phases: tuple[PhaseTemplate, ...]
    taper_weeks: int
    recovery_every: int  # a lighter week every n weeks (3 or 4)
    sessions_per_week: dict[Sport, int]


@dataclass(frozen=True)
class PlannedSession:
    date: date
    sport: Sport
    session_type: SessionType
    title: str
    duration_minutes: int
    objective: str
    tips: tuple[str, ...]
    workout: StructuredWorkout
    distance_m: float | None = None
    indoor: bool = False
    slot: TimeSlot | None = None  # the pool slot a swim is placed in
    order: int = 0  # position within the day (a brick's run comes after its bike)

    @property
    def day_of_week(self) -> int:
        return day_of_week(self.date)


@dataclass(frozen=True)
class PlannedWeek:
    number: int  # 1-based
    phase: PhaseName
    start_date: date  # Monday
    recovery: bool
    target_minutes: int
    sessions: tuple[PlannedSession, ...]

    @property
    def planned_minutes(self) -> int:
        return sum(s.duration_minutes for s in self.sessions)


@dataclass(frozen=True)
class Phase:
    name: PhaseName
    first_week: int
    last_week: int
    start_date: date


@dataclass(frozen=True)
class Program:
    template_id: str
    start_date: date
    end_date: date  # the event's day
    phases: tuple[Phase, ...]
    weeks: tuple[PlannedWeek, ...]
    weekly_hours_target: float

    @property
    def total_weeks(self) -> int:
        return len(self.weeks)
