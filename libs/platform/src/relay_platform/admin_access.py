"""Operators' reads of athletes' data are audited: an endpoint of the back office that shows such data
stages an `<service>.admin.data_accessed` event in the transaction of its answer."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from relay_contracts.catalog import EventSpec
from relay_contracts.events.common import Actor, AdminDataAccessed
from relay_platform.auth import AdminClaims
from relay_platform.outbox import add_event


async def record_admin_access(
    session: AsyncSession,
    spec: EventSpec,
    admin: AdminClaims,
    request: Request,
    *,
    records: int | None,
    topic_prefix: str,
) -> None:
    """Stages `spec` (the service's `admin.data_accessed` event): who read what, and how much of it."""
    accessed = AdminDataAccessed(
        admin_id=admin.sub,
        role=admin.role,
        method=request.method,
        path=request.url.path,
        query=dict(request.query_params),
        records=records,
        accessed_at=datetime.now(UTC),
        actor=Actor(type="admin", id=admin.sub),
    )
    await add_event(session, spec.envelope(accessed, subject=admin.sub), topic_prefix=topic_prefix)
