"""How long each session lasts: the week's time split by sport, then within a sport between the long
session, the quality sessions (sized from the phase's intensity share) and the easy ones, every
duration a multiple of 5 minutes within its session's range."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from planning.domain import PhaseName, Sport
from planning.week_plan import SPORTS, SessionSpec

STEP = 5  # minutes: durations are multiples of it

# Share of a sport's week in its long session, growing toward the peak: the long ride ends up more
# than half the riding, the long run a bit over 40% of the running (the session that injures most
# when it grows too big). Lighter weeks shorten the long sessions first.
_LONG_SHARE: dict[PhaseName, dict[Sport, float]] = {
    "Base": {"bike": 0.50, "run": 0.38},
    "Build 1": {"bike": 0.55, "run": 0.40},
    "Build 2": {"bike": 0.55, "run": 0.42},
    "Peak": {"bike": 0.60, "run": 0.42},
    "Taper": {"bike": 0.55, "run": 0.40},
}
_LONG_SHARE_LIGHT: dict[Sport, float] = {"bike": 0.42, "run": 0.33}
_BRICK_SHARE: dict[str, float] = {"brick_bike": 0.22, "brick_run": 0.12}
# A quality session spends a half to two thirds of its time above zone 2 (warm-up, recoveries and
# cool-down take the rest): the phase's intensity share of the sport's time, times 1.6, goes to its
# quality sessions.
_QUALITY_TIME_PER_HARD_MINUTE = 1.6
_EASY_WEIGHT: dict[str, float] = {"endurance": 1.0, "technique": 0.85, "recovery": 0.55}
# Time a sport cannot take goes first to the bike, and time a sport's shortest sessions need beyond
# its share comes first from the bike: riding volume costs the least fatigue and injury risk.
_SURPLUS_ORDER: tuple[Sport, ...] = ("bike", "run", "swim")


@dataclass(frozen=True)
class Slot:
    """A session to size: its spec and the bounds that apply where it was placed."""

    spec: SessionSpec
    min_minutes: int
    max_minutes: int


def floor_step(minutes: float) -> int:
    return math.floor(minutes / STEP + 1e-9) * STEP


def round_step(minutes: float) -> int:
    return math.floor(minutes / STEP + 0.5) * STEP


def capacity(slots: Sequence[Slot]) -> int:
    return sum(s.max_minutes for s in slots)


def allocate(
    slots: Sequence[Slot],
    split: dict[Sport, float],
    total: int,
    *,
    phase: PhaseName,
    intensity: float,
    light: bool,
) -> list[int]:
    """Minutes per slot, in order. `total` (a multiple of 5) is met exactly when it lies between the
    slots' shortest and longest sum; otherwise each slot gets its nearest bound."""
    by_sport = {sport: [i for i, s in enumerate(slots) if s.spec.sport == sport] for sport in SPORTS}
    present = [sport for sport in SPORTS if by_sport[sport]]
    if not present:
        return []
    lows = {sport: sum(slots[i].min_minutes for i in by_sport[sport]) for sport in present}
    highs = {sport: sum(slots[i].max_minutes for i in by_sport[sport]) for sport in present}
    total = min(max(total, sum(lows.values())), sum(highs.values()))

    weights = {sport: max(split.get(sport, 0.0), 0.0) for sport in present}
    weight_sum = sum(weights.values()) or 1.0
    wanted = {
        sport: min(max(total * weights[sport] / weight_sum, lows[sport]), highs[sport]) for sport in present
    }
    difference = total - sum(wanted.values())
    for sport in (s for s in _SURPLUS_ORDER if s in wanted):
        room = highs[sport] - wanted[sport] if difference > 0 else wanted[sport] - lows[sport]
        move = min(abs(difference), room)
        wanted[sport] += math.copysign(move, difference)
        difference -= math.copysign(move, difference)
    sport_minutes = fill(
        [wanted[s] for s in present], [lows[s] for s in present], [highs[s] for s in present], total
    )

    minutes = [0] * len(slots)
    for sport, sport_total in zip(present, sport_minutes, strict=True):
        indices = by_sport[sport]
        shape = _shape([slots[i] for i in indices], sport_total, phase, intensity, light)
        sized = fill(
            shape,
            [slots[i].min_minutes for i in indices],
            [slots[i].max_minutes for i in indices],
            sport_total,
        )
        for i, value in zip(indices, sized, strict=True):
            minutes[i] = value
    return minutes


def _shape(slots: list[Slot], total: float, phase: PhaseName, intensity: float, light: bool) -> list[float]:
    """The durations a coach would write before fitting them to the bounds: the long session's share
    first, then the brick and the quality sessions (scaled down together when they do not fit next to
    the easy sessions' minimums), the easy sessions sharing the rest."""
    if len(slots) == 1:
        return [total]
    shape: list[float] = [0.0] * len(slots)
    easy: list[int] = []
    demanding: list[int] = []
    quality_count = sum(1 for s in slots if s.spec.quality)
    for i, slot in enumerate(slots):
        spec = slot.spec
        if spec.session_type == "long":
            share = _LONG_SHARE_LIGHT if light else _LONG_SHARE[phase]
            shape[i] = share.get(spec.sport, 0.0) * total
        elif spec.session_type in _BRICK_SHARE:
            shape[i] = _BRICK_SHARE[spec.session_type] * total
            demanding.append(i)
        elif spec.quality:
            shape[i] = _QUALITY_TIME_PER_HARD_MINUTE * intensity * total / quality_count
            demanding.append(i)
        else:
            easy.append(i)
    wanted = sum(shape[i] for i in demanding)
    room = total - (sum(shape) - wanted) - sum(slots[i].min_minutes for i in easy)
    if wanted > room > 0:
        for i in demanding:
            shape[i] *= room / wanted
    left = total - sum(shape)
    weights = {i: _EASY_WEIGHT.get(slots[i].spec.session_type, 1.0) for i in easy}
    for i in easy:
        shape[i] = max(left * weights[i] / sum(weights.values()), float(slots[i].min_minutes))
    return [max(v, 1.0) for v in shape]


def fill(desired: list[float], lows: list[int], highs: list[int], total: int) -> list[int]:
    """Multiples of 5 within their bounds (themselves multiples of 5), summing to `total` when it is
    reachable: `desired` scaled by a common factor (found by bisection), clamped to the bounds."""
    wanted = [d / STEP for d in desired]
    low_units = [low // STEP for low in lows]
    high_units = [high // STEP for high in highs]
    target = min(max(total // STEP, sum(low_units)), sum(high_units))

    def sized(factor: float) -> list[float]:
        return [min(max(factor * w, lo), hi) for w, lo, hi in zip(wanted, low_units, high_units, strict=True)]

    low_factor = 0.0
    high_factor = max(hi / max(w, 1e-9) for w, hi in zip(wanted, high_units, strict=True))
    for _ in range(60):
        middle = (low_factor + high_factor) / 2
        if sum(sized(middle)) < target:
            low_factor = middle
        else:
            high_factor = middle
    exact = sized(high_factor)
    units = [
        max(lo, min(hi, math.floor(x + 1e-9))) for x, lo, hi in zip(exact, low_units, high_units, strict=True)
    ]
    # Largest remainder: the slots that lost most to rounding get the units still missing, one each
    # per pass; any excess comes off those that lost least.
    order = sorted(range(len(units)), key=lambda i: (-(exact[i] - units[i]), i))
    missing = target - sum(units)
    while missing != 0:
        step = 1 if missing > 0 else -1
        moved = False
        for i in order if step > 0 else reversed(order):
            if missing != 0 and low_units[i] <= units[i] + step <= high_units[i]:
                units[i] += step
                missing -= step
                moved = True
        if not moved:
            break
    return [u * STEP for u in units]
