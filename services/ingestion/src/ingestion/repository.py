"""Every query of the ingestion service."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion.models import ApiKey, BridgeUpload, ProviderNotification


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


async def insert_api_key(session: AsyncSession, key: ApiKey) -> None:
    """Stores a key unless it is already known (a replayed `identity.api_key.created`)."""
    statement = insert(ApiKey).values(**key.model_dump()).on_conflict_do_nothing()
    await session.exec(statement)  # type: ignore[call-overload]


async def revoke_api_key(session: AsyncSession, api_key_id: str, user_id: str, at: datetime) -> bool:
    """Marks the key revoked (the first revocation stands); returns whether the key is known."""
    statement = (
        update(ApiKey)
        .where(col(ApiKey.api_key_id) == api_key_id, col(ApiKey.user_id) == user_id)
        .values(revoked_at=func.coalesce(col(ApiKey.revoked_at), at))
        .returning(col(ApiKey.api_key_id))
    )
    return (await session.exec(statement)).first() is not None  # type: ignore[call-overload]


async def get_api_key_by_digest(session: AsyncSession, key_sha256: str) -> ApiKey | None:
    return (await session.exec(select(ApiKey).where(ApiKey.key_sha256 == key_sha256))).first()


async def claim_use_report(session: AsyncSession, api_key_id: str, at: datetime, interval: timedelta) -> bool:
    """Records a use of the key at `at` and claims the right to report it, which is granted when the
    last report is older than `interval`. A concurrent request waits for this row and then sees the
    new report time, so two requests never both report within the interval."""
    claimed = (
        await session.exec(
            update(ApiKey)  # type: ignore[call-overload]
            .where(
                col(ApiKey.api_key_id) == api_key_id,
                or_(
                    col(ApiKey.last_use_reported_at).is_(None),
                    col(ApiKey.last_use_reported_at) <= at - interval,
                ),
            )
            .values(last_used_at=func.greatest(col(ApiKey.last_used_at), at), last_use_reported_at=at)
            .returning(col(ApiKey.api_key_id))
        )
    ).first()
    if claimed is not None:
        return True
    await session.exec(
        update(ApiKey)  # type: ignore[call-overload]
        .where(col(ApiKey.api_key_id) == api_key_id)
        .values(last_used_at=func.greatest(col(ApiKey.last_used_at), at))
    )
    return False


async def insert_bridge_upload(session: AsyncSession, upload: BridgeUpload) -> uuid.UUID:
    """Stores the upload unless the athlete already sent the same one; returns the stored upload's id
    (the existing one for a redelivery)."""
    values: dict[str, Any] = upload.model_dump(exclude={"received_at"})
    inserted = (
        await session.exec(
            insert(BridgeUpload)  # type: ignore[call-overload]
            .values(**values)
            .on_conflict_do_nothing(constraint="uq_bridge_uploads_fingerprint")
            .returning(col(BridgeUpload.id))
        )
    ).scalar_one_or_none()
    if inserted is not None:
        return inserted  # type: ignore[no-any-return]
    existing = (
        await session.exec(
            select(BridgeUpload.id).where(
                BridgeUpload.user_id == upload.user_id, BridgeUpload.fingerprint == upload.fingerprint
            )
        )
    ).one()
    return existing


async def delete_athlete_rows(session: AsyncSession, user_id: str, strava_athlete_id: str | None) -> None:
    """Deletes every row of this database about the athlete: their API keys, their bridge uploads and,
    when they had a Strava account, the notifications Strava sent about it."""
    await session.exec(delete(BridgeUpload).where(col(BridgeUpload.user_id) == user_id))  # type: ignore[call-overload]
    await session.exec(delete(ApiKey).where(col(ApiKey.user_id) == user_id))  # type: ignore[call-overload]
    if strava_athlete_id is not None:
        await session.exec(
            delete(ProviderNotification).where(  # type: ignore[call-overload]
                col(ProviderNotification.provider) == "strava",
                col(ProviderNotification.owner_id) == strava_athlete_id,
            )
        )


async def delete_provider_account_rows(
    session: AsyncSession, user_id: str, provider: str, provider_user_id: str
) -> None:
    """Deletes what one provider account sent: its notifications (and, for the health bridge, the
    athlete's uploads)."""
    await session.exec(
        delete(ProviderNotification).where(  # type: ignore[call-overload]
            col(ProviderNotification.provider) == provider,
            col(ProviderNotification.owner_id) == provider_user_id,
        )
    )
    if provider == "health_bridge":
        await session.exec(delete(BridgeUpload).where(col(BridgeUpload.user_id) == user_id))  # type: ignore[call-overload]
