"""Planning's figures: the time to generate a 30-week Ironman program (the whole of it: phases, weeks,
sessions placed on the athlete's days and pool slots, each with its structured workout), on one core,
in the planning service's own code."""

from __future__ import annotations

import statistics
import time as clock
from datetime import date, time, timedelta
from typing import Any

from planning.domain import Availability, Constraints, Goal, PlanInputs, Thresholds, TimeSlot
from planning.generation import generate_program
from planning.templates import builtin_templates, recommend_template

RUNS = 100
WEEKS = 30


def _inputs() -> PlanInputs:
    start = date(2027, 1, 4)  # a Monday
    evening = (TimeSlot(time(19, 0), time(21, 0)),)
    return PlanInputs(
        goal=Goal("ironman", start + timedelta(weeks=WEEKS - 1, days=6), 39600),
        level="advanced",
        availability=Availability(weekly_hours=16, unavailable_days=frozenset({3}), preferred_long_day=6),
        constraints=Constraints(
            pool_access=True, pool_schedule={1: evening, 4: evening, 6: evening}, home_trainer=True
        ),
        thresholds=Thresholds(max_hr=186, ftp_w=265, threshold_pace_s_per_km=255, css_s_per_100m=92),
        start_date=start,
    )


def run() -> dict[str, Any]:
    inputs = _inputs()
    template = recommend_template(builtin_templates(), "ironman", "advanced", WEEKS)
    program = generate_program(template, inputs)
    timings = []
    for _ in range(RUNS):
        began = clock.perf_counter()
        generate_program(template, inputs)
        timings.append((clock.perf_counter() - began) * 1000)
    timings.sort()
    return {
        "program_weeks": program.total_weeks,
        "program_sessions": sum(len(week.sessions) for week in program.weeks),
        "generate_p50_ms": round(statistics.median(timings), 1),
        "generate_p95_ms": round(timings[int(0.95 * len(timings)) - 1], 1),
        "generate_max_ms": round(timings[-1], 1),
        "setup": f"{RUNS} generations of a {WEEKS}-week Ironman program (advanced, 16 h/week, 3 pool slots)",
    }
