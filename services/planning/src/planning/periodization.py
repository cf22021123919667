"""The program's calendar: how many weeks, which phase each belongs to, which are lighter, and what share
of the athlete's peak hours each asks for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from planning.domain import PHASES, PhaseName, PhaseTemplate, Template

MIN_PROGRAM_WEEKS = 3  # a base week, a build week and the race week

# The first week starts below the peak so that load can grow; the step cap keeps short programs from
# jumping more than ~8% a week, the usual ceiling before injury risk climbs.
FIRST_WEEK_LOAD = 0.78
MAX_WEEKLY_STEP = 0.08
# Within a block of loading weeks, each week adds ~5% to the block's first week (step loading); the
# block after a lighter week starts about where the previous block's second week was.
BLOCK_STEP = 0.05
# A lighter week removes about a third of the previous week's volume: enough to absorb the block,
# not so much that fitness is lost.
RECOVERY_LOAD = 0.65
# Taper volume relative to the peak week, race week last. Intensity stays; volume drops fast enough
# to shed fatigue and slowly enough to stay sharp.
TAPER_LOADS: dict[int, tuple[float, ...]] = {1: (0.38,), 2: (0.6, 0.38), 3: (0.7, 0.5, 0.38)}


@dataclass(frozen=True)
class WeekFrame:
    """One week of the calendar before any session is chosen."""

    number: int  # 1-based
    phase: PhaseName
    week_in_phase: int  # 0-based
    start_date: date  # Monday
    recovery: bool
    # Before the taper: share of the program's peak hours. In the taper: share of the peak week's time.
    load: float

    @property
    def taper(self) -> bool:
        return self.phase == "Taper"


def program_weeks(start_date: date, event_date: date) -> int:
    """Monday-started weeks from the start up to and including the event's week."""
    return (event_date - start_date).days // 7 + 1


def phase_templates(template: Template) -> dict[PhaseName, PhaseTemplate]:
    """The template's phases by name; every phase must be described once."""
    by_name = {p.name: p for p in template.phases}
    missing = [name for name in PHASES if name not in by_name]
    if missing or len(by_name) != len(template.phases):
        raise ValueError(f"template {template.id} must describe each phase once (missing: {missing})")
    return by_name


def phase_lengths(template: Template, total_weeks: int) -> tuple[tuple[PhaseName, int], ...]:
    """Weeks per phase, in order, phases without weeks left out. The taper keeps the template's length
    unless the program is too short; the other phases share the remaining weeks in the template's
    proportions, Base and Build 1 always getting at least one week."""
    if total_weeks < MIN_PROGRAM_WEEKS:
        raise ValueError(f"a program needs at least {MIN_PROGRAM_WEEKS} weeks, got {total_weeks}")
    phases = phase_templates(template)
    taper = max(1, min(template.taper_weeks, total_weeks - 2, max(TAPER_LOADS)))
    before = total_weeks - taper
    names: tuple[PhaseName, ...] = PHASES[:-1]
    shares = [max(0.0, phases[name].share) for name in names]
    total_share = sum(shares) or 1.0
    quotas = [before * share / total_share for share in shares]
    weeks = [int(q) for q in quotas]
    # Largest remainder, earlier phases first on ties.
    by_remainder = sorted(range(len(names)), key=lambda i: (-(quotas[i] - weeks[i]), i))
    for i in by_remainder[: before - sum(weeks)]:
        weeks[i] += 1
    for required in (0, 1):  # Base, Build 1
        if weeks[required] == 0:
            donor = max(range(len(names)), key=lambda i: (weeks[i], -i))
            weeks[donor] -= 1
            weeks[required] += 1
    lengths = [(name, n) for name, n in zip(names, weeks, strict=True) if n > 0]
    return (*lengths, ("Taper", taper))


def _trend(index: int, peak_index: int) -> float:
    """The load a loading week would have on a straight line from the first week to the peak."""
    if peak_index <= 0:
        return 1.0
    start = max(FIRST_WEEK_LOAD, 1.0 - MAX_WEEKLY_STEP * peak_index)
    return min(1.0, start + (1.0 - start) * index / peak_index)


def week_frames(template: Template, start_date: date, total_weeks: int) -> tuple[WeekFrame, ...]:
    """Every week of the program with its phase, lighter-week flag and load."""
    lengths = phase_lengths(template, total_weeks)
    phase_of: list[tuple[PhaseName, int]] = [(name, i) for name, n in lengths for i in range(n)]
    before = sum(n for name, n in lengths if name != "Taper")
    # The load reaches the peak hours on the first Peak week, or on the last week before the taper.
    peak_index = next((i for i, (name, _) in enumerate(phase_of) if name == "Peak"), before - 1)
    every = max(2, template.recovery_every)

    frames: list[WeekFrame] = []
    block_start = 0
    previous_load = FIRST_WEEK_LOAD
    for index in range(before):
        name, in_phase = phase_of[index]
        # No lighter week right before the taper: the taper itself unloads.
        recovery = (index + 1) % every == 0 and index < before - 1
        if recovery:
            load = RECOVERY_LOAD * previous_load
            block_start = index + 1
        elif index >= peak_index:
            load = 1.0
        else:
            load = min(1.0, _trend(block_start, peak_index) * (1.0 + BLOCK_STEP * (index - block_start)))
        frames.append(
            WeekFrame(index + 1, name, in_phase, start_date + timedelta(weeks=index), recovery, load)
        )
        previous_load = load
    taper_loads = TAPER_LOADS[total_weeks - before]
    for offset, load in enumerate(taper_loads):
        index = before + offset
        frames.append(WeekFrame(index + 1, "Taper", offset, start_date + timedelta(weeks=index), False, load))
    return tuple(frames)
