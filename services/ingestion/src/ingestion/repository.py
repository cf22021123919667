"""Every query of the ingestion service."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion.models import ProviderNotification


async def insert_notification(session: AsyncSession, notification: ProviderNotification) -> uuid.UUID | None:
    """Stores the notification unless the same one is already stored; returns its id when it is new."""
    values = notification.model_dump(exclude={"received_at"})
    statement = (
        insert(ProviderNotification)
        .values(**values)
        .on_conflict_do_nothing(constraint="uq_provider_notifications_fingerprint")
        .returning(col(ProviderNotification.id))
    )
    return (await session.exec(statement)).scalar_one_or_none()  # type: ignore[call-overload, no-any-return]
