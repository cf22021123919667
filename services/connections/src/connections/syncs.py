"""Synchronisations of a connection: asked for by the athlete (`connections.sync.requested`, for
ingestion to run) and recorded from ingestion's `ingestion.sync.*` events, the ones ingestion starts
itself included (backfill after a link, polling)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from connections import repository
from connections.events import publish
from connections.models import ProviderConnection, SyncRecord
from connections.resources import Connections
from connections.service import athlete_connection
from relay_contracts.catalog import CONNECTIONS_SYNC_REQUESTED
from relay_contracts.events.common import Actor
from relay_contracts.events.connections import SyncRequested
from relay_contracts.events.ingestion import SyncCompleted, SyncFailed, SyncProgressed, SyncStarted
from relay_platform.errors import Conflict

SYNC_IN_PROGRESS_WINDOW = timedelta(minutes=15)
"""A sync requested or running for longer than this is considered lost: another may be requested."""


async def request_sync(
    session: AsyncSession, connections: Connections, user_id: str, connection_id: str
) -> SyncRecord:
    connection = await athlete_connection(session, user_id, connection_id)
    if connection.status != "active" or not connection.is_active:
        raise Conflict(
            "This connection cannot be synchronised now",
            code="connection_not_active",
            details={"status": connection.status, "is_active": connection.is_active},
        )
    now = datetime.now(UTC)
    pending = await repository.pending_sync(session, connection.id, now - SYNC_IN_PROGRESS_WINDOW)
    if pending is not None:
        raise Conflict(
            "A synchronisation of this connection is already under way",
            code="sync_in_progress",
            details={"sync_id": str(pending.id), "status": pending.status},
        )
    record = SyncRecord(
        id=uuid.uuid4(),
        connection_id=connection.id,
        user_id=user_id,
        provider=connection.provider,
        trigger="manual",
        status="requested",
        requested_at=now,
    )
    await repository.add_sync_record(session, record)
    await publish(
        session,
        connections,
        CONNECTIONS_SYNC_REQUESTED,
        SyncRequested(
            sync_id=str(record.id),
            connection_id=str(connection.id),
            user_id=user_id,
            provider=connection.provider,
            provider_user_id=connection.provider_user_id,
            since=connection.last_sync_at,
            requested_at=now,
            actor=Actor(type="athlete", id=user_id),
        ),
        subject=user_id,
    )
    return record


async def sync_history(
    session: AsyncSession, user_id: str, connection_id: str, limit: int
) -> tuple[ProviderConnection, list[SyncRecord]]:
    connection = await athlete_connection(session, user_id, connection_id)
    return connection, await repository.sync_history(session, connection.id, limit)


async def _sync_record(
    session: AsyncSession,
    sync_id: str,
    connection_id: str,
    user_id: str,
    provider: str,
    trigger: str,
    at: datetime,
) -> SyncRecord | None:
    """The record of a sync ingestion reports on, created for syncs ingestion started itself."""
    try:
        key, connection_key = uuid.UUID(sync_id), uuid.UUID(connection_id)
    except ValueError:
        return None
    record = await repository.get_sync_record(session, key)
    if record is not None:
        return record
    if await repository.get_connection(session, user_id, connection_key) is None:
        return None  # disconnected since: its history went with it
    record = SyncRecord(
        id=key,
        connection_id=connection_key,
        user_id=user_id,
        provider=provider,
        trigger=trigger,
        status="running",
        requested_at=at,
    )
    await repository.add_sync_record(session, record)
    return record


async def on_sync_started(session: AsyncSession, started: SyncStarted) -> None:
    record = await _sync_record(
        session,
        started.sync_id,
        started.connection_id,
        started.user_id,
        started.provider,
        started.trigger,
        started.started_at,
    )
    if record is None or record.status not in ("requested", "running"):
        return
    record.status = "running"
    record.started_at = started.started_at
    session.add(record)


async def on_sync_progressed(session: AsyncSession, progressed: SyncProgressed) -> None:
    record = await _sync_record(
        session,
        progressed.sync_id,
        progressed.connection_id,
        progressed.user_id,
        progressed.provider,
        "link",
        progressed.at,
    )
    if record is None or record.status not in ("requested", "running"):
        return
    record.status = "running"
    record.activities_fetched = max(record.activities_fetched, progressed.activities_fetched)
    record.percent = progressed.percent
    session.add(record)


async def on_sync_completed(session: AsyncSession, completed: SyncCompleted) -> None:
    record = await _sync_record(
        session,
        completed.sync_id,
        completed.connection_id,
        completed.user_id,
        completed.provider,
        "link",
        completed.started_at,
    )
    if record is None:
        return
    record.status = completed.status
    record.started_at = record.started_at or completed.started_at
    record.completed_at = completed.completed_at
    record.activities_fetched = completed.activities_fetched
    record.activities_created = completed.activities_created
    record.activities_updated = completed.activities_updated
    record.activities_skipped = completed.activities_skipped
    record.percent = 100.0 if completed.status == "success" else record.percent
    record.error_message = completed.error
    session.add(record)
    changes: dict[str, object] = {"last_sync_error": completed.error}
    if completed.status != "failed":
        changes["last_sync_at"] = completed.completed_at
    await repository.set_connection_fields(session, record.connection_id, **changes)


async def on_sync_failed(session: AsyncSession, failed: SyncFailed) -> None:
    """A sync stopped without finishing: recorded as failed, with what it stored before and why."""
    await on_sync_completed(
        session,
        SyncCompleted(
            sync_id=failed.sync_id,
            connection_id=failed.connection_id,
            user_id=failed.user_id,
            provider=failed.provider,
            status="failed",
            started_at=failed.started_at,
            completed_at=failed.failed_at,
            activities_fetched=failed.activities_fetched,
            activities_created=failed.activities_created,
            activities_updated=failed.activities_updated,
            activities_skipped=failed.activities_skipped,
            error=failed.error,
        ),
    )
