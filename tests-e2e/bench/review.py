"""The weekly review for 10,000 athletes, on the real PostgreSQL, with the planning service's own job.

The database holds 10,000 active programs as onboarding stores them (70.3 and Ironman, three levels,
12 to 30 weeks, about two million sessions with their structured workouts), each athlete somewhere in
their program, in one of six timezones, and all of them due on the same Monday. Three athletes in ten
missed the week that ended (their program is lightened); the others did it as planned. What is timed is
the job's run until no program is due any more: every program locked, its weeks around today read,
the rules applied, the changes, recalculations and events written, the next review set."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from planning.domain import Availability, Constraints, Goal, PlanInputs, Program, Thresholds
from planning.generation import generate_program
from planning.programs import inputs_record, phases_record
from planning.reviews import review_due_programs
from planning.templates import builtin_templates, recommend_template
from relay_devstack import StackConfig

ATHLETES = int(os.environ.get("RELAY_BENCH_ATHLETES", 10_000))
MISSED_EVERY = (0, 1, 2)  # athletes j with j % 10 in this tuple missed the week that ended
MONDAY = date(2027, 3, 1)
ZONES = ("Europe/Paris", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "UTC")
DATABASE = "relay_planning_review_bench"
ROOT = Path(__file__).resolve().parents[2]


def _plans() -> list[tuple[PlanInputs, Program]]:
    """One program per distance, level and length, for an athlete with typical answers."""
    plans = []
    start = date(2027, 1, 4)
    for distance in ("70.3", "ironman"):
        for level, hours in (("beginner", 8.0), ("intermediate", 11.0), ("advanced", 14.0)):
            for weeks in (12, 16, 20, 24, 30):
                inputs = PlanInputs(
                    goal=Goal(distance, start + timedelta(weeks=weeks - 1, days=6)),  # type: ignore[arg-type]
                    level=level,  # type: ignore[arg-type]
                    availability=Availability(
                        weekly_hours=hours, unavailable_days=frozenset({4}), preferred_long_day=6
                    ),
                    constraints=Constraints(pool_access=True, home_trainer=True),
                    thresholds=Thresholds(
                        max_hr=185, ftp_w=240, threshold_pace_s_per_km=270, css_s_per_100m=100
                    ),
                    start_date=start,
                )
                template = recommend_template(builtin_templates(), distance, level, weeks)  # type: ignore[arg-type]
                plans.append((inputs, generate_program(template, inputs)))
    return plans


def _rows(plans: list[tuple[PlanInputs, Program]]) -> tuple[list[tuple[Any, ...]], ...]:
    programs, weeks, sessions, profiles = [], [], [], []
    for j in range(ATHLETES):
        inputs, plan = plans[j % len(plans)]
        current = 2 + (j // len(plans)) % (plan.total_weeks - 2)  # the week that starts on MONDAY
        shift = MONDAY - (plan.start_date + timedelta(weeks=current - 1))
        user, program_id, zone = f"usr_bench_{j}", f"prog_bench_{j}", ZONES[j % len(ZONES)]
        missed = j % 10 in MISSED_EVERY
        review_at = datetime.combine(MONDAY, time(6), tzinfo=ZoneInfo(zone))
        profiles.append((user, zone, review_at))
        programs.append(
            (
                program_id,
                user,
                f"goal_bench_{j}",
                plan.template_id,
                "active",
                plan.start_date + shift,
                plan.end_date + shift,
                plan.total_weeks,
                plan.weekly_hours_target,
                json.dumps(phases_record(plan)),
                json.dumps(inputs_record(inputs)),
                review_at,
            )
        )
        for week in plan.weeks:
            weeks.append(
                (
                    f"week_{j}_{week.number}",
                    program_id,
                    week.number,
                    week.phase,
                    week.start_date + shift,
                    week.recovery,
                    week.target_minutes,
                )
            )
            done = week.number < current and not (missed and week.number == current - 1)
            for k, planned in enumerate(week.sessions):
                sessions.append(
                    (
                        f"sess_{j}_{week.number}_{k}",
                        program_id,
                        week.number,
                        user,
                        planned.date + shift,
                        planned.order,
                        planned.sport,
                        planned.session_type,
                        planned.title,
                        planned.objective,
                        json.dumps(list(planned.tips)),
                        planned.duration_minutes,
                        planned.distance_m,
                        planned.indoor,
                        json.dumps(planned.workout.model_dump(mode="json")),
                        "completed" if done else "pending",
                        planned.duration_minutes if done else None,
                    )
                )
    return programs, weeks, sessions, profiles


async def _load(dsn: str, plans: list[tuple[PlanInputs, Program]]) -> int:
    programs, weeks, sessions, profiles = _rows(plans)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "athlete_profiles",
            records=[(user, zone, at) for user, zone, at in profiles],
            columns=["user_id", "timezone", "updated_at"],
        )
        await connection.copy_records_to_table(
            "programs",
            records=programs,
            columns=[
                "id",
                "user_id",
                "goal_id",
                "template_id",
                "status",
                "start_date",
                "end_date",
                "total_weeks",
                "weekly_hours_target",
                "phases",
                "inputs",
                "review_at",
            ],
        )
        await connection.copy_records_to_table(
            "program_weeks",
            records=weeks,
            columns=["id", "program_id", "number", "phase", "start_date", "recovery", "target_minutes"],
        )
        await connection.copy_records_to_table(
            "sessions",
            records=sessions,
            columns=[
                "id",
                "program_id",
                "week_number",
                "user_id",
                "scheduled_date",
                "position",
                "sport",
                "session_type",
                "title",
                "objective",
                "tips",
                "duration_planned",
                "distance_planned",
                "indoor",
                "workout",
                "status",
                "actual_duration",
            ],
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return len(sessions)


async def _database(config: StackConfig) -> str:
    admin = await asyncpg.connect(config.admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}" OWNER "relay_planning"')
    finally:
        await admin.close()
    url = f"postgresql+asyncpg://relay_planning:relay_planning@{config.pg_host}:{config.pg_port}/{DATABASE}"
    await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            str(ROOT / "services/planning/alembic.ini"),
            "upgrade",
            "head",
        ],
        env={**os.environ, "PLANNING_DATABASE_URL": url},
        check=True,
        capture_output=True,
    )
    return url


async def _drop(config: StackConfig) -> None:
    admin = await asyncpg.connect(config.admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        await admin.close()


async def _measure() -> dict[str, Any]:
    config = StackConfig()
    url = await _database(config)
    try:
        plans = _plans()
        began = clock.perf_counter()
        sessions = await _load(url.replace("+asyncpg", ""), plans)
        loaded_s = clock.perf_counter() - began
        engine = create_async_engine(url, pool_size=2)
        sessionmaker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        moment = datetime.combine(MONDAY, time(6, 1), tzinfo=ZoneInfo("America/Los_Angeles")).astimezone(UTC)
        began = clock.perf_counter()
        tally = await review_due_programs(sessionmaker, lambda: moment)
        elapsed = clock.perf_counter() - began
        async with engine.connect() as connection:
            size = (await connection.exec_driver_sql("SELECT pg_database_size(current_database())")).scalar()
        await engine.dispose()
    finally:
        await _drop(config)
    return {
        "athletes": ATHLETES,
        "sessions_stored": sessions,
        "database_mib": round((size or 0) / 2**20),
        "load_s": round(loaded_s, 1),
        "reviewed": tally.reviewed,
        "recalculated": tally.recalculated,
        "failed": tally.failed,
        "review_s": round(elapsed, 1),
        "review_ms_per_athlete": round(1000 * elapsed / max(tally.reviewed, 1), 2),
        "setup": f"{ATHLETES} active programs due on one Monday, 30% with a missed week; "
        "one run of the job, in one process",
    }


def run() -> dict[str, Any]:
    return asyncio.run(_measure())
