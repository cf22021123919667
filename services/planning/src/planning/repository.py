"""Every query of the planning service."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from planning.models import (
    ActivityLoad,
    AthleteProfile,
    Goal,
    Onboarding,
    Program,
    ProgramTemplate,
    ProgramWeek,
    TrainingSession,
)


async def upsert_profile(session: AsyncSession, profile: AthleteProfile) -> bool:
    """Stores the profile unless the one already stored is as recent or more; returns whether it was
    stored. Updates may arrive out of order (a replay), so the newest `updated_at` wins."""
    values = profile.model_dump()
    proposed = insert(AthleteProfile).values(**values)
    statement = proposed.on_conflict_do_update(
        index_elements=["user_id"],
        set_={name: proposed.excluded[name] for name in values if name != "user_id"},
        where=col(AthleteProfile.updated_at) < proposed.excluded.updated_at,
    ).returning(col(AthleteProfile.user_id))
    return (await session.exec(statement)).first() is not None  # type: ignore[call-overload]


async def get_profile(session: AsyncSession, user_id: str) -> AthleteProfile | None:
    return await session.get(AthleteProfile, user_id)


async def delete_athlete_rows(session: AsyncSession, user_id: str) -> None:
    """Deletes every row of this database about the athlete (weeks, sessions and recalculations go
    with their program)."""
    for table in (AthleteProfile, Onboarding, Goal, Program, ActivityLoad):
        await session.exec(delete(table).where(col(table.user_id) == user_id))  # type: ignore[call-overload]


async def get_onboarding(
    session: AsyncSession, user_id: str, *, for_update: bool = False
) -> Onboarding | None:
    statement = select(Onboarding).where(col(Onboarding.user_id) == user_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def get_goal(session: AsyncSession, user_id: str, goal_id: str) -> Goal | None:
    statement = select(Goal).where(col(Goal.id) == goal_id, col(Goal.user_id) == user_id)
    return (await session.exec(statement)).first()


async def active_program(session: AsyncSession, user_id: str) -> Program | None:
    statement = select(Program).where(col(Program.user_id) == user_id, col(Program.status) == "active")
    return (await session.exec(statement)).first()


async def get_program(session: AsyncSession, user_id: str, program_id: str) -> Program | None:
    """The athlete's program: another athlete's is not found."""
    statement = select(Program).where(col(Program.id) == program_id, col(Program.user_id) == user_id)
    return (await session.exec(statement)).first()


async def retire_active_programs(session: AsyncSession, user_id: str) -> list[str]:
    """Marks the athlete's active program replaced; returns its id (none or one)."""
    statement = (
        update(Program)
        .where(col(Program.user_id) == user_id, col(Program.status) == "active")
        .values(status="replaced")
        .returning(col(Program.id))
    )
    return list((await session.exec(statement)).scalars())  # type: ignore[call-overload]


async def weeks_of(session: AsyncSession, program_id: str) -> list[ProgramWeek]:
    statement = (
        select(ProgramWeek).where(col(ProgramWeek.program_id) == program_id).order_by(col(ProgramWeek.number))
    )
    return list((await session.exec(statement)).all())


async def sessions_of(
    session: AsyncSession, program_id: str, week_number: int | None = None
) -> list[TrainingSession]:
    statement = select(TrainingSession).where(col(TrainingSession.program_id) == program_id)
    if week_number is not None:
        statement = statement.where(col(TrainingSession.week_number) == week_number)
    statement = statement.order_by(col(TrainingSession.scheduled_date), col(TrainingSession.position))
    return list((await session.exec(statement)).all())


async def sessions_between(
    session: AsyncSession, program_id: str, first: date, last: date
) -> list[TrainingSession]:
    statement = (
        select(TrainingSession)
        .where(
            col(TrainingSession.program_id) == program_id,
            col(TrainingSession.scheduled_date) >= first,
            col(TrainingSession.scheduled_date) <= last,
        )
        .order_by(col(TrainingSession.scheduled_date), col(TrainingSession.position))
    )
    return list((await session.exec(statement)).all())


async def weeks_starting_between(
    session: AsyncSession, program_id: str, first: date, last: date
) -> list[ProgramWeek]:
    statement = (
        select(ProgramWeek)
        .where(
            col(ProgramWeek.program_id) == program_id,
            col(ProgramWeek.start_date) >= first,
            col(ProgramWeek.start_date) <= last,
        )
        .order_by(col(ProgramWeek.number))
    )
    return list((await session.exec(statement)).all())


async def sessions_of_weeks(
    session: AsyncSession, program_id: str, week_numbers: list[int]
) -> list[TrainingSession]:
    statement = (
        select(TrainingSession)
        .where(
            col(TrainingSession.program_id) == program_id,
            col(TrainingSession.week_number).in_(week_numbers),
        )
        .order_by(col(TrainingSession.scheduled_date), col(TrainingSession.position))
    )
    return list((await session.exec(statement)).all())


async def due_reviews(session: AsyncSession, now: datetime, limit: int) -> list[tuple[Program, str]]:
    """Up to `limit` active programs whose weekly review is due, with the athlete's timezone (UTC when
    identity has not told it), locked; programs another replica is reviewing are skipped."""
    statement = (
        select(Program, func.coalesce(AthleteProfile.timezone, "UTC"))
        .outerjoin(AthleteProfile, col(AthleteProfile.user_id) == col(Program.user_id))
        .where(col(Program.status) == "active", col(Program.review_at) <= now)
        .order_by(col(Program.review_at))
        .limit(limit)
        .with_for_update(of=Program, skip_locked=True)  # type: ignore[type-var]
    )
    return [(program, zone) for program, zone in (await session.exec(statement)).all()]


async def upsert_activity_load(session: AsyncSession, load: ActivityLoad) -> None:
    """Stores the activity's load unless a newer revision of it is already stored."""
    values = load.model_dump()
    proposed = insert(ActivityLoad).values(**values)
    statement = proposed.on_conflict_do_update(
        index_elements=["activity_id"],
        set_={name: proposed.excluded[name] for name in values if name != "activity_id"},
        where=col(ActivityLoad.revision) <= proposed.excluded.revision,
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def delete_activity_loads(session: AsyncSession, activity_ids: list[str]) -> None:
    statement = delete(ActivityLoad).where(col(ActivityLoad.activity_id).in_(activity_ids))
    await session.exec(statement)  # type: ignore[call-overload]


async def daily_stress(session: AsyncSession, user_id: str, last: date) -> dict[date, float]:
    """The athlete's summed stress per day, up to `last`."""
    statement = (
        select(col(ActivityLoad.local_date), func.sum(col(ActivityLoad.stress)))
        .where(col(ActivityLoad.user_id) == user_id, col(ActivityLoad.local_date) <= last)
        .group_by(col(ActivityLoad.local_date))
    )
    return {day: float(total) for day, total in (await session.exec(statement)).all()}


async def get_session(
    session: AsyncSession, user_id: str, session_id: str, *, for_update: bool = False
) -> TrainingSession | None:
    """The athlete's session: another athlete's is not found."""
    statement = select(TrainingSession).where(
        col(TrainingSession.id) == session_id, col(TrainingSession.user_id) == user_id
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def custom_templates(session: AsyncSession, *, active_only: bool = False) -> list[ProgramTemplate]:
    """The templates admins added (the built-in ones live in code), oldest first."""
    statement = select(ProgramTemplate).where(col(ProgramTemplate.builtin).is_(False))
    if active_only:
        statement = statement.where(col(ProgramTemplate.is_active).is_(True))
    statement = statement.order_by(col(ProgramTemplate.created_at), col(ProgramTemplate.id))
    return list((await session.exec(statement)).all())


async def get_template(session: AsyncSession, template_id: str) -> ProgramTemplate | None:
    return await session.get(ProgramTemplate, template_id)


async def add_template(session: AsyncSession, template: ProgramTemplate) -> bool:
    """Stores the template unless its slug is taken; returns whether it was stored. Of two admins
    adding the same slug at once, one gets it."""
    values = template.model_dump(exclude={"created_at"})
    statement = (
        insert(ProgramTemplate)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["slug"])
        .returning(col(ProgramTemplate.id))
    )
    return (await session.exec(statement)).first() is not None  # type: ignore[call-overload]


async def program_counts_by_template(session: AsyncSession) -> dict[str, int]:
    """Programs per template id, whatever their status."""
    statement = select(col(Program.template_id), func.count()).group_by(col(Program.template_id))
    return {template_id: count for template_id, count in (await session.exec(statement)).all()}
