"""Every query of the planning service."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from planning.models import AthleteProfile


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
    """Deletes every row of this database about the athlete."""
    await session.exec(delete(AthleteProfile).where(col(AthleteProfile.user_id) == user_id))  # type: ignore[call-overload]
