"""Every query of the connections service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from connections.models import ProviderAccountActivity, ProviderCredential


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


async def delete_provider_accounts(
    session: AsyncSession, provider: str, provider_user_ids: Sequence[str]
) -> None:
    await session.exec(
        delete(ProviderAccountActivity).where(  # type: ignore[call-overload]
            col(ProviderAccountActivity.provider) == provider,
            col(ProviderAccountActivity.provider_user_id).in_(list(provider_user_ids)),
        )
    )


async def save_credential(session: AsyncSession, credential: ProviderCredential) -> None:
    """Stores the athlete's tokens at the provider, replacing those of an earlier grant."""
    values = credential.model_dump(exclude={"created_at", "updated_at"})
    replaced = {
        name: values[name]
        for name in (
            "provider_user_id",
            "scopes",
            "access_token_sealed",
            "refresh_token_sealed",
            "key_id",
            "access_expires_at",
        )
    }
    statement = (
        insert(ProviderCredential)
        .values(**values)
        .on_conflict_do_update(
            constraint="uq_provider_credentials_user_provider", set_={**replaced, "updated_at": func.now()}
        )
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def get_credential(session: AsyncSession, user_id: str, provider: str) -> ProviderCredential | None:
    return (
        await session.exec(
            select(ProviderCredential).where(
                ProviderCredential.user_id == user_id, ProviderCredential.provider == provider
            )
        )
    ).first()


async def provider_user_ids_of(session: AsyncSession, user_id: str, provider: str) -> list[str]:
    return list(
        (
            await session.exec(
                select(ProviderCredential.provider_user_id).where(
                    ProviderCredential.user_id == user_id, ProviderCredential.provider == provider
                )
            )
        ).all()
    )


async def delete_credentials_of(session: AsyncSession, user_id: str) -> None:
    await session.exec(
        delete(ProviderCredential).where(col(ProviderCredential.user_id) == user_id)  # type: ignore[call-overload]
    )
