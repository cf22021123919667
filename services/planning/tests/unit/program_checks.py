"""Checks every generated program must pass, shared by the property tests of generation and of the
template library."""

from __future__ import annotations

from itertools import pairwise

from planning.domain import Program


def assert_volume_holds(program: Program, most_minutes: float) -> None:
    """No week above the athlete's time (5 % leeway), loading weeks near their target, and a taper below
    the peak that unloads week after week."""
    for week in program.weeks:
        assert week.planned_minutes <= most_minutes * 1.05
        if week.phase != "Taper" and not week.recovery:
            assert abs(week.planned_minutes - week.target_minutes) <= 0.1 * week.target_minutes
    peak = max(w.planned_minutes for w in program.weeks if w.phase != "Taper")
    taper = [w.planned_minutes for w in program.weeks if w.phase == "Taper"]
    assert all(minutes < peak for minutes in taper)
    assert all(later < earlier for earlier, later in pairwise(taper))
