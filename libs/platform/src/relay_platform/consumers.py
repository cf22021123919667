"""Idempotent consumers: each message's effect and the record that it was processed are committed in
one transaction, so a redelivered message changes nothing; the messages of one poll share that
transaction. Failures are retried a bounded number of
times, then the message goes to the dead-letter topic with the reason; infrastructure outages are not
the message's fault and never dead-letter it: the message is redelivered once they pass."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
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
BatchHandler = Callable[[Sequence[Envelope], AsyncSession], Awaitable[None]]
"""Handles a poll's new envelopes at once, in their order, in one transaction (for bulk writes)."""
RecordsHandler = Callable[[Sequence["Delivery"], AsyncSession], Awaitable[None]]
"""Handles a poll's records as they are, undecoded (messages that may not be envelopes)."""

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
)
TRANSIENT_RETRY_WINDOW_SECONDS = 30.0


def is_transient(error: BaseException) -> bool:
    """Whether `error` is an outage (the database restarting or unreachable, a connection lost) rather
    than the message's fault. SQLAlchemy wraps most of the driver's errors in a plain `DBAPIError`
    (asyncpg's "the database system is starting up" among them): the driver's own error decides."""
    if isinstance(error, TRANSIENT_ERRORS):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        driver_error = getattr(error.orig, "__cause__", None)
        return error.connection_invalidated or isinstance(driver_error, TRANSIENT_ERRORS)
    return False


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


@dataclass(frozen=True)
class Delivery:
    """One Kafka record of a poll, as the consumer reads it."""

    body: bytes
    headers: Mapping[str, str]
    topic: str = ""
    partition: int | None = None
    offset: int | None = None
    key: bytes | None = None


@dataclass(frozen=True)
class _Work:
    delivery: Delivery
    envelope: Envelope
    handler: Handler | None
    """None: the subscription's batch handler takes it."""


async def _undecoded(message: KafkaMessage) -> None:
    """The consumer reads each record's bytes itself: FastStream's JSON decoding would be wasted."""
    return None


class Consumers:
    """Registers idempotent subscribers on the service's broker. A subscriber takes what one poll
    returns (up to `consumer_max_poll_records`) and applies it in one transaction; when that transaction
    fails, the records are applied one by one, each with its own retries and dead letter."""

    def __init__(
        self,
        *,
        service: str,
        settings: ServiceSettings,
        broker: KafkaBroker,
        sessionmaker: async_sessionmaker[AsyncSession],
        metrics: PlatformMetrics,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self._service = service
        self._settings = settings
        self._broker = broker
        self._sessionmaker = sessionmaker
        self._metrics = metrics
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
        self.groups: dict[str, tuple[str, ...]] = {}
        """The consumer groups subscribed so far, each with the topics it reads (prefixed names)."""

    def subscribe(
        self,
        name: str,
        topics: tuple[str, ...],
        handlers: Mapping[str, Handler],
        *,
        default: Handler | None = None,
        batch: BatchHandler | None = None,
    ) -> None:
        """`name` is the consumer (and its consumer group) within the service; `handlers` maps event
        types to their handler, `default` handles any other type (otherwise such events are skipped).
        With `batch`, every event of a poll that no handler of `handlers` takes goes to it at once."""
        consumer = f"{self._service}.{name}"
        self._metrics.dead_letters.labels(consumer=consumer)  # 0 until the first: its increase shows
        fallback: Handler | None = default
        if batch is not None:
            fallback = _one_of_batch(batch)

        async def on_poll(deliveries: Sequence[Delivery]) -> None:
            await self.process(consumer, handlers, fallback, deliveries, batch=batch)

        self._subscribe_polls(name, topics, on_poll)

    def subscribe_records(self, name: str, topics: tuple[str, ...], handler: RecordsHandler) -> None:
        """A consumer of raw records: each poll is handed to `handler` in one transaction, committed
        before the offsets are; a failing poll is delivered again (the handler must be idempotent)."""

        async def on_poll(deliveries: Sequence[Delivery]) -> None:
            async with self._sessionmaker() as session, session.begin():
                await handler(deliveries, session)

        self._subscribe_polls(name, topics, on_poll)

    def _subscribe_polls(
        self,
        name: str,
        topics: tuple[str, ...],
        on_deliveries: Callable[[Sequence[Delivery]], Awaitable[None]],
    ) -> None:
        consumer = f"{self._service}.{name}"
        group_id = self._settings.topic(f"relay.{consumer}")

        async def on_poll(message: KafkaMessage) -> None:
            raw = message.raw_message
            records = raw if isinstance(raw, tuple | list) else (raw,)
            headers = message.batch_headers or [message.headers]
            await on_deliveries(
                [
                    Delivery(r.value or b"", h, r.topic, r.partition, r.offset, r.key)
                    for r, h in zip(records, headers, strict=True)
                ]
            )

        on_poll.__name__ = f"on_{name.replace('-', '_')}"
        self.groups[group_id] = tuple(self._settings.topic(t) for t in topics)
        self._broker.subscriber(
            *self.groups[group_id],
            group_id=group_id,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            batch=True,
            max_records=self._settings.consumer_max_poll_records,
            decoder=_undecoded,
            title=consumer,
        )(on_poll)

    async def process(
        self,
        consumer: str,
        handlers: Mapping[str, Handler],
        default: Handler | None,
        deliveries: Sequence[Delivery],
        *,
        batch: BatchHandler | None = None,
    ) -> list[str]:
        """Handles a poll's records in their order and returns their outcomes. Raises only for
        transient failures, so that the broker redelivers the poll (what was applied is skipped then)."""
        outcomes: list[str] = []
        work: dict[int, _Work] = {}  # by position in the poll
        for delivery in deliveries:
            found = await self._work_for(consumer, handlers, default, delivery)
            if isinstance(found, _Work) and batch is not None and found.handler is default:
                found = _Work(found.delivery, found.envelope, None)
            if isinstance(found, _Work):
                work[len(outcomes)] = found
            outcomes.append(found if isinstance(found, str) else "pending")
        if len(work) > 1:
            try:
                applied = await self._apply_together(consumer, list(work.values()), batch)
            except Exception as error:  # any failure: the records are applied one by one, alone
                log.info("consumer_batch_applied_one_by_one", consumer=consumer, error=repr(error))
            else:
                for index, outcome in zip(work, applied, strict=True):
                    outcomes[index] = outcome
                    self._metrics.consumed.labels(consumer=consumer, outcome=outcome).inc()
                work = {}
        for index, item in work.items():
            outcomes[index] = await self._process_with_retries(consumer, _alone(item, default))
        return outcomes

    async def _work_for(
        self, consumer: str, handlers: Mapping[str, Handler], default: Handler | None, delivery: Delivery
    ) -> _Work | str:
        announced = delivery.headers.get("event_type")
        if default is None and announced is not None and announced not in handlers:
            # Other consumers' events, told apart by the relay's header without decoding the body.
            self._metrics.consumed.labels(consumer=consumer, outcome="skipped").inc()
            return "skipped"
        try:
            envelope = Envelope.from_bytes(delivery.body)
        except ValidationError as error:
            reason = f"invalid envelope: {error.error_count()} error(s)"
            await self._dead_letter(consumer, delivery, reason, 0)
            return "dead_lettered"
        handler = handlers.get(envelope.type, default)
        if handler is None:
            self._metrics.consumed.labels(consumer=consumer, outcome="skipped").inc()
            return "skipped"
        return _Work(delivery, envelope, handler)

    @contextlib.contextmanager
    def _handling(self, consumer: str, work: _Work) -> Iterator[None]:
        """The record's handler runs in the trace of the event (what it stages joins that trace) and
        logs with the event's identity."""
        envelope = work.envelope
        with (
            self._tracer.start_as_current_span(**self._span_of(consumer, work)),
            structlog.contextvars.bound_contextvars(
                event_id=str(envelope.id), event_type=envelope.type, subject=envelope.subject
            ),
        ):
            yield

    def _received(self, consumer: str, work: _Work) -> None:
        """A record for the batch handler: its consumer span marks, in the event's trace, that it was
        received; the poll's records are then applied together."""
        self._tracer.start_span(**self._span_of(consumer, work)).end()

    def _span_of(self, consumer: str, work: _Work) -> dict[str, Any]:
        delivery = work.delivery
        return {
            "name": f"{consumer} process",
            "context": propagate.extract(dict(delivery.headers)),
            "kind": SpanKind.CONSUMER,
            "attributes": {
                "messaging.system": "kafka",
                "messaging.destination.name": delivery.topic,
                "messaging.consumer.group.name": consumer,
                "messaging.message.id": str(work.envelope.id),
            },
        }

    async def _process_with_retries(self, consumer: str, work: _Work) -> str:
        attempt, transient_since = 0, None
        while True:
            attempt += 1
            try:
                outcome = await self._apply_once(consumer, work)
            except DeadLetter as error:
                await self._dead_letter(consumer, work.delivery, str(error), attempt)
                return "dead_lettered"
            except Exception as error:
                if is_transient(error):
                    transient_since = transient_since or asyncio.get_running_loop().time()
                    waited = asyncio.get_running_loop().time() - transient_since
                    log.warning(
                        "consumer_transient_failure", consumer=consumer, error=repr(error), waited=waited
                    )
                    await asyncio.sleep(
                        min(5.0, self._settings.consumer_retry_backoff_seconds * 2 ** min(attempt, 6))
                    )
                    if waited > TRANSIENT_RETRY_WINDOW_SECONDS:
                        raise
                    attempt -= 1  # an outage is not the message's fault: it does not use up its attempts
                    continue
                log.warning("consumer_handler_failed", consumer=consumer, attempt=attempt, error=repr(error))
                if attempt >= self._settings.consumer_max_attempts:
                    reason = f"{type(error).__name__}: {error}"
                    await self._dead_letter(consumer, work.delivery, reason, attempt)
                    return "dead_lettered"
                self._metrics.consumed.labels(consumer=consumer, outcome="retried").inc()
                await asyncio.sleep(self._settings.consumer_retry_backoff_seconds * 2 ** (attempt - 1))
                continue
            self._metrics.consumed.labels(consumer=consumer, outcome=outcome).inc()
            return outcome

    async def _apply_once(self, consumer: str, work: _Work) -> str:
        return (await self._apply_together(consumer, [work]))[0]

    async def _apply_together(
        self, consumer: str, works: Sequence[_Work], batch: BatchHandler | None = None
    ) -> list[str]:
        """Applies the records in one transaction with the record that each was processed; a record
        already processed (or twice in the poll) is a duplicate and changes nothing. The records for
        the batch handler go to it together, after the others (each with its consumer span)."""
        outcomes = []
        batched: list[Envelope] = []
        records = [
            {"consumer": consumer, "message_id": w.envelope.id, "event_type": w.envelope.type} for w in works
        ]
        async with self._sessionmaker() as session, session.begin():
            # One statement compiled once whatever the poll's size, its rows bound to it.
            first_times = set(
                (
                    await session.exec(
                        insert(ProcessedMessage)  # type: ignore[call-overload]
                        .on_conflict_do_nothing()
                        .returning(ProcessedMessage.message_id),
                        params=records,
                    )
                ).scalars()  # type: ignore[attr-defined]
            )
            for work in works:
                if work.envelope.id not in first_times:
                    outcomes.append("duplicate")
                    continue
                first_times.discard(work.envelope.id)
                if work.handler is None:
                    self._received(consumer, work)
                    batched.append(work.envelope)
                else:
                    with self._handling(consumer, work):
                        await work.handler(work.envelope, session)
                outcomes.append("processed")
            if batched and batch is not None:
                await batch(batched, session)
        return outcomes

    async def _dead_letter(self, consumer: str, delivery: Delivery, reason: str, attempts: int) -> None:
        reason = str(redact(reason))[:2000]
        headers = {
            **delivery.headers,
            "dlq_consumer": consumer,
            "dlq_reason": reason,
            "dlq_attempts": str(attempts),
            "dlq_failed_at": datetime.now(UTC).isoformat(),
            "dlq_original_topic": delivery.topic,
            "dlq_original_partition": "" if delivery.partition is None else str(delivery.partition),
            "dlq_original_offset": "" if delivery.offset is None else str(delivery.offset),
        }
        await self._broker.publish(
            delivery.body,
            topic=self._settings.topic(DEAD_LETTERS.name),
            key=delivery.key,
            headers=headers,
        )
        self._metrics.dead_letters.labels(consumer=consumer).inc()
        self._metrics.consumed.labels(consumer=consumer, outcome="dead_lettered").inc()
        log.error("message_dead_lettered", consumer=consumer, reason=reason, attempts=attempts)


def _one_of_batch(batch: BatchHandler) -> Handler:
    async def handle(envelope: Envelope, session: AsyncSession) -> None:
        await batch([envelope], session)

    return handle


def _alone(work: _Work, default: Handler | None) -> _Work:
    """A record of the batch handler, applied on its own (its poll failed together)."""
    if work.handler is not None or default is None:
        return work
    return _Work(work.delivery, work.envelope, default)
