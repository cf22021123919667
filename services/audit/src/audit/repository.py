"""Every query of the audit service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, exists, or_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.models import AuditEntry


async def append_entry(session: AsyncSession, values: dict[str, Any]) -> None:
    statement = insert(AuditEntry).values(**values).on_conflict_do_nothing(index_elements=["event_id"])
    await session.exec(statement)  # type: ignore[call-overload]


async def delete_entries_about(
    session: AsyncSession, subjects: Sequence[str], *, except_event_id: uuid.UUID
) -> int:
    """Deletes the entries whose subject, entity or actor is one of `subjects`, except one; returns how
    many were deleted."""
    values = list(subjects)
    result = await session.exec(
        delete(AuditEntry).where(  # type: ignore[call-overload]
            or_(
                col(AuditEntry.subject).in_(values),
                col(AuditEntry.entity_id).in_(values),
                col(AuditEntry.actor_id).in_(values),
            ),
            col(AuditEntry.event_id) != except_event_id,
        )
    )
    return int(result.rowcount)


async def has_entry(session: AsyncSession, event_type: str, entity_id: str) -> bool:
    statement = select(
        exists().where(col(AuditEntry.event_type) == event_type, col(AuditEntry.entity_id) == entity_id)
    )
    return bool((await session.exec(statement)).one())
