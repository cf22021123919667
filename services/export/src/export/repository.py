"""Every query of the export service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from export.models import AthleteProfile, ExportSettings, PlannedSession, WorkoutExport


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


async def upsert_planned_session(session: AsyncSession, planned: PlannedSession) -> None:
    values = planned.model_dump()
    proposed = insert(PlannedSession).values(**values)
    await session.exec(  # type: ignore[call-overload]
        proposed.on_conflict_do_update(
            index_elements=["session_id"],
            set_={name: proposed.excluded[name] for name in values if name != "session_id"},
        )
    )


async def get_planned_session(session: AsyncSession, session_id: str) -> PlannedSession | None:
    return await session.get(PlannedSession, session_id)


async def delete_planned_session(session: AsyncSession, session_id: str) -> None:
    await session.exec(delete(PlannedSession).where(col(PlannedSession.session_id) == session_id))  # type: ignore[call-overload]


async def get_export(
    session: AsyncSession, export_id: str, *, for_update: bool = False
) -> WorkoutExport | None:
    return await session.get(WorkoutExport, export_id, with_for_update=for_update)


async def export_of(
    session: AsyncSession, session_id: str, provider: str, *, for_update: bool = False
) -> WorkoutExport | None:
    statement = select(WorkoutExport).where(
        col(WorkoutExport.session_id) == session_id, col(WorkoutExport.provider) == provider
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).scalars().first()  # type: ignore[call-overload, no-any-return]


async def export_by_key(session: AsyncSession, user_id: str, key: str) -> WorkoutExport | None:
    statement = select(WorkoutExport).where(
        col(WorkoutExport.user_id) == user_id, col(WorkoutExport.idempotency_key) == key
    )
    return (await session.exec(statement)).scalars().first()  # type: ignore[call-overload, no-any-return]


async def exports_of_session(session: AsyncSession, session_id: str) -> Sequence[WorkoutExport]:
    statement = select(WorkoutExport).where(col(WorkoutExport.session_id) == session_id).with_for_update()
    return (await session.exec(statement)).scalars().all()  # type: ignore[call-overload, no-any-return]


async def list_exports(
    session: AsyncSession,
    user_id: str,
    *,
    status: str | None,
    session_id: str | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[WorkoutExport], int]:
    conditions = [col(WorkoutExport.user_id) == user_id]
    if status is not None:
        conditions.append(col(WorkoutExport.status) == status)
    if session_id is not None:
        conditions.append(col(WorkoutExport.session_id) == session_id)
    counted = select(func.count()).select_from(WorkoutExport).where(*conditions)
    total: int = (await session.exec(counted)).scalar_one()  # type: ignore[call-overload]
    statement = (
        select(WorkoutExport)
        .where(*conditions)
        .order_by(col(WorkoutExport.created_at).desc(), col(WorkoutExport.id))
        .limit(limit)
        .offset(offset)
    )
    return (await session.exec(statement)).scalars().all(), total  # type: ignore[call-overload]


async def claim_due_exports(
    session: AsyncSession, now: datetime, stale_before: datetime, limit: int
) -> Sequence[WorkoutExport]:
    """Exports to send now, marked `sending`, each claimed by one sender only: the queued ones that are
    due, and those left `sending` by a sender that stopped (their last attempt is in doubt)."""
    due = (
        select(col(WorkoutExport.id))
        .where(
            or_(
                (col(WorkoutExport.status) == "queued") & (col(WorkoutExport.next_attempt_at) <= now),
                (col(WorkoutExport.status) == "sending") & (col(WorkoutExport.updated_at) < stale_before),
            )
        )
        .order_by(col(WorkoutExport.next_attempt_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(WorkoutExport)
        .where(col(WorkoutExport.id).in_(due.scalar_subquery()))
        .values(
            in_doubt=col(WorkoutExport.in_doubt) | (col(WorkoutExport.status) == "sending"),
            status="sending",
            attempts=col(WorkoutExport.attempts) + 1,
            updated_at=now,
        )
        .returning(WorkoutExport)
    )
    return (await session.exec(statement)).scalars().all()  # type: ignore[call-overload, no-any-return]


async def get_settings(session: AsyncSession, user_id: str) -> ExportSettings | None:
    return await session.get(ExportSettings, user_id)


async def sessions_to_auto_export(
    session: AsyncSession, first: date, last: date, user_id: str | None = None
) -> Sequence[tuple[PlannedSession, list[str]]]:
    """Sessions between `first` and `last` of athletes who export automatically, with their providers."""
    statement = (
        select(PlannedSession, ExportSettings.auto_export)  # type: ignore[call-overload]
        .join(ExportSettings, col(ExportSettings.user_id) == col(PlannedSession.user_id))
        .where(
            col(PlannedSession.scheduled_date) >= first,
            col(PlannedSession.scheduled_date) <= last,
            func.jsonb_array_length(col(ExportSettings.auto_export)) > 0,
        )
        .order_by(col(PlannedSession.scheduled_date))
    )
    if user_id is not None:
        statement = statement.where(col(PlannedSession.user_id) == user_id)
    return [(planned, providers) for planned, providers in (await session.exec(statement)).all()]


async def next_day_to_auto_export(
    session: AsyncSession, user_id: str, after: date
) -> Sequence[tuple[PlannedSession, list[str]]]:
    """The athlete's sessions of their first day with sessions after `after`, with their auto-export
    providers; nothing when they do not export automatically."""
    first_day = (
        select(func.min(PlannedSession.scheduled_date))
        .where(col(PlannedSession.user_id) == user_id, col(PlannedSession.scheduled_date) > after)
        .scalar_subquery()
    )
    statement = (
        select(PlannedSession, ExportSettings.auto_export)  # type: ignore[call-overload]
        .join(ExportSettings, col(ExportSettings.user_id) == col(PlannedSession.user_id))
        .where(
            col(PlannedSession.user_id) == user_id,
            col(PlannedSession.scheduled_date) == first_day,
            func.jsonb_array_length(col(ExportSettings.auto_export)) > 0,
        )
        .order_by(col(PlannedSession.session_id))
    )
    return [(planned, providers) for planned, providers in (await session.exec(statement)).all()]


async def exported_since(
    session: AsyncSession, user_id: str, first: date
) -> Sequence[tuple[WorkoutExport, PlannedSession]]:
    """The athlete's workouts on providers for sessions from `first` on, with their sessions, the exports
    locked for a change."""
    statement = (
        select(WorkoutExport, PlannedSession)  # type: ignore[call-overload]
        .join(PlannedSession, col(PlannedSession.session_id) == col(WorkoutExport.session_id))
        .where(
            col(WorkoutExport.user_id) == user_id,
            col(WorkoutExport.action) == "push",
            col(WorkoutExport.status).in_(("exported", "queued", "sending")),
            col(PlannedSession.scheduled_date) >= first,
        )
        .with_for_update(of=WorkoutExport)
    )
    rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
    return [(export, planned) for export, planned in rows]


async def delete_athlete_rows(session: AsyncSession, user_id: str) -> None:
    """Deletes every row of this database about the athlete."""
    for table in (AthleteProfile, PlannedSession, ExportSettings, WorkoutExport):
        await session.exec(delete(table).where(col(table.user_id) == user_id))  # type: ignore[call-overload, attr-defined]
