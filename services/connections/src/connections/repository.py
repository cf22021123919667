"""Every query of the connections service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from connections.models import ProviderAccountActivity


async def count_provider_notification(
    session: AsyncSession, provider: str, provider_user_id: str, at: datetime, deauthorized: bool
) -> None:
    table = ProviderAccountActivity.__table__  # type: ignore[attr-defined]
    statement = insert(ProviderAccountActivity).values(
        provider=provider,
        provider_user_id=provider_user_id,
        notifications_received=1,
        last_notification_at=at,
        deauthorized_at=at if deauthorized else None,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["provider", "provider_user_id"],
        set_={
            "notifications_received": table.c.notifications_received + 1,
            "last_notification_at": func.greatest(table.c.last_notification_at, at),
            "deauthorized_at": at if deauthorized else table.c.deauthorized_at,
        },
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def get_provider_account(
    session: AsyncSession, provider: str, provider_user_id: str
) -> ProviderAccountActivity | None:
    return (
        await session.exec(
            select(ProviderAccountActivity).where(
                ProviderAccountActivity.provider == provider,
                ProviderAccountActivity.provider_user_id == provider_user_id,
            )
        )
    ).first()
