"""The weekly review against the real database: due on Monday at 06:00 in each athlete's timezone, once a
week whatever the job's runs, lightening the week after a missed one, and completing finished programs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from planning import onboarding, repository, service
from planning.models import OutboxMessage, Program, Recalculation
from planning.reviews import review_due_programs
from planning.schemas import AvailabilityRequest, CompleteRequest, GoalRequest
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import ProfileUpdated

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


async def program_for(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: str, timezone: str, *, weeks: int = 16
) -> Program:
    async with sessionmaker() as session, session.begin():
        await service.record_profile(
            session,
            ProfileUpdated(user_id=user_id, timezone=timezone, updated_at=NOW, actor=Actor(type="athlete")),
        )
        goal = GoalRequest(
            event_name="Half Vichy", event_date=(NOW + timedelta(weeks=weeks)).date(), distance_type="70.3"
        )
        await onboarding.set_goal(session, user_id, goal, NOW)
        availability = AvailabilityRequest(weekly_hours=8, unavailable_days=[], preferred_long_day=0)
        await onboarding.set_availability(session, user_id, availability, NOW)
        return await onboarding.complete(session, user_id, CompleteRequest(), NOW)


async def stored(sessionmaker: async_sessionmaker[AsyncSession], program_id: str) -> Program:
    async with sessionmaker() as session:
        program = await session.get(Program, program_id)
        assert program is not None
        return program


async def week_minutes(
    sessionmaker: async_sessionmaker[AsyncSession], program_id: str, week: int
) -> list[int]:
    async with sessionmaker() as session:
        return [row.duration_planned for row in await repository.sessions_of(session, program_id, week)]


async def complete_week(sessionmaker: async_sessionmaker[AsyncSession], program_id: str, week: int) -> None:
    async with sessionmaker() as session, session.begin():
        for row in await repository.sessions_of(session, program_id, week):
            row.status, row.actual_duration = "completed", row.duration_planned
            session.add(row)


async def events(sessionmaker: async_sessionmaker[AsyncSession], user_id: str) -> Counter[str]:
    async with sessionmaker() as session:
        statement = select(OutboxMessage.event_type).where(col(OutboxMessage.key) == user_id)
        return Counter((await session.exec(statement)).all())


def monday_six(program: Program, week: int, timezone: str) -> datetime:
    """The moment week `week` of the program begins its review: its Monday at 06:00 local time."""
    monday = program.start_date + timedelta(weeks=week - 1)
    return datetime.combine(monday, time(6), tzinfo=ZoneInfo(timezone))


async def test_a_program_is_due_every_monday_at_six_in_the_athletes_own_timezone(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    paris = await program_for(sessionmaker, "ath-paris", "Europe/Paris")
    sydney = await program_for(sessionmaker, "ath-sydney", "Australia/Sydney")
    for program, zone in ((paris, "Europe/Paris"), (sydney, "Australia/Sydney")):
        due = program.review_at
        assert due is not None
        local = due.astimezone(ZoneInfo(zone))
        assert (local.weekday(), local.time()) == (0, time(6))
        assert NOW < due <= NOW + timedelta(days=7)

    # Monday 06:00 in Sydney is Sunday evening in Paris: at the first of the two moments, only that
    # athlete's program is due.
    first, second = sorted(
        ((paris, "Europe/Paris"), (sydney, "Australia/Sydney")), key=lambda p: p[0].review_at
    )
    moment = first[0].review_at
    assert moment is not None and moment < second[0].review_at  # type: ignore[operator]
    tally = await review_due_programs(sessionmaker, lambda: moment)
    assert tally.reviewed == 1
    following = (await stored(sessionmaker, first[0].id)).review_at
    assert following is not None
    zone = ZoneInfo(first[1])
    assert following.astimezone(zone) == (moment.astimezone(zone) + timedelta(weeks=1)).replace(tzinfo=zone)
    assert (await stored(sessionmaker, second[0].id)).review_at == second[0].review_at


async def test_a_missed_week_lightens_the_next_one_once_however_often_the_job_runs(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    program = await program_for(sessionmaker, "ath-1", "Europe/Paris")
    before = await week_minutes(sessionmaker, program.id, 2)
    moment = monday_six(program, 2, "Europe/Paris") + timedelta(minutes=3)

    first = await review_due_programs(sessionmaker, lambda: moment)
    again = await review_due_programs(sessionmaker, lambda: moment + timedelta(minutes=5))

    assert (first.reviewed, first.recalculated, again.reviewed) == (1, 1, 0)
    after = await week_minutes(sessionmaker, program.id, 2)
    assert sum(after) <= round(sum(before) * 0.9) + 5 * len(after)
    assert all(new <= old for new, old in zip(after, before, strict=True))
    async with sessionmaker() as session:
        recalculations = (
            await session.exec(select(Recalculation).where(col(Recalculation.program_id) == program.id))
        ).all()
    assert [(r.trigger, r.changes["weeks_modified"]) for r in recalculations] == [("weekly", [2])]
    published = await events(sessionmaker, "ath-1")
    assert published["planning.program.recalculated"] == 1
    assert published["planning.session.changed"] == sum(
        1 for n, o in zip(after, before, strict=True) if n < o
    )


async def test_a_week_done_as_planned_changes_nothing_and_records_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    program = await program_for(sessionmaker, "ath-1", "Europe/Paris")
    await complete_week(sessionmaker, program.id, 1)
    before = await week_minutes(sessionmaker, program.id, 2)

    tally = await review_due_programs(sessionmaker, lambda: monday_six(program, 2, "Europe/Paris"))

    assert (tally.reviewed, tally.recalculated) == (1, 0)
    assert await week_minutes(sessionmaker, program.id, 2) == before
    assert "planning.program.recalculated" not in await events(sessionmaker, "ath-1")
    assert (await stored(sessionmaker, program.id)).review_at == monday_six(program, 3, "Europe/Paris")


async def test_a_program_whose_race_is_over_is_completed(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    program = await program_for(sessionmaker, "ath-1", "Europe/Paris", weeks=10)
    after_race = monday_six(program, program.total_weeks + 1, "Europe/Paris")

    tally = await review_due_programs(sessionmaker, lambda: after_race)

    assert tally.completed == 1
    ended = await stored(sessionmaker, program.id)
    assert (ended.status, ended.review_at) == ("completed", None)
    assert (await events(sessionmaker, "ath-1"))["planning.program.ended"] == 1
    assert (await review_due_programs(sessionmaker, lambda: after_race + timedelta(weeks=1))).reviewed == 0
