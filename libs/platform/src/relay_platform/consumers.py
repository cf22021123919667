"""Idempotent consumers: each message's effect and the record that it was processed are committed in
one transaction, so a redelivered message changes nothing. Failures are retried a bounded number of
times, then the message goes to the dead-letter topic with the reason; infrastructure outages are not
the message's fault and never dead-letter it: the message is redelivered once they pass."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from pydantic import ValidationError
from sqlalchemy import Column, DateTime, func
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from relay_contracts import DEAD_LETTERS, Envelope
from relay_platform.config import ServiceSettings
from relay_platform.logging import get_logger, redact
from relay_platform.metrics import PlatformMetrics

log = get_logger(__name__)

Handler = Callable[[Envelope, AsyncSession], Awaitable[None]]

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
)
TRANSIENT_RETRY_WINDOW_SECONDS = 30.0


class ProcessedMessage(SQLModel, table=True):
    __tablename__ = "processed_messages"

    consumer: str = Field(primary_key=True)
    message_id: uuid.UUID = Field(primary_key=True)
    event_type: str
    processed_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class DeadLetter(Exception):
    """Raise from a handler for a message that can never be processed (no point retrying it)."""


class Consumers:
    """Registers idempotent subscribers on the service's broker."""

    def __init__(
        self,
        *,
        service: str,
        settings: ServiceSettings,
        broker: KafkaBroker,
        sessionmaker: async_sessionmaker[AsyncSession],
        metrics: PlatformMetrics,
    ) -> None:
        self._service = service
        self._settings = settings
        self._broker = broker
        self._sessionmaker = sessionmaker
        self._metrics = metrics

    def subscribe(
        self,
        name: str,
        topics: tuple[str, ...],
        handlers: Mapping[str, Handler],
        *,
        default: Handler | None = None,
    ) -> None:
        """`name` is the consumer (and its consumer group) within the service; `handlers` maps event
        types to their handler, `default` handles any other type (otherwise such events are skipped)."""
        consumer = f"{self._service}.{name}"
        group_id = self._settings.topic(f"relay.{consumer}")

        async def on_message(body: Any, message: KafkaMessage) -> None:
            await self.process(consumer, handlers, default, message)

        on_message.__name__ = f"on_{name.replace('-', '_')}"
        self._broker.subscriber(
            *(self._settings.topic(t) for t in topics),
            group_id=group_id,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            max_poll_records=100,
            title=consumer,
        )(on_message)

    async def process(
        self,
        consumer: str,
        handlers: Mapping[str, Handler],
        default: Handler | None,
        message: KafkaMessage,
    ) -> str:
        """Handles one message and returns the outcome. Raises only for transient failures, so that the
        broker redelivers the message."""
        announced = message.headers.get("event_type")
        if default is None and isinstance(announced, str) and announced not in handlers:
            # Other consumers' events, told apart by the relay's header without decoding the body.
            self._metrics.consumed.labels(consumer=consumer, outcome="skipped").inc()
            return "skipped"
        try:
            envelope = Envelope.from_bytes(message.body)
        except ValidationError as error:
            await self._dead_letter(consumer, message, f"invalid envelope: {error.error_count()} error(s)", 0)
            return "dead_lettered"
        handler = handlers.get(envelope.type, default)
        if handler is None:
            self._metrics.consumed.labels(consumer=consumer, outcome="skipped").inc()
            return "skipped"
        with structlog.contextvars.bound_contextvars(
            event_id=str(envelope.id), event_type=envelope.type, subject=envelope.subject
        ):
            return await self._process_with_retries(consumer, envelope, handler, message)

    async def _process_with_retries(
        self, consumer: str, envelope: Envelope, handler: Handler, message: KafkaMessage
    ) -> str:
        attempt, transient_since = 0, None
        while True:
            attempt += 1
            try:
                outcome = await self._apply_once(consumer, envelope, handler)
            except TRANSIENT_ERRORS as error:
                transient_since = transient_since or asyncio.get_running_loop().time()
                waited = asyncio.get_running_loop().time() - transient_since
                log.warning("consumer_transient_failure", consumer=consumer, error=repr(error), waited=waited)
                await asyncio.sleep(
                    min(5.0, self._settings.consumer_retry_backoff_seconds * 2 ** min(attempt, 6))
                )
                if waited > TRANSIENT_RETRY_WINDOW_SECONDS:
                    raise
                attempt -= 1  # an outage is not the message's fault: it does not use up its attempts
                continue
            except DeadLetter as error:
                await self._dead_letter(consumer, message, str(error), attempt)
                return "dead_lettered"
            except Exception as error:
                log.warning("consumer_handler_failed", consumer=consumer, attempt=attempt, error=repr(error))
                if attempt >= self._settings.consumer_max_attempts:
                    await self._dead_letter(consumer, message, f"{type(error).__name__}: {error}", attempt)
                    return "dead_lettered"
                self._metrics.consumed.labels(consumer=consumer, outcome="retried").inc()
                await asyncio.sleep(self._settings.consumer_retry_backoff_seconds * 2 ** (attempt - 1))
                continue
            self._metrics.consumed.labels(consumer=consumer, outcome=outcome).inc()
            return outcome

    async def _apply_once(self, consumer: str, envelope: Envelope, handler: Handler) -> str:
        async with self._sessionmaker() as session, session.begin():
            first_time = (
                await session.exec(
                    insert(ProcessedMessage)  # type: ignore[call-overload]
                    .values(consumer=consumer, message_id=envelope.id, event_type=envelope.type)
                    .on_conflict_do_nothing()
                    .returning(ProcessedMessage.message_id)
                )
            ).first()
            if first_time is None:
                return "duplicate"
            await handler(envelope, session)
        return "processed"

    async def _dead_letter(self, consumer: str, message: KafkaMessage, reason: str, attempts: int) -> None:
        record = message.raw_message
        reason = str(redact(reason))[:2000]
        headers = {
            **{k: v for k, v in message.headers.items() if isinstance(v, str)},
            "dlq_consumer": consumer,
            "dlq_reason": reason,
            "dlq_attempts": str(attempts),
            "dlq_failed_at": datetime.now(UTC).isoformat(),
            "dlq_original_topic": getattr(record, "topic", ""),
            "dlq_original_partition": str(getattr(record, "partition", "")),
            "dlq_original_offset": str(getattr(record, "offset", "")),
        }
        await self._broker.publish(
            message.body,
            topic=self._settings.topic(DEAD_LETTERS.name),
            key=getattr(record, "key", None),
            headers=headers,
        )
        self._metrics.dead_letters.labels(consumer=consumer).inc()
        self._metrics.consumed.labels(consumer=consumer, outcome="dead_lettered").inc()
        log.error("message_dead_lettered", consumer=consumer, reason=reason, attempts=attempts)
