"""Which sessions a week holds before they are put on days: their sport, type, importance and the range
of durations that makes sense for each."""

from __future__ import annotations

from dataclasses import dataclass

from planning.domain import DistanceType, PhaseName, PhaseTemplate, SessionType, Sport

SPORTS: tuple[Sport, ...] = ("swim", "bike", "run")
QUALITY_TYPES: frozenset[SessionType] = frozenset({"tempo", "threshold", "intervals", "race_pace"})
# Sessions that leave the legs tired enough that another one the next day loses its value.
KEY_TYPES: frozenset[SessionType] = frozenset({"long", "brick_bike", "threshold", "intervals", "race_pace"})

# Importance: the lower, the more the week needs it. When the days cannot hold every session, the
# least important go first: recovery, then an extra technique swim; the long sessions always stay.
LONG, BRICK, QUALITY, MAIN, EXTRA, EXTRA_TECHNIQUE, RECOVERY = range(7)

Menu = tuple[tuple[SessionType, int], ...]

# Per sport and phase, the sessions in the order they are added as the week has room for more.
_MENUS: dict[Sport, dict[PhaseName, Menu]] = {
    "swim": {
        "Base": (
            ("technique", MAIN),
            ("endurance", MAIN),
            ("technique", EXTRA_TECHNIQUE),
            ("endurance", EXTRA),
        ),
        "Build 1": (
            ("technique", MAIN),
            ("threshold", QUALITY),
            ("endurance", EXTRA),
            ("technique", EXTRA_TECHNIQUE),
        ),
        "Build 2": (
            ("threshold", QUALITY),
            ("endurance", MAIN),
            ("technique", EXTRA_TECHNIQUE),
            ("endurance", EXTRA),
        ),
        "Peak": (
            ("race_pace", QUALITY),
            ("endurance", MAIN),
            ("threshold", QUALITY),
            ("technique", EXTRA_TECHNIQUE),
        ),
        "Taper": (("race_pace", QUALITY), ("technique", MAIN), ("endurance", EXTRA)),
    },
    "bike": {
        "Base": (
            ("long", LONG),
            ("endurance", MAIN),
            ("tempo", QUALITY),
            ("endurance", EXTRA),
            ("recovery", RECOVERY),
        ),
        "Build 1": (
            ("long", LONG),
            ("threshold", QUALITY),
            ("brick_bike", BRICK),
            ("endurance", MAIN),
            ("recovery", RECOVERY),
        ),
        "Build 2": (
            ("long", LONG),
            ("brick_bike", BRICK),
            ("threshold", QUALITY),
            ("endurance", MAIN),
            ("recovery", RECOVERY),
        ),
        "Peak": (
            ("long", LONG),
            ("brick_bike", BRICK),
            ("race_pace", QUALITY),
            ("endurance", MAIN),
            ("recovery", RECOVERY),
        ),
        "Taper": (("long", LONG), ("race_pace", QUALITY), ("endurance", MAIN), ("recovery", RECOVERY)),
    },
    "run": {
        "Base": (
            ("long", LONG),
            ("endurance", MAIN),
            ("tempo", QUALITY),
            ("recovery", RECOVERY),
            ("endurance", EXTRA),
        ),
        "Build 1": (
            ("long", LONG),
            ("intervals", QUALITY),
            ("endurance", MAIN),
            ("recovery", RECOVERY),
            ("endurance", EXTRA),
        ),
        "Build 2": (
            ("long", LONG),
            ("threshold", QUALITY),
            ("endurance", MAIN),
            ("recovery", RECOVERY),
            ("endurance", EXTRA),
        ),
        "Peak": (
            ("long", LONG),
            ("race_pace", QUALITY),
            ("endurance", MAIN),
            ("recovery", RECOVERY),
            ("endurance", EXTRA),
        ),
        "Taper": (("long", LONG), ("race_pace", QUALITY), ("endurance", MAIN), ("recovery", RECOVERY)),
    },
}
# A lighter week keeps the long sessions (shorter) and the frequency, and drops the intensity.
_RECOVERY_MENUS: dict[Sport, Menu] = {
    "swim": (
        ("technique", MAIN),
        ("endurance", EXTRA),
        ("technique", EXTRA_TECHNIQUE),
        ("recovery", RECOVERY),
    ),
    "bike": (("long", LONG), ("endurance", MAIN), ("recovery", RECOVERY), ("endurance", EXTRA)),
    "run": (("long", LONG), ("endurance", MAIN), ("recovery", RECOVERY), ("endurance", EXTRA)),
}
# Race week: short openers at race pace and easy sessions; nothing long is left to gain.
_RACE_WEEK_MENUS: dict[Sport, Menu] = {
    "swim": (("race_pace", QUALITY), ("endurance", MAIN), ("technique", EXTRA_TECHNIQUE)),
    "bike": (("race_pace", QUALITY), ("endurance", MAIN), ("recovery", RECOVERY)),
    "run": (("race_pace", QUALITY), ("endurance", MAIN), ("recovery", RECOVERY)),
}

# Below these averages a sport gets fewer sessions rather than shorter ones.
_COMFORT_MINUTES: dict[Sport, int] = {"swim": 30, "bike": 45, "run": 30}

# Duration ranges in minutes. Swims: 30 to 90 (and never longer than the pool slot). The long ride goes
# up to 6 h for an Ironman, 4 h for a 70.3; the long run to 2h45 and 2h15: beyond, the damage outweighs
# the gain.
_BOUNDS: dict[tuple[Sport, SessionType], tuple[int, int]] = {
    ("swim", "technique"): (30, 75),
    ("swim", "endurance"): (30, 90),
    ("swim", "threshold"): (30, 75),
    ("swim", "race_pace"): (30, 90),
    ("swim", "recovery"): (30, 45),
    ("bike", "long"): (60, 360),
    ("bike", "endurance"): (30, 180),
    ("bike", "tempo"): (45, 120),
    ("bike", "threshold"): (45, 105),
    ("bike", "intervals"): (40, 90),
    ("bike", "race_pace"): (45, 150),
    ("bike", "recovery"): (30, 60),
    ("bike", "brick_bike"): (45, 180),
    ("run", "long"): (45, 165),
    ("run", "endurance"): (20, 75),
    ("run", "tempo"): (30, 75),
    ("run", "threshold"): (30, 70),
    ("run", "intervals"): (30, 65),
    ("run", "race_pace"): (30, 90),
    ("run", "recovery"): (20, 40),
    ("run", "brick_run"): (20, 45),
}
_HALF_CAPS: dict[tuple[Sport, SessionType], int] = {
    ("bike", "long"): 240,
    ("bike", "brick_bike"): 120,
    ("bike", "race_pace"): 120,
    ("run", "long"): 135,
    ("run", "brick_run"): 40,
}
# Race week: freshness first, whatever the volume the week could hold.
_RACE_WEEK_CAPS: dict[Sport, int] = {"swim": 45, "bike": 90, "run": 45}


@dataclass(frozen=True)
class SessionSpec:
    sport: Sport
    session_type: SessionType
    min_minutes: int
    max_minutes: int

    @property
    def key(self) -> bool:
        return self.session_type in KEY_TYPES

    @property
    def quality(self) -> bool:
        return self.session_type in QUALITY_TYPES


@dataclass(frozen=True)
class Unit:
    """What takes one place in a day: a session, or a brick (its bike then its run)."""

    specs: tuple[SessionSpec, ...]
    importance: int
    rank: int  # position in the week's list, to break ties deterministically

    @property
    def sports(self) -> frozenset[Sport]:
        return frozenset(s.sport for s in self.specs)

    @property
    def key(self) -> bool:
        return any(s.key for s in self.specs)

    @property
    def min_minutes(self) -> int:
        return sum(s.min_minutes for s in self.specs)

    def of_type(self, session_type: SessionType) -> bool:
        return any(s.session_type == session_type for s in self.specs)


@dataclass(frozen=True)
class WeekContext:
    distance_type: DistanceType
    phase: PhaseTemplate
    recovery: bool
    race_week: bool
    target_minutes: int
    sessions_per_week: dict[Sport, int]
    days: int  # days available for training this week
    pool_days: int  # of them, days a swim can take place


def _bounds(
    sport: Sport, session_type: SessionType, distance_type: DistanceType, race_week: bool
) -> tuple[int, int]:
    low, high = _BOUNDS[(sport, session_type)]
    if distance_type == "70.3":
        high = min(high, _HALF_CAPS.get((sport, session_type), high))
    if race_week:
        high = min(high, _RACE_WEEK_CAPS[sport])
    return low, max(low, high)


def sport_split(phase: PhaseTemplate, swims: bool) -> dict[Sport, float]:
    """The phase's split, the swim's time given to bike and run in proportion when there is no swim."""
    split = {sport: max(0.0, phase.sport_split.get(sport, 0.0)) for sport in SPORTS}
    if not swims:
        split["swim"] = 0.0
    total = sum(split.values())
    if total <= 0:
        return {"swim": 0.0, "bike": 0.5, "run": 0.5}
    return {sport: share / total for sport, share in split.items()}


def _menu(sport: Sport, context: WeekContext) -> Menu:
    if context.race_week:
        return _RACE_WEEK_MENUS[sport]
    if context.recovery:
        return _RECOVERY_MENUS[sport]
    return _MENUS[sport][context.phase.name]


def _count(sport: Sport, minutes: float, context: WeekContext, menu: Menu) -> int:
    wanted = context.sessions_per_week.get(sport, 0)
    limit = context.pool_days if sport == "swim" else context.days
    by_time = round(minutes / _COMFORT_MINUTES[sport])
    return max(0, min(wanted, limit, by_time, len(menu)))


def week_units(context: WeekContext) -> tuple[Unit, ...]:
    """The week's sessions, most important first, as many as its time and days allow. The sum of their
    shortest durations never exceeds the week's target."""
    split = sport_split(context.phase, context.pool_days > 0)
    units: list[Unit] = []
    for sport in SPORTS:
        minutes = context.target_minutes * split[sport]
        menu = _menu(sport, context)
        for position, (session_type, importance) in enumerate(menu[: _count(sport, minutes, context, menu)]):
            if position == 0:
                # A sport's first session goes before any second session of another sport: a triathlete
                # short of days still swims, rides and runs every week.
                importance = min(importance, BRICK)
            low, high = _bounds(sport, session_type, context.distance_type, context.race_week)
            specs = [SessionSpec(sport, session_type, low, high)]
            if session_type == "brick_bike":
                run_low, run_high = _bounds("run", "brick_run", context.distance_type, context.race_week)
                specs.append(SessionSpec("run", "brick_run", run_low, run_high))
            units.append(Unit(tuple(specs), importance, len(units)))
    units.sort(key=lambda u: (u.importance, u.rank))
    while units and sum(u.min_minutes for u in units) > context.target_minutes:
        units.remove(least_important(units))
    return tuple(units)


def least_important(units: list[Unit]) -> Unit:
    """The unit to drop first: the highest importance number, the later one on ties; never a long
    session while anything else is left."""
    return max(units, key=lambda u: (u.importance, u.rank))
