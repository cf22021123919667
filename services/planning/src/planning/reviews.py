"""The weekly review (seed 001's `recalc-weekly` job): every Monday at 06:00 in the athlete's timezone,
each active program looks back at the week that ended and adjusts the one that starts when it calls for
it (`recalculation`'s rules); a program whose last week is over is completed.

Each program keeps when its next review is due (`programs.review_at`), so the job only has to pick the
programs that are due, whatever the timezones, and a program is reviewed once per week even when the job
runs late, often, or on several replicas at once (the rows are locked, `SKIP LOCKED`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from planning import replanning, repository
from planning.config import Settings
from planning.models import Program
from relay_contracts.catalog import PLANNING_PROGRAM_ENDED
from relay_contracts.events.common import Actor
from relay_contracts.events.planning import ProgramEnded
from relay_platform.jobs import ScheduledJob
from relay_platform.logging import get_logger
from relay_platform.outbox import add_event
from relay_platform.service import Runtime

log = get_logger(__name__)

REVIEW_TIME = time(6, 0)
BATCH = 50  # programs per transaction


def zone_named(name: str | None) -> tzinfo:
    """The athlete's timezone; UTC when it is unknown or not a timezone this machine knows."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def next_review(after: datetime, zone: tzinfo) -> datetime:
    """The first Monday 06:00 in `zone` strictly after `after`."""
    local = after.astimezone(zone)
    monday = local.date() + timedelta(days=-local.weekday() % 7)
    due = datetime.combine(monday, REVIEW_TIME, tzinfo=zone)
    if due <= after:
        due = datetime.combine(monday + timedelta(weeks=1), REVIEW_TIME, tzinfo=zone)
    return due


@dataclass
class ReviewTally:
    reviewed: int = 0
    recalculated: int = 0
    completed: int = 0
    failed: int = 0


async def review_program(
    session: AsyncSession, program: Program, zone: tzinfo, now: datetime, *, topic_prefix: str = ""
) -> str:
    """Reviews one due program; answers what became of it: `completed`, `recalculated` or `unchanged`."""
    today = now.astimezone(zone).date()
    if today > program.end_date:
        program.status = "completed"
        program.review_at = None
        session.add(program)
        await add_event(
            session,
            PLANNING_PROGRAM_ENDED.envelope(
                ProgramEnded(
                    program_id=program.id,
                    user_id=program.user_id,
                    reason="completed",
                    ended_at=now,
                    actor=Actor(type="system"),
                ),
                subject=program.user_id,
            ),
            topic_prefix=topic_prefix,
        )
        return "completed"
    record = await replanning.review_week(session, program, today, now, topic_prefix=topic_prefix)
    program.review_at = next_review(now, zone)
    session.add(program)
    return "unchanged" if record is None else "recalculated"


async def review_due_programs(
    sessionmaker: async_sessionmaker[AsyncSession],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    *,
    topic_prefix: str = "",
    batch: int = BATCH,
) -> ReviewTally:
    """Reviews every program that is due, `batch` per transaction. A program whose review fails is
    logged and left for the next week rather than retried in a loop; the others go on."""
    tally = ReviewTally()
    while True:
        async with sessionmaker() as session, session.begin():
            moment = now()
            due = await repository.due_reviews(session, moment, batch)
            for program, zone_name in due:
                zone = zone_named(zone_name)
                try:
                    async with session.begin_nested():
                        outcome = await review_program(
                            session, program, zone, moment, topic_prefix=topic_prefix
                        )
                except Exception:
                    log.exception("weekly_review_failed", program_id=program.id)
                    tally.failed += 1
                    program.review_at = next_review(moment, zone)
                    continue
                tally.reviewed += 1
                tally.recalculated += outcome == "recalculated"
                tally.completed += outcome == "completed"
        if len(due) < batch:
            return tally


def weekly_review_job(
    sessionmaker: async_sessionmaker[AsyncSession], *, topic_prefix: str
) -> Callable[[], Awaitable[ReviewTally]]:
    async def run() -> ReviewTally:
        return await review_due_programs(sessionmaker, topic_prefix=topic_prefix)

    return run


def scheduled_jobs(runtime: Runtime) -> list[ScheduledJob]:
    """The planning service's jobs (`relay_platform.jobs`)."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    return [
        ScheduledJob(
            "recalc-weekly",
            "Weekly review of programs",
            settings.review_cron,
            weekly_review_job(runtime.sessionmaker, topic_prefix=settings.kafka_topic_prefix),
        )
    ]
