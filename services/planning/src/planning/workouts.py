"""The structured workout of a planned session: a warm-up, main sets and a cool-down sized to the
session's duration, with targets from the athlete's zones (planning.zones), and its French wording.

Rides and runs are timed, except running intervals (by distance, as on a track); swims are by
distance in whole pool lengths, with timed rests at the wall between repeats. For 20 to 360 minutes
(swims 20 to 120, in pools of 10 to 50 m) estimated_duration_seconds is within 15 % of the asked
duration, whatever thresholds are known."""

from __future__ import annotations

import math
from dataclasses import dataclass

from planning.domain import SessionType, Sport, Thresholds
from planning.zones import athlete_speed_zones, run_speed_zones, swim_speed_zones, target_for
from relay_contracts.workouts import Duration, Repeat, Step, StepIntensity, StructuredWorkout, Target

_ALL_TYPES: frozenset[SessionType] = frozenset(
    ("endurance", "long", "technique", "tempo", "threshold", "intervals", "race_pace", "recovery")
)
SESSION_TYPES: dict[Sport, frozenset[SessionType]] = {
    "swim": _ALL_TYPES,
    "bike": _ALL_TYPES | {"brick_bike"},
    "run": _ALL_TYPES | {"brick_run"},
}
MAX_EXTRA_REPS = 2  # how far the weeks of a phase add repeats to a session

# Estimates of distance steps fall back on a 5:30/km threshold runner, a 2:00/100m CSS swimmer and
# flat-road riding speeds when the athlete's own speeds are unknown.
_DEFAULT_SPEED_ZONES: dict[Sport, dict[int, tuple[float, float]]] = {
    "run": run_speed_zones(1000 / 330),
    "swim": swim_speed_zones(120),
    "bike": {1: (5.6, 6.9), 2: (6.9, 8.3), 3: (8.3, 9.2), 4: (9.2, 10.0), 5: (10.0, 11.1)},
}
Item = Step | Repeat


def _zone_speed(sport: Sport, zone: int, thresholds: Thresholds) -> float:
    zones = athlete_speed_zones(sport, thresholds) or _DEFAULT_SPEED_ZONES[sport]
    low, high = zones[min(max(zone, 1), 5)]
    return (low + high) / 2


def _speed(sport: Sport, target: Target | None, intensity: StepIntensity, thresholds: Thresholds) -> float:
    if target is not None and target.kind == "speed":
        return (target.low + target.high) / 2
    zone = target.zone if target is not None and target.zone else (2 if intensity == "active" else 1)
    return _zone_speed(sport, zone, thresholds)


def _step_seconds(sport: Sport, step: Step, thresholds: Thresholds) -> float | None:
    duration = step.duration
    if duration.value is None:
        return None
    if duration.kind == "time":
        return duration.value
    return duration.value / _speed(sport, step.target, step.intensity, thresholds)


def estimated_duration_seconds(workout: StructuredWorkout, thresholds: Thresholds) -> int | None:
    """Seconds the workout takes: timed steps as they are, distance steps at the middle of their speed
    target, else at the athlete's (or a typical athlete's) speed in the step's zone. None when a step
    ends on a lap press."""
    total = 0.0
    for step in workout.flat_steps():
        seconds = _step_seconds(workout.sport, step, thresholds)
        if seconds is None:
            return None
        total += seconds
    return round(total)


def estimated_distance_m(workout: StructuredWorkout, thresholds: Thresholds) -> float | None:
    """Metres covered: distance steps as they are, timed steps at their speed target or the athlete's
    speed in their zone, rests standing still. None when a timed step's speed is unknown (rides,
    runs without a threshold pace or VMA) or a step ends on a lap press."""
    total = 0.0
    own_zones = athlete_speed_zones(workout.sport, thresholds)
    for step in workout.flat_steps():
        duration, target = step.duration, step.target
        if duration.value is None:
            return None
        if duration.kind == "distance":
            total += duration.value
        elif step.intensity == "rest":
            continue
        elif target is not None and target.kind == "speed":
            total += duration.value * (target.low + target.high) / 2
        elif own_zones is not None:
            total += duration.value * _speed(workout.sport, target, step.intensity, thresholds)
        else:
            return None
    return float(round(total))


@dataclass(frozen=True)
class _Set:
    """Intervals: `reps` times a work bout then a recovery, shortened when the session is short."""

    name: str
    zone: int | None  # None: by feel (drills)
    work: float  # seconds, or metres when by_distance
    rest_s: float
    reps: int
    by_distance: bool = False
    notes: str | None = None
    rest_zone: int | None = 1  # None: still, at the wall
    progresses: bool = True


def _floor_to(value: float, step: float) -> float:
    return math.floor(value / step) * step


def _half_up(value: float) -> int:
    return math.floor(value + 0.5)


@dataclass(frozen=True)
class _Ctx:
    sport: Sport
    thresholds: Thresholds
    pool_m: float
    week: int

    def seconds(self, items: list[Item]) -> float:
        total = 0.0
        for item in items:
            times, steps = (item.times, item.steps) if isinstance(item, Repeat) else (1, [item])
            total += times * sum(_step_seconds(self.sport, step, self.thresholds) or 0.0 for step in steps)
        return total

    def target(self, zone: int | None) -> Target | None:
        return target_for(self.sport, zone, self.thresholds) if zone else None

    def step(
        self, name: str, intensity: StepIntensity, zone: int | None, duration: Duration, notes: str | None
    ) -> Step:
        target = self.target(zone)
        if target is not None and target.kind == "heart_rate" and (duration.value or 0) < 60:
            target = None  # heart rate lags behind efforts this short: the target would mislead
        return Step(name=name, intensity=intensity, duration=duration, target=target, notes=notes)

    def lengths(self, metres: float) -> Duration:
        return Duration(kind="distance", value=max(1, _half_up(metres / self.pool_m)) * self.pool_m)

    def steady(
        self, name: str, intensity: StepIntensity, zone: int, seconds: float, notes: str | None = None
    ) -> Step:
        """One continuous step of about `seconds`: whole minutes, or whole pool lengths in the pool."""
        if self.sport == "swim":
            duration = self.lengths(
                seconds * _speed(self.sport, self.target(zone), intensity, self.thresholds)
            )
        else:
            duration = Duration(kind="time", value=60 * max(1, _half_up(seconds / 60)))
        return self.step(name, intensity, zone, duration, notes)

    def _pair(self, spec: _Set, work: float, rest_s: float) -> list[Step]:
        if spec.by_distance:
            bout = self.lengths(work) if self.sport == "swim" else Duration(kind="distance", value=work)
        else:
            bout = Duration(kind="time", value=work)
        rest = Duration(kind="time", value=rest_s)
        recovery = (
            Step(name="Récupération", intensity="rest", duration=rest)
            if spec.rest_zone is None
            else self.step("Récupération", "recovery", spec.rest_zone, rest, None)
        )
        return [self.step(spec.name, "active", spec.zone, bout, spec.notes), recovery]

    def _shorter(self, spec: _Set, work: float) -> float:
        if self.sport == "swim":
            lengths = max(1, _half_up(work / self.pool_m))
            return max(1, math.floor(lengths * 0.75)) * self.pool_m
        if spec.by_distance:
            return max(min(work, 100), _floor_to(work * 0.75, 100))
        return max(min(work, 60), _floor_to(work * 0.75, 30))

    def repeat(self, spec: _Set, budget_s: float) -> Repeat:
        """As many repeats as the budget holds, from 2 to the spec's (plus the week's progression);
        bouts and recoveries get shorter until two of them fit."""
        reps = spec.reps + (min(self.week, MAX_EXTRA_REPS) if spec.progresses else 0)
        work, rest_s = spec.work, spec.rest_s
        while True:
            pair = self._pair(spec, work, rest_s)
            unit = self.seconds(list(pair))
            shorter = (self._shorter(spec, work), max(min(rest_s, 15), _floor_to(rest_s * 0.75, 15)))
            if 2 * unit <= budget_s or shorter == (work, rest_s):
                break
            work, rest_s = shorter
        return Repeat(times=max(2, min(reps, math.floor(budget_s / unit))), steps=pair)

    def sets(
        self, budget_s: float, sets: list[_Set], share: float, filler: str, notes: str | None = None
    ) -> list[Item]:
        """The sets in order, each within `share` of the budget, while they fit; the time left is
        spent in zone 2 rather than stretching the sets beyond what the session type calls for."""
        items: list[Item] = []
        left = budget_s
        for spec in sets:
            repeat = self.repeat(spec, min(left, budget_s * share))
            seconds = self.seconds([repeat])
            if items and seconds > left:
                break
            items.append(repeat)
            left -= seconds
        if left >= (180 if self.sport == "swim" else 600):
            items.append(self.steady(filler, "active", 2, left, notes))
        return items


_RUN_DRILLS = _Set("Éducatifs", None, 60, 60, 4, notes="Montées de genoux, talons-fesses, bondissements.")
_BIKE_THRESHOLDS = (  # 30, 36 then 40 minutes at threshold as the phase goes on
    _Set("Bloc seuil", 4, 600, 180, 3, progresses=False),
    _Set("Bloc seuil", 4, 720, 180, 3, progresses=False),
    _Set("Bloc seuil", 4, 1200, 300, 2, progresses=False),
)
_SWIM_DRILLS = (
    ("Rattrapé", "Une main attend l'autre devant avant de tirer : allongez et glissez."),
    ("Poings fermés", "Nagez poings fermés pour sentir l'appui de l'avant-bras."),
    ("Battements sur le côté", "Sur le côté, bras du dessous tendu : équilibre et rotation du corps."),
    ("Un bras", "Un seul bras nage, l'autre reste devant : respirez côté bras nageur."),
    ("Doigts traînés", "Retour du bras coude haut, le bout des doigts effleure l'eau."),
)


def _swim_set(name: str, zone: int, metres: float, rest_s: float, reps: int) -> _Set:
    return _Set(name, zone, metres, rest_s, reps, by_distance=True, rest_zone=None)


# Easy sessions: one continuous step as (name, zone, notes).
_STEADY: dict[tuple[Sport, SessionType], tuple[str, int, str | None]] = {
    ("run", "endurance"): ("Footing en endurance", 2, None),
    ("run", "long"): ("Sortie longue", 2, "Buvez toutes les 20 minutes."),
    ("run", "recovery"): ("Footing de récupération", 1, None),
    ("bike", "endurance"): ("Endurance", 2, None),
    ("bike", "long"): ("Sortie longue", 2, "Mangez toutes les 30 à 45 minutes."),
    ("bike", "recovery"): ("Pédalage souple", 1, "Cadence élevée, sans forcer."),
    ("swim", "endurance"): ("Nage continue", 2, "Crawl, allure régulière."),
    ("swim", "long"): ("Nage longue", 2, "Levez les yeux toutes les 6 à 8 respirations."),
    ("swim", "recovery"): ("Nage souple", 1, "Nages au choix."),
}
_SETS: dict[tuple[Sport, SessionType], tuple[_Set, ...]] = {
    ("run", "technique"): (_RUN_DRILLS, _Set("Accélération", 5, 20, 70, 6, notes="Progressive, relâchée.")),
    ("run", "tempo"): (_Set("Bloc tempo", 3, 720, 180, 2),),
    ("run", "threshold"): (_Set("Bloc seuil", 4, 600, 180, 3),),
    ("run", "intervals"): (_Set("Fraction", 5, 1000, 120, 6, by_distance=True, notes="Allure régulière."),),
    ("run", "race_pace"): (_Set("Allure course", 3, 1200, 180, 2, rest_zone=2),),
    ("bike", "technique"): (_Set("Vélocité", 2, 60, 120, 6, notes="Cadence 100 à 110 tr/min, bassin fixe."),),
    ("bike", "tempo"): (_Set("Bloc tempo", 3, 900, 300, 2),),
    ("bike", "intervals"): (_Set("Fraction PMA", 5, 240, 240, 5),),
    ("bike", "race_pace"): (_Set("Allure course", 3, 1800, 300, 2, rest_zone=2),),
    ("swim", "tempo"): (_swim_set("Série tempo", 3, 300, 20, 3),),
    ("swim", "threshold"): (_swim_set("Série seuil", 4, 100, 15, 8),),
    ("swim", "intervals"): (_swim_set("Sprint", 5, 50, 30, 8),),
    ("swim", "race_pace"): (_swim_set("Allure course", 3, 400, 20, 3),),
}
_RACE_NOTES = "Allure visée le jour J."


def _main(ctx: _Ctx, session_type: SessionType, budget: float) -> list[Item]:
    key = (ctx.sport, session_type)
    progression = min(ctx.week, MAX_EXTRA_REPS)
    if key in _STEADY:
        name, zone, notes = _STEADY[key]
        return [ctx.steady(name, "active", zone, budget, notes)]
    if session_type == "brick_bike":
        # The ride ends at race intensity, the way the race's bike leg hands over to the run.
        block = min(budget, min(max(0.25 * budget, 600), 2700) + 300 * progression)
        if budget - block < 300:
            return [ctx.steady("Allure course", "active", 3, budget, _RACE_NOTES)]
        endurance = ctx.steady("Endurance", "active", 2, budget - block)
        return [endurance, ctx.steady("Allure course", "active", 3, block, _RACE_NOTES)]
    if session_type == "brick_run":
        block = min(budget, 2700 + 300 * progression)
        items: list[Item] = [ctx.steady("Allure course", "active", 3, block, _RACE_NOTES)]
        if budget - block >= 300:
            items.append(ctx.steady("Endurance", "active", 2, budget - block))
        return items
    if key == ("swim", "technique"):
        drills = [_SWIM_DRILLS[(ctx.week + i) % len(_SWIM_DRILLS)] for i in range(3)]
        sets = [_Set(n, None, 50, 15, 4, by_distance=True, notes=t, rest_zone=None) for n, t in drills]
        return ctx.sets(budget, sets, 0.2, "Nage complète", "Appliquez les consignes des éducatifs.")
    if key == ("bike", "threshold"):
        return ctx.sets(budget, [_BIKE_THRESHOLDS[progression]], 1, "Endurance")
    share = 0.5 if key == ("run", "technique") else 1
    return ctx.sets(budget, list(_SETS[key]), share, "Nage continue" if ctx.sport == "swim" else "Endurance")


# Warm-up and cool-down as (share of the session, shortest, longest) in seconds: intense sessions
# need a longer warm-up; a brick's run starts straight off the bike, so its warm-up is a transition.
_Bounds = tuple[float, float, float]
_EASY: tuple[_Bounds, _Bounds] = ((0.10, 300, 900), (0.05, 300, 600))
_HARD: tuple[_Bounds, _Bounds] = ((0.20, 300, 1200), (0.10, 300, 900))
_TRANSITION: tuple[_Bounds, _Bounds] = ((0.10, 120, 300), (0.10, 180, 600))
_POOL: tuple[_Bounds, _Bounds] = ((0.20, 180, 900), (0.10, 120, 600))
_EASY_TYPES: frozenset[SessionType] = frozenset(("endurance", "long", "recovery", "brick_bike"))
_WARMUP_NOTES: dict[Sport, str] = {
    "run": "Footing léger progressif.",
    "bike": "Pédalage souple, cadence progressive.",
    "swim": "Nages variées, souple.",
}

_SPORT_LABELS: dict[Sport, str] = {"swim": "Natation", "bike": "Vélo", "run": "Course"}
_TYPE_TEXTS: dict[SessionType, tuple[str, str]] = {  # (label in the title, objective)
    "endurance": ("Endurance", "Développer l'endurance fondamentale à allure facile, en zone 2."),
    "long": ("Sortie longue", "Allonger la durée d'effort pour préparer les longues distances."),
    "technique": ("Technique", "Améliorer l'efficacité du geste pour aller plus vite sans dépenser plus."),
    "tempo": ("Tempo", "Habituer l'organisme à tenir un effort soutenu en zone 3."),
    "threshold": ("Seuil", "Repousser le seuil avec des blocs en zone 4."),
    "intervals": ("Intervalles", "Développer la puissance aérobie avec des fractions en zone 5."),
    "race_pace": ("Allure course", "Se caler sur l'allure visée le jour de la course."),
    "recovery": ("Récupération", "Favoriser la récupération par un effort très léger, en zone 1."),
    "brick_bike": ("Enchaînement vélo", "Préparer l'enchaînement : finir le vélo à l'allure de course."),
    "brick_run": ("Enchaînement course", "Apprendre à courir juste après le vélo, à l'allure de course."),
}
_SPORT_TEXTS: dict[tuple[Sport, SessionType], tuple[str, str]] = {
    ("swim", "long"): ("Nage longue", "Nager longtemps sans s'arrêter, comme le jour de la course."),
    ("run", "intervals"): ("Intervalles", "Développer la VMA avec des fractions en zone 5."),
    ("bike", "intervals"): ("Intervalles", "Développer la puissance maximale aérobie (PMA) en zone 5."),
    ("swim", "intervals"): ("Intervalles", "Gagner en vitesse avec des sprints courts en zone 5."),
    ("swim", "technique"): ("Technique", "Améliorer la glisse et l'appui grâce aux éducatifs."),
    ("bike", "technique"): ("Technique", "Travailler la vélocité et la fluidité du coup de pédale."),
    ("run", "technique"): ("Technique", "Améliorer la foulée avec des éducatifs et des accélérations."),
}
_TIPS: dict[SessionType, tuple[str, ...]] = {
    "endurance": ("Vous devez pouvoir parler sans être essoufflé.", "Hydratez-vous régulièrement."),
    "long": (
        "Partez prudemment : la fin doit rester en zone 2.",
        "Au-delà d'1 h 30, mangez toutes les 30 à 45 minutes.",
        "Testez la nutrition prévue pour la course.",
    ),
    "technique": ("Privilégiez la qualité du geste à la vitesse.", "Récupérez assez pour rester précis."),
    "tempo": (
        "Effort soutenu mais contrôlé : quelques mots restent possibles.",
        "Gardez une allure régulière.",
    ),
    "threshold": ("Ne partez pas trop vite sur le premier bloc.", "Le dernier bloc vaut le premier."),
    "intervals": (
        "Échauffez-vous bien avant la première fraction.",
        "Visez la régularité plutôt que la vitesse maximale.",
        "Arrêtez la séance si l'allure s'effondre.",
    ),
    "race_pace": (
        "Reproduisez le matériel et la nutrition de course.",
        "Restez strictement à l'allure visée.",
    ),
    "recovery": (
        "Restez très facile, même si vous vous sentez bien.",
        "Soignez le sommeil et l'hydratation.",
    ),
    "brick_bike": (
        "Préparez votre zone de transition avant de partir.",
        "Allégez le braquet en fin de sortie.",
    ),
    "brick_run": (
        "Enchaînez dès la descente du vélo.",
        "Raccourcissez la foulée : les jambes lourdes passent.",
    ),
}
_SPORT_TIPS: dict[tuple[Sport, SessionType], tuple[str, ...]] = {
    ("swim", "endurance"): ("Nagez relâché en soignant l'allongement.", "Respirez des deux côtés."),
    ("swim", "long"): ("Nagez en continu à allure régulière.", "Levez les yeux pour vous orienter."),
    ("swim", "technique"): (
        "Privilégiez la qualité du mouvement.",
        "Prenez des palmes si un éducatif vous fait couler.",
    ),
    ("swim", "recovery"): ("Nagez très souple, toutes nages.", "Pensez à l'allongement et à la respiration."),
}


def _check(sport: Sport, session_type: SessionType) -> None:
    if session_type not in SESSION_TYPES[sport]:
        raise ValueError(f"no {session_type} session in {sport}")


def describe(sport: Sport, session_type: SessionType) -> tuple[str, str, tuple[str, ...]]:
    """(title, objective, tips) in French, e.g. ("Course - Intervalles", "Développer la VMA ...", ...)."""
    _check(sport, session_type)
    label, objective = _SPORT_TEXTS.get((sport, session_type), _TYPE_TEXTS[session_type])
    tips = _SPORT_TIPS.get((sport, session_type), _TIPS[session_type])
    return f"{_SPORT_LABELS[sport]} - {label}", objective, tips


def _planned(share: _Bounds, total_s: float) -> float:
    part, shortest, longest = share
    return min(max(part * total_s, shortest), longest)


def build_workout(
    sport: Sport,
    session_type: SessionType,
    duration_minutes: int,
    thresholds: Thresholds,
    *,
    week_in_phase: int = 0,
    pool_length_m: float = 25.0,
) -> StructuredWorkout:
    """The session's workout: a warm-up first, a cool-down last, the main sets between them, with the
    best targets the thresholds allow. Later weeks of a phase (`week_in_phase`, from 0) add up to two
    repeats. Deterministic; raises ValueError for a session type the sport has not (see
    SESSION_TYPES), a duration under a minute, a negative week or a pool outside 10 to 50 m."""
    _check(sport, session_type)
    if duration_minutes <= 0 or week_in_phase < 0 or not 10 <= pool_length_m <= 50:
        raise ValueError("the duration must be positive, the week not negative, the pool 10 to 50 m long")
    ctx = _Ctx(sport=sport, thresholds=thresholds, pool_m=pool_length_m, week=week_in_phase)
    warm_bounds, cool_bounds = _EASY if session_type in _EASY_TYPES else _HARD
    if sport == "swim" or session_type == "brick_run":
        warm_bounds, cool_bounds = _POOL if sport == "swim" else _TRANSITION
    total_s = duration_minutes * 60
    warm_s, cool_s = _planned(warm_bounds, total_s), _planned(cool_bounds, total_s)
    main = _main(ctx, session_type, total_s - warm_s - cool_s)
    # Warm-up and cool-down share what the main sets left, so rounding the sets does not drift the total.
    around = total_s - ctx.seconds(main)
    warm_s = max(warm_bounds[1] / 2, warm_s + (around - warm_s - cool_s) / 2)
    if session_type == "brick_run":
        warmup = ctx.steady("Transition", "warmup", 2, warm_s, "Trouvez votre foulée en sortant du vélo.")
    else:
        warmup = ctx.steady("Échauffement", "warmup", 1, warm_s, _WARMUP_NOTES[sport])
    cool_s = max(cool_bounds[1] / 2, around - ctx.seconds([warmup]))
    cooldown = ctx.steady("Retour au calme", "cooldown", 1, cool_s, "Très souple.")
    return StructuredWorkout(
        name=describe(sport, session_type)[0],
        sport=sport,
        pool_length_m=pool_length_m if sport == "swim" else None,
        steps=[warmup, *main, cooldown],
    )
