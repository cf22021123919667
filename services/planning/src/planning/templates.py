"""The built-in template library: one template per race distance, level and program length, derived from
a few coaching parameters so that every template of a distance and level follows the same philosophy
and only the calendar differs.

The parameters follow a classic periodized, pyramidal-to-polarized model: most of the time in zone 1-2,
a share above zone 2 that grows from the base to the peak and is kept (with less volume) in the taper;
the sport split moves toward the race's demands (more bike, less swim) as the event nears."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from planning.domain import DistanceType, Level, PhaseName, PhaseTemplate, Sport, Template

LENGTHS_WEEKS: tuple[int, ...] = (12, 16, 20, 24, 30)
LEVELS: tuple[Level, ...] = ("beginner", "intermediate", "advanced")
DISTANCES: tuple[DistanceType, ...] = ("70.3", "ironman")

_DISTANCE_CODE: dict[DistanceType, str] = {"70.3": "703", "ironman": "im"}
_DISTANCE_SLUG: dict[DistanceType, str] = {"70.3": "half-ironman", "ironman": "ironman"}
_DISTANCE_NAME: dict[DistanceType, str] = {"70.3": "Half Ironman", "ironman": "Ironman"}
_LEVEL_CODE: dict[Level, str] = {"beginner": "beg", "intermediate": "int", "advanced": "adv"}
_LEVEL_NAME: dict[Level, str] = {
    "beginner": "Débutant",
    "intermediate": "Intermédiaire",
    "advanced": "Avancé",
}

Split = tuple[float, float, float]  # swim, bike, run


@dataclass(frozen=True)
class _DistanceProfile:
    """What a race distance asks of the athlete, whatever their level."""

    # Per phase (Base, Build 1, Build 2, Peak, Taper): the time per sport. The bike share grows toward
    # the peak because it is half of the race's time; the run share stays steady because running
    # volume is what injures; the taper gives a little back to swimming, which costs no fatigue.
    sport_split: dict[PhaseName, Split]
    # Per phase: the share of the week above zone 2 for an intermediate athlete. An Ironman is raced
    # in zone 2, a 70.3 around zone 3, so the 70.3 asks for a little more intensity.
    intensity: dict[PhaseName, float]
    hours: dict[Level, tuple[float, float]]
    # Taper weeks by program length: a longer program builds more fatigue to shed, and an Ironman's
    # long sessions take longer to absorb than a 70.3's.
    taper_weeks: dict[int, int]
    # A lighter week every n weeks. Beginners and intermediates absorb three loading weeks before one
    # lighter one (3:1). Advanced Ironman athletes load 14 to 20 hours with five- to six-hour rides:
    # at that volume fatigue builds faster than a fourth week can pay for, so they unload every third
    # week (2:1) and load harder in between. Advanced 70.3 volumes stay moderate, so 3:1 keeps longer
    # uninterrupted blocks of quality work.
    recovery_every: dict[Level, int]
    sessions_per_week: dict[Level, dict[Sport, int]]


_PROFILES: dict[DistanceType, _DistanceProfile] = {
    "70.3": _DistanceProfile(
        sport_split={
            "Base": (0.22, 0.46, 0.32),
            "Build 1": (0.20, 0.47, 0.33),
            "Build 2": (0.18, 0.49, 0.33),
            "Peak": (0.17, 0.50, 0.33),
            "Taper": (0.20, 0.47, 0.33),
        },
        intensity={"Base": 0.10, "Build 1": 0.15, "Build 2": 0.18, "Peak": 0.20, "Taper": 0.15},
        hours={"beginner": (6.0, 9.0), "intermediate": (8.0, 12.0), "advanced": (10.0, 15.0)},
        taper_weeks={12: 1, 16: 1, 20: 2, 24: 2, 30: 2},
        recovery_every={"beginner": 4, "intermediate": 4, "advanced": 4},
        sessions_per_week={
            "beginner": {"swim": 2, "bike": 3, "run": 3},
            "intermediate": {"swim": 3, "bike": 3, "run": 3},
            "advanced": {"swim": 3, "bike": 4, "run": 4},
        },
    ),
    "ironman": _DistanceProfile(
        sport_split={
            "Base": (0.20, 0.48, 0.32),
            "Build 1": (0.18, 0.50, 0.32),
            "Build 2": (0.16, 0.53, 0.31),
            "Peak": (0.15, 0.55, 0.30),
            "Taper": (0.20, 0.50, 0.30),
        },
        intensity={"Base": 0.08, "Build 1": 0.12, "Build 2": 0.15, "Peak": 0.17, "Taper": 0.12},
        hours={"beginner": (9.0, 13.0), "intermediate": (12.0, 16.0), "advanced": (14.0, 20.0)},
        taper_weeks={12: 2, 16: 2, 20: 2, 24: 2, 30: 3},
        recovery_every={"beginner": 4, "intermediate": 4, "advanced": 3},
        sessions_per_week={
            "beginner": {"swim": 2, "bike": 3, "run": 3},
            "intermediate": {"swim": 3, "bike": 3, "run": 3},
            "advanced": {"swim": 3, "bike": 4, "run": 4},
        },
    ),
}

# Share of the weeks before the taper per phase (Base, Build 1, Build 2, Peak). Beginners need a
# longer aerobic base before intensity; advanced athletes already have it and spend longer building.
# The intermediate shares give the seed's 24-week Ironman: Base 1-6, Build 1 7-12, Build 2 13-18,
# Peak 19-22, Taper 23-24.
_PHASE_SHARES: dict[Level, tuple[float, float, float, float]] = {
    "beginner": (0.35, 0.25, 0.22, 0.18),
    "intermediate": (0.27, 0.27, 0.27, 0.19),
    "advanced": (0.22, 0.28, 0.30, 0.20),
}
# Beginners get less intensity (their gains come from volume and consistency); advanced athletes can
# absorb more. The cap keeps every plan at least ~75% easy.
_INTENSITY_FACTOR: dict[Level, float] = {"beginner": 0.8, "intermediate": 1.0, "advanced": 1.15}
_MAX_INTENSITY = 0.25
# Beginners lose most time in the water through technique: early phases give the swim a little more
# time, taken from the bike.
_BEGINNER_SWIM_BONUS: dict[PhaseName, float] = {"Base": 0.03, "Build 1": 0.02}

_PRE_TAPER_PHASES: tuple[PhaseName, ...] = ("Base", "Build 1", "Build 2", "Peak")


def _phases(distance_type: DistanceType, level: Level) -> tuple[PhaseTemplate, ...]:
    profile = _PROFILES[distance_type]
    shares = dict(zip(_PRE_TAPER_PHASES, _PHASE_SHARES[level], strict=True))
    phases: list[PhaseTemplate] = []
    for name in (*_PRE_TAPER_PHASES, "Taper"):
        swim, bike, run = profile.sport_split[name]
        if level == "beginner":
            bonus = _BEGINNER_SWIM_BONUS.get(name, 0.0)
            swim, bike = swim + bonus, bike - bonus
        phases.append(
            PhaseTemplate(
                name=name,
                share=shares.get(name, 0.0),
                sport_split={"swim": round(swim, 3), "bike": round(bike, 3), "run": round(run, 3)},
                intensity=round(min(_MAX_INTENSITY, profile.intensity[name] * _INTENSITY_FACTOR[level]), 3),
            )
        )
    return tuple(phases)


def _description(
    distance_type: DistanceType, level: Level, weeks: int, taper: int, hours: tuple[float, float]
) -> str:
    low, high = (f"{h:g}" for h in hours)
    build = "deux blocs de développement" if weeks >= 16 else "un développement resserré"
    return (
        f"Préparation {_DISTANCE_NAME[distance_type]} en {weeks} semaines pour un niveau "
        f"{_LEVEL_NAME[level].lower()}, de {low} à {high} h par semaine : base aérobie, {build}, "
        f"un bloc spécifique à l'allure de course puis {taper} semaine{'s' if taper > 1 else ''} d'affûtage."
    )


def _template(distance_type: DistanceType, level: Level, weeks: int) -> Template:
    profile = _PROFILES[distance_type]
    hours = profile.hours[level]
    taper = profile.taper_weeks[weeks]
    return Template(
        id=f"tpl_{_DISTANCE_CODE[distance_type]}_{_LEVEL_CODE[level]}_{weeks}",
        name=f"{_DISTANCE_NAME[distance_type]} {weeks} semaines - {_LEVEL_NAME[level]}",
        slug=f"{_DISTANCE_SLUG[distance_type]}-{weeks}-weeks-{level}",
        distance_type=distance_type,
        level=level,
        duration_weeks=weeks,
        weekly_hours_min=hours[0],
        weekly_hours_max=hours[1],
        description=_description(distance_type, level, weeks, taper, hours),
        phases=_phases(distance_type, level),
        taper_weeks=taper,
        recovery_every=profile.recovery_every[level],
        sessions_per_week=dict(profile.sessions_per_week[level]),
    )


_BUILTIN: tuple[Template, ...] = tuple(
    _template(distance_type, level, weeks)
    for distance_type in DISTANCES
    for level in LEVELS
    for weeks in LENGTHS_WEEKS
)


def builtin_templates() -> tuple[Template, ...]:
    """Every built-in template: each distance, level and length, ordered by distance, level, length."""
    return _BUILTIN


def recommend_template(
    templates: Iterable[Template], distance_type: DistanceType, level: Level, weeks_until_event: int
) -> Template:
    """The template of the goal's distance and the athlete's level that fits the weeks left: the longest
    not exceeding them, or the shortest when even that one is longer (the generator compresses it).
    Raises `LookupError` when no template has that distance and level."""
    matching = sorted(
        (t for t in templates if t.distance_type == distance_type and t.level == level),
        key=lambda t: (t.duration_weeks, t.id),
    )
    if not matching:
        raise LookupError(f"no template for a {distance_type} at the {level} level")
    fitting = [t for t in matching if t.duration_weeks <= weeks_until_event]
    if not fitting:
        return matching[0]
    longest = fitting[-1].duration_weeks
    # Among templates of the same length, the first by id, so the choice never depends on input order.
    return next(t for t in fitting if t.duration_weeks == longest)
