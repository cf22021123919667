"""The transactional outbox: an event is written in the same transaction as the state change that
caused it, and a relay sends it to Kafka afterwards (acks=all, idempotent producer, at least once)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from faststream.kafka import KafkaBroker
from opentelemetry import context as otel_context
from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, func, insert, text, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from relay_contracts import Envelope, topic_for_service
from relay_platform.logging import get_logger
from relay_platform.metrics import PlatformMetrics
from relay_platform.telemetry import attach_trace_headers, current_trace_headers

log = get_logger(__name__)

NOTIFY_CHANNEL = "relay_outbox"
RELAY_LOCK_KEY = 0x52454C4159  # one active relay per database keeps each subject's events in order


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "created_at", postgresql_where=text("published_at IS NULL")),
    )

    id: uuid.UUID = Field(primary_key=True)
    # Commit-order position; the relay sends in this order.
    seq: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(), unique=True, nullable=False)
    )
    topic: str
    key: str
    event_type: str
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    headers: dict[str, str] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    published_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


async def add_event(session: AsyncSession, envelope: Envelope, *, topic_prefix: str = "") -> None:
    """Stages `envelope` in the caller's transaction, for its producer's topic in the manifest.
    Nothing is sent until the transaction commits; nothing committed is lost."""
    await add_events(session, [envelope], topic_prefix=topic_prefix)


async def add_events(session: AsyncSession, envelopes: Sequence[Envelope], *, topic_prefix: str = "") -> None:
    """Stages several events in one statement (a page of activities), relayed in this order."""
    if not envelopes:
        return
    trace_headers = current_trace_headers()
    # Many rows bound to one statement, compiled once whatever their number.
    await session.exec(
        insert(OutboxMessage.__table__),  # type: ignore[attr-defined]
        params=[_row(e, topic_prefix, trace_headers) for e in envelopes],
    )
    # Delivered only if the transaction commits; wakes the relay at once instead of at its next poll.
    await session.exec(text("SELECT pg_notify(:channel, '')").bindparams(channel=NOTIFY_CHANNEL))  # type: ignore[call-overload]


def traced(envelope: Envelope, trace_headers: dict[str, str] | None = None) -> Envelope:
    """`envelope` carrying the current trace (or `trace_headers`') unless it already carries one: an
    event staged later, outside the request that caused it, still joins that request's trace."""
    headers = current_trace_headers() if trace_headers is None else trace_headers
    if envelope.traceparent is not None or "traceparent" not in headers:
        return envelope
    return envelope.model_copy(
        update={"traceparent": headers["traceparent"], "tracestate": headers.get("tracestate")}
    )


def _row(envelope: Envelope, topic_prefix: str, trace_headers: dict[str, str]) -> dict[str, Any]:
    topic = f"{topic_prefix}{topic_for_service(envelope.producer).name}"
    envelope = traced(envelope, trace_headers)
    headers = {
        "event_type": envelope.type,
        "event_version": str(envelope.version),
        "producer": envelope.producer,
    }
    if envelope.traceparent:
        headers["traceparent"] = envelope.traceparent
    if envelope.tracestate:
        headers["tracestate"] = envelope.tracestate
    return {
        "id": envelope.id,
        "topic": topic,
        "key": envelope.subject,
        "event_type": envelope.type,
        "payload": envelope.model_dump(mode="json"),
        "headers": headers,
    }


async def forget_published(session: AsyncSession, subjects: Sequence[str]) -> None:
    """Erases already relayed events about these subjects (an athlete who deleted their account).
    Pending ones stay until Kafka has them: the relay must still deliver the deletion itself."""
    await session.exec(
        OutboxMessage.__table__.delete().where(  # type: ignore[attr-defined]
            col(OutboxMessage.key).in_(list(subjects)), col(OutboxMessage.published_at).is_not(None)
        )
    )


class OutboxRelay:
    """Moves committed outbox rows to Kafka, oldest first. Only the replica holding the advisory lock
    relays; the others stand by. A row is marked published only once Kafka has acknowledged it."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        broker: KafkaBroker,
        database_dsn: str,
        metrics: PlatformMetrics,
        poll_interval: float = 1.0,
        batch_size: int = 500,
        linger: float = 0.0,
        retention: timedelta = timedelta(days=3),
    ) -> None:
        self._sessionmaker = sessionmaker
        self._broker = broker
        self._dsn = database_dsn
        self._metrics = metrics
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._linger = linger
        self._retention = retention
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")
        self._task.add_done_callback(self._on_done)

    async def stop(self) -> None:
        """Relays what is already committed (bounded by the caller's timeout), then stops."""
        self._stopping.set()
        self._wakeup.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @staticmethod
    def _on_done(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox_relay_crashed", error=repr(task.exception()))

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("outbox_relay_cannot_connect", error=str(error))
                await self._sleep(self._poll_interval * 5)
                continue
            try:
                await self._relay_while_leader(connection)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, sa_exc.DBAPIError) as error:
                # The database went away, in the middle of a batch too (SQLAlchemy's errors): what was
                # sent but not marked is sent again once it is back, and consumers skip it.
                log.warning("outbox_relay_connection_lost", error=str(error))
                await self._sleep(self._poll_interval)
            finally:
                with contextlib.suppress(Exception):
                    await connection.close(timeout=2)

    async def _relay_while_leader(self, connection: asyncpg.Connection) -> None:
        while not await connection.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY):
            if self._stopping.is_set():
                return
            await self._sleep(self._poll_interval * 2)
        await connection.add_listener(NOTIFY_CHANNEL, lambda *_: self._wakeup.set())
        log.info("outbox_relay_leading")
        last_cleanup = datetime.now(UTC)
        while True:
            sent = await self.relay_pending()
            if self._stopping.is_set() and sent == 0:
                return
            if sent >= self._batch_size:
                continue
            if datetime.now(UTC) - last_cleanup > timedelta(minutes=10):
                await self.delete_published_before(datetime.now(UTC) - self._retention)
                last_cleanup = datetime.now(UTC)
            await self._sleep(self._poll_interval)
            if connection.is_closed():
                raise asyncpg.InterfaceError("listener connection closed")

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
        if self._wakeup.is_set() and not self._stopping.is_set():
            # Woken by a commit: the commits right behind it are relayed in the same batch.
            await asyncio.sleep(self._linger)
        self._wakeup.clear()

    async def relay_pending(self) -> int:
        """Sends one batch of pending events and marks them published; returns how many were sent."""
        async with self._sessionmaker() as session, session.begin():
            rows = (
                await session.exec(
                    select(OutboxMessage)
                    .where(col(OutboxMessage.published_at).is_(None))
                    .order_by(col(OutboxMessage.seq))
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if rows:
                deliveries = [await self._send(row) for row in rows]
                await asyncio.gather(*deliveries)
                await session.exec(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id).in_([row.id for row in rows]))
                    .values(published_at=func.now())
                    .execution_options(synchronize_session=False)
                )
                for row in rows:
                    self._metrics.outbox_published.labels(topic=row.topic).inc()
            pending, oldest = (
                await session.exec(
                    select(func.count(), func.min(OutboxMessage.created_at)).where(
                        col(OutboxMessage.published_at).is_(None)
                    )
                )
            ).one()
        self._metrics.outbox_backlog.set(max(pending - len(rows), 0))
        self._metrics.outbox_oldest_age.set(
            (datetime.now(UTC) - oldest).total_seconds() if oldest and pending > len(rows) else 0
        )
        return len(rows)

    async def _send(self, row: OutboxMessage) -> asyncio.Future[Any]:
        token = attach_trace_headers(row.headers)
        try:
            future: asyncio.Future[Any] = await self._broker.publish(
                # Validated when it was staged: sent as it was stored.
                json.dumps(row.payload, separators=(",", ":")).encode(),
                topic=row.topic,
                key=row.key.encode(),
                headers={"content-type": "application/json", **row.headers},
                no_confirm=True,
            )
        finally:
            otel_context.detach(token)
        return future

    async def delete_published_before(self, cutoff: datetime) -> None:
        async with self._sessionmaker() as session, session.begin():
            await session.exec(
                OutboxMessage.__table__.delete().where(  # type: ignore[attr-defined]
                    col(OutboxMessage.published_at) < cutoff
                )
            )
