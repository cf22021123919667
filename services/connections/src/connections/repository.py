"""Every query of the connections service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from connections.models import (
    LinkAttempt,
    ProviderAccountActivity,
    ProviderConnection,
    ProviderSubscription,
    SyncRecord,
)

# Provider accounts' notifications


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


async def postpone_deauthorization(
    session: AsyncSession, provider: str, provider_user_id: str, at: datetime
) -> None:
    """The provider could not confirm the account's deauthorization at `at`: it waits to be asked again."""
    await session.exec(
        update(ProviderAccountActivity)  # type: ignore[call-overload]
        .where(
            col(ProviderAccountActivity.provider) == provider,
            col(ProviderAccountActivity.provider_user_id) == provider_user_id,
        )
        .values(deauthorization_unconfirmed_at=at)
    )


async def settle_deauthorization(
    session: AsyncSession, provider: str, provider_user_id: str, *, confirmed_at: datetime | None
) -> None:
    """The account's deauthorization waits no more: confirmed by the provider at `confirmed_at`, or
    refuted (None)."""
    values: dict[str, Any] = {"deauthorization_unconfirmed_at": None}
    if confirmed_at is not None:
        values["deauthorized_at"] = confirmed_at
    await session.exec(
        update(ProviderAccountActivity)  # type: ignore[call-overload]
        .where(
            col(ProviderAccountActivity.provider) == provider,
            col(ProviderAccountActivity.provider_user_id) == provider_user_id,
        )
        .values(**values)
    )


async def pending_deauthorizations(session: AsyncSession, limit: int) -> list[tuple[str, str]]:
    """The accounts whose deauthorization waits for their provider, the longest unasked first."""
    statement = (
        select(ProviderAccountActivity.provider, ProviderAccountActivity.provider_user_id)
        .where(col(ProviderAccountActivity.deauthorization_unconfirmed_at).is_not(None))
        .order_by(col(ProviderAccountActivity.deauthorization_unconfirmed_at))
        .limit(limit)
    )
    return [(provider, account) for provider, account in (await session.exec(statement)).all()]


async def lock_pending_deauthorization(session: AsyncSession, provider: str, provider_user_id: str) -> bool:
    """Locks the account's deauthorization if it still waits and no other replica holds it."""
    statement = (
        select(ProviderAccountActivity.provider)
        .where(
            ProviderAccountActivity.provider == provider,
            ProviderAccountActivity.provider_user_id == provider_user_id,
            col(ProviderAccountActivity.deauthorization_unconfirmed_at).is_not(None),
        )
        .with_for_update(skip_locked=True)
    )
    return (await session.exec(statement)).first() is not None


async def delete_provider_accounts(
    session: AsyncSession, provider: str, provider_user_ids: Sequence[str]
) -> None:
    await session.exec(
        delete(ProviderAccountActivity).where(  # type: ignore[call-overload]
            col(ProviderAccountActivity.provider) == provider,
            col(ProviderAccountActivity.provider_user_id).in_(list(provider_user_ids)),
        )
    )


# Connections


async def get_connection_for_update(
    session: AsyncSession, user_id: str, provider: str
) -> ProviderConnection | None:
    statement = (
        select(ProviderConnection)
        .where(ProviderConnection.user_id == user_id, ProviderConnection.provider == provider)
        .with_for_update()
    )
    return (await session.exec(statement)).first()


async def add_connection(session: AsyncSession, connection: ProviderConnection) -> None:
    session.add(connection)
    await session.flush()


async def get_connection(
    session: AsyncSession, user_id: str, connection_id: uuid.UUID, *, for_update: bool = False
) -> ProviderConnection | None:
    """The athlete's connection: another athlete's is never found."""
    statement = select(ProviderConnection).where(
        ProviderConnection.id == connection_id, ProviderConnection.user_id == user_id
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def get_connection_by_id_for_update(
    session: AsyncSession, connection_id: uuid.UUID, *, skip_locked: bool = False
) -> ProviderConnection | None:
    statement = (
        select(ProviderConnection)
        .where(ProviderConnection.id == connection_id)
        .with_for_update(skip_locked=skip_locked)
    )
    return (await session.exec(statement)).first()


async def get_connection_by_provider(
    session: AsyncSession, user_id: str, provider: str
) -> ProviderConnection | None:
    return (
        await session.exec(
            select(ProviderConnection).where(
                ProviderConnection.user_id == user_id, ProviderConnection.provider == provider
            )
        )
    ).first()


async def find_connection_of_account(
    session: AsyncSession, provider: str, provider_user_id: str, *, for_update: bool = False
) -> ProviderConnection | None:
    """The connection holding this provider account. An account withdrawn from one athlete (revoked)
    may have been linked by another since: the live connection comes first, then the latest."""
    statement = (
        select(ProviderConnection)
        .where(
            ProviderConnection.provider == provider, ProviderConnection.provider_user_id == provider_user_id
        )
        .order_by(
            case((col(ProviderConnection.status) == "revoked", 1), else_=0),
            col(ProviderConnection.linked_at).desc(),
        )
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def connections_of(session: AsyncSession, user_id: str) -> list[ProviderConnection]:
    statement = (
        select(ProviderConnection)
        .where(ProviderConnection.user_id == user_id)
        .order_by(col(ProviderConnection.provider))
    )
    return list((await session.exec(statement)).all())


async def delete_connection(session: AsyncSession, connection: ProviderConnection) -> None:
    await session.delete(connection)
    await session.flush()


async def delete_connections_of(session: AsyncSession, user_id: str) -> None:
    await session.exec(
        delete(ProviderConnection).where(col(ProviderConnection.user_id) == user_id)  # type: ignore[call-overload]
    )


async def connections_to_refresh(session: AsyncSession, before: datetime, limit: int) -> list[uuid.UUID]:
    """Active connections whose access token expires before `before` and that can be refreshed."""
    statement = (
        select(ProviderConnection.id)
        .where(
            ProviderConnection.status == "active",
            col(ProviderConnection.refresh_token_sealed).is_not(None),
            col(ProviderConnection.access_expires_at) < before,
        )
        .order_by(col(ProviderConnection.access_expires_at))
        .limit(limit)
    )
    return list((await session.exec(statement)).all())


async def reauth_required_per_provider(session: AsyncSession) -> dict[str, int]:
    """How many links wait for their athlete to link again, per provider (from a partial index)."""
    statement = (
        select(ProviderConnection.provider, func.count())
        .where(ProviderConnection.status == "reauth_required")
        .group_by(col(ProviderConnection.provider))
    )
    return {provider: count for provider, count in (await session.exec(statement)).all()}


async def active_connections(session: AsyncSession, *, lock: bool = False) -> list[ProviderConnection]:
    """Active connections; with `lock`, those no other replica holds, locked."""
    statement = select(ProviderConnection).where(ProviderConnection.status == "active")
    if lock:
        statement = statement.with_for_update(skip_locked=True)
    return list((await session.exec(statement)).all())


async def last_notifications(session: AsyncSession) -> dict[tuple[str, str], datetime]:
    rows = (
        await session.exec(
            select(
                ProviderAccountActivity.provider,
                ProviderAccountActivity.provider_user_id,
                ProviderAccountActivity.last_notification_at,
            )
        )
    ).all()
    return {(provider, account): at for provider, account, at in rows}


async def connections_sealed_with_other_keys(
    session: AsyncSession, active_kid: str, limit: int
) -> list[ProviderConnection]:
    """A batch of connections whose tokens another key sealed, locked; rows other replicas hold are
    skipped, so the service keeps working while they are re-sealed."""
    statement = (
        select(ProviderConnection)
        .where(col(ProviderConnection.key_id).is_not(None), ProviderConnection.key_id != active_kid)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.exec(statement)).all())


async def count_by_key(session: AsyncSession) -> dict[str, int]:
    rows = (
        await session.exec(
            select(ProviderConnection.key_id, func.count())
            .where(col(ProviderConnection.key_id).is_not(None))
            .group_by(col(ProviderConnection.key_id))
        )
    ).all()
    return {str(kid): int(count) for kid, count in rows}


# Link attempts


async def add_link_attempt(session: AsyncSession, attempt: LinkAttempt) -> None:
    session.add(attempt)
    await session.flush()


async def take_link_attempt(session: AsyncSession, state_hash: str) -> LinkAttempt | None:
    statement = select(LinkAttempt).where(LinkAttempt.state_hash == state_hash).with_for_update()
    return (await session.exec(statement)).first()


async def delete_link_attempts_before(session: AsyncSession, cutoff: datetime) -> None:
    await session.exec(
        delete(LinkAttempt).where(col(LinkAttempt.expires_at) < cutoff)  # type: ignore[call-overload]
    )


async def delete_link_attempts_of(session: AsyncSession, user_id: str) -> None:
    await session.exec(delete(LinkAttempt).where(col(LinkAttempt.user_id) == user_id))  # type: ignore[call-overload]


# Sync history


async def add_sync_record(session: AsyncSession, record: SyncRecord) -> None:
    session.add(record)
    await session.flush()


async def get_sync_record(session: AsyncSession, sync_id: uuid.UUID) -> SyncRecord | None:
    return (await session.exec(select(SyncRecord).where(SyncRecord.id == sync_id).with_for_update())).first()


async def pending_sync(session: AsyncSession, connection_id: uuid.UUID, since: datetime) -> SyncRecord | None:
    """A sync of the connection requested or running since `since`, if any."""
    statement = (
        select(SyncRecord)
        .where(
            SyncRecord.connection_id == connection_id,
            col(SyncRecord.status).in_(["requested", "running"]),
            col(SyncRecord.requested_at) >= since,
        )
        .order_by(col(SyncRecord.requested_at).desc())
    )
    return (await session.exec(statement)).first()


async def sync_history(session: AsyncSession, connection_id: uuid.UUID, limit: int) -> list[SyncRecord]:
    statement = (
        select(SyncRecord)
        .where(SyncRecord.connection_id == connection_id)
        .order_by(col(SyncRecord.requested_at).desc())
        .limit(limit)
    )
    return list((await session.exec(statement)).all())


async def set_connection_fields(session: AsyncSession, connection_id: uuid.UUID, **values: Any) -> None:
    await session.exec(
        update(ProviderConnection)  # type: ignore[call-overload]
        .where(col(ProviderConnection.id) == connection_id)
        .values(**values, updated_at=func.now())
    )


# Provider subscriptions


async def save_subscription(session: AsyncSession, subscription: ProviderSubscription) -> None:
    values = subscription.model_dump()
    statement = (
        insert(ProviderSubscription)
        .values(**values)
        .on_conflict_do_update(
            index_elements=["provider", "subscription_id"],
            set_={
                name: values[name]
                for name in ("data_type", "event_type", "expires_at", "renewed_at", "last_error")
            },
        )
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def subscriptions_expiring(
    session: AsyncSession, provider: str, before: datetime
) -> list[ProviderSubscription]:
    statement = select(ProviderSubscription).where(
        ProviderSubscription.provider == provider, col(ProviderSubscription.expires_at) < before
    )
    return list((await session.exec(statement)).all())


async def delete_subscriptions_except(session: AsyncSession, provider: str, kept: Sequence[str]) -> None:
    """Forgets the provider's subscriptions that it no longer lists."""
    await session.exec(
        delete(ProviderSubscription).where(  # type: ignore[call-overload]
            col(ProviderSubscription.provider) == provider,
            col(ProviderSubscription.subscription_id).not_in(list(kept)),
        )
    )
