"""Every query of the audit service."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.models import AuditEntry


async def append_entry(session: AsyncSession, values: dict[str, Any]) -> None:
    statement = insert(AuditEntry).values(**values).on_conflict_do_nothing(index_elements=["event_id"])
    await session.exec(statement)  # type: ignore[call-overload]
