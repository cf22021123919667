"""The outbox and the idempotent consumer against the real PostgreSQL and Kafka."""

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faststream.kafka import KafkaBroker
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from relay_contracts import DEAD_LETTERS, Envelope
from relay_contracts.topics import INGESTION_EVENTS
from relay_platform.config import ServiceSettings
from relay_platform.consumers import Consumers, ProcessedMessage
from relay_platform.db import asyncpg_dsn, create_engine, create_sessionmaker
from relay_platform.messaging import create_broker, delete_topics, ensure_topics
from relay_platform.metrics import PlatformMetrics
from relay_platform.outbox import OutboxMessage, OutboxRelay, add_event
from relay_platform.telemetry import current_trace_id
from relay_testing.plugin import Infrastructure

pytestmark = pytest.mark.integration


class LedgerLine(SQLModel, table=True):
    __tablename__ = "test_ledger"

    id: int | None = Field(default=None, primary_key=True)
    subject: str
    amount: int


@dataclass
class Kit:
    settings: ServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    broker: KafkaBroker
    metrics: PlatformMetrics
    database_url: str

    @property
    def topic(self) -> str:
        return self.settings.topic(INGESTION_EVENTS.name)

    def relay(self, poll_interval: float = 60.0) -> OutboxRelay:
        return OutboxRelay(
            sessionmaker=self.sessionmaker,
            broker=self.broker,
            database_dsn=asyncpg_dsn(self.database_url),
            metrics=self.metrics,
            poll_interval=poll_interval,
        )


@pytest.fixture
async def kit(fresh_database: str, infrastructure: Infrastructure, topic_prefix: str) -> AsyncIterator[Kit]:
    engine = create_engine(fresh_database)
    async with engine.begin() as connection:
        tables = [OutboxMessage.__table__, ProcessedMessage.__table__, LedgerLine.__table__]  # type: ignore[attr-defined]
        await connection.run_sync(SQLModel.metadata.create_all, tables=tables)
    settings = ServiceSettings(
        database_url=fresh_database,
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        consumer_max_attempts=3,
        consumer_retry_backoff_seconds=0.01,
    )
    await ensure_topics(infrastructure.kafka_bootstrap, prefix=topic_prefix)
    registry = CollectorRegistry()
    broker = create_broker("ingestion", settings, TracerProvider(), registry)
    kit = Kit(
        settings, engine, create_sessionmaker(engine), broker, PlatformMetrics(registry), fresh_database
    )
    yield kit
    await broker.stop()
    await engine.dispose()
    await delete_topics(infrastructure.kafka_bootstrap, prefix=topic_prefix)


def envelope(subject: str = "athlete-1", **data: Any) -> Envelope:
    return Envelope(type="ingestion.webhook.received", producer="ingestion", subject=subject, data=data)


async def read_topic(bootstrap: str, topic: str, count: int, timeout: float = 20.0) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < count and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for partition_records in batch.values():
                records.extend(partition_records)
        # Anything more than expected would show a duplicate: give it a moment to appear.
        extra = await consumer.getmany(timeout_ms=500)
        for partition_records in extra.values():
            records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def test_an_event_committed_with_its_state_change_reaches_kafka_keyed_and_traced(kit: Kit) -> None:
    await kit.broker.start()
    tracer = TracerProvider().get_tracer("test")
    sent = envelope(amount=5)
    with tracer.start_as_current_span("request") as span:
        async with kit.sessionmaker() as session, session.begin():
            session.add(LedgerLine(subject="athlete-1", amount=5))
            await add_event(session, sent, topic_prefix=kit.settings.kafka_topic_prefix)
        trace_id = format(span.get_span_context().trace_id, "032x")

    assert await kit.relay().relay_pending() == 1

    [record] = await read_topic(kit.settings.kafka_bootstrap_servers, kit.topic, 1)
    received = Envelope.from_bytes(record.value)
    headers = {k: v.decode() for k, v in record.headers}
    assert received.id == sent.id
    assert record.key == b"athlete-1"
    assert received.traceparent is not None
    assert trace_id in received.traceparent
    assert trace_id in headers["traceparent"]
    assert headers["event_type"] == "ingestion.webhook.received"


async def test_an_event_whose_transaction_rolled_back_is_never_sent(kit: Kit) -> None:
    await kit.broker.start()
    async with kit.sessionmaker() as session:
        await session.begin()
        await add_event(session, envelope(), topic_prefix=kit.settings.kafka_topic_prefix)
        await session.rollback()
    assert await kit.relay().relay_pending() == 0
    assert await read_topic(kit.settings.kafka_bootstrap_servers, kit.topic, 1, timeout=2) == []


async def test_events_are_sent_once_each_in_commit_order(kit: Kit) -> None:
    await kit.broker.start()
    sent = [envelope(n=n) for n in range(20)]
    for event in sent:
        async with kit.sessionmaker() as session, session.begin():
            await add_event(session, event, topic_prefix=kit.settings.kafka_topic_prefix)
    relay = kit.relay()
    assert await relay.relay_pending() == 20
    assert await relay.relay_pending() == 0
    records = await read_topic(kit.settings.kafka_bootstrap_servers, kit.topic, 20)
    assert [Envelope.from_bytes(r.value).id for r in records] == [e.id for e in sent]


async def test_a_commit_wakes_the_relay_without_waiting_for_its_poll(kit: Kit) -> None:
    await kit.broker.start()
    relay = kit.relay(poll_interval=120.0)
    relay.start()
    try:
        await asyncio.sleep(0.5)  # the relay is idle, waiting up to two minutes for its next poll
        async with kit.sessionmaker() as session, session.begin():
            await add_event(session, envelope(), topic_prefix=kit.settings.kafka_topic_prefix)
        records = await read_topic(kit.settings.kafka_bootstrap_servers, kit.topic, 1, timeout=15)
        assert len(records) == 1
    finally:
        await relay.stop()


async def test_two_relays_on_one_database_send_each_event_exactly_once(kit: Kit) -> None:
    await kit.broker.start()
    relays = [kit.relay(poll_interval=0.2), kit.relay(poll_interval=0.2)]
    for relay in relays:
        relay.start()
    try:
        sent = [envelope(subject=f"athlete-{n % 3}", n=n) for n in range(60)]
        for event in sent:
            async with kit.sessionmaker() as session, session.begin():
                await add_event(session, event, topic_prefix=kit.settings.kafka_topic_prefix)
        records = await read_topic(kit.settings.kafka_bootstrap_servers, kit.topic, 60)
    finally:
        for relay in relays:
            await relay.stop()
    ids = [Envelope.from_bytes(r.value).id for r in records]
    assert sorted(ids) == sorted(e.id for e in sent)


class HeldKafka:
    """The broker, holding every send until `release` is set: the relay waits inside its batch's
    transaction, as it does while Kafka is slow or away."""

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker
        self.sending = asyncio.Event()
        self.release = asyncio.Event()

    async def publish(self, *args: Any, **kwargs: Any) -> Any:
        self.sending.set()
        await self.release.wait()
        return await self._broker.publish(*args, **kwargs)


async def test_a_relay_that_loses_its_database_in_the_middle_of_a_batch_carries_on_once_it_is_back(
    kit: Kit,
) -> None:
    await kit.broker.start()
    held = HeldKafka(kit.broker)
    relay = OutboxRelay(
        sessionmaker=kit.sessionmaker,
        broker=held,  # type: ignore[arg-type]
        database_dsn=asyncpg_dsn(kit.database_url),
        metrics=kit.metrics,
        poll_interval=0.2,
    )
    sent = envelope()
    async with kit.sessionmaker() as session, session.begin():
        await add_event(session, sent, topic_prefix=kit.settings.kafka_topic_prefix)
    relay.start()
    try:
        await asyncio.wait_for(held.sending.wait(), timeout=10)
        # Every connection of the relay dies, as when PostgreSQL restarts, while its batch is open.
        admin = await asyncpg.connect(asyncpg_dsn(kit.database_url))
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        await admin.close()
        held.release.set()

        async def relayed() -> bool:
            async with kit.sessionmaker() as session:
                unsent = select(func.count()).where(col(OutboxMessage.published_at).is_(None))
                return (await session.exec(unsent)).one() == 0

        await eventually(relayed)
    finally:
        await relay.stop()
    records = await read_topic(kit.settings.kafka_bootstrap_servers, kit.topic, 1)
    # Sent, then sent again since it could not be marked: at least once, and consumers skip the copy.
    assert {Envelope.from_bytes(r.value).id for r in records} == {sent.id}


async def add_ledger_line(event: Envelope, session: AsyncSession) -> None:
    session.add(LedgerLine(subject=event.subject, amount=int(event.data["amount"])))


async def ledger(kit: Kit) -> list[tuple[str, int]]:
    async with kit.sessionmaker() as session:
        rows = (
            await session.exec(select(LedgerLine.subject, LedgerLine.amount).order_by(LedgerLine.id))
        ).all()
    return [(subject, amount) for subject, amount in rows]


async def publish_raw(kit: Kit, *payloads: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kit.settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for payload in payloads:
            await producer.send_and_wait(kit.topic, payload, key=b"athlete-1")
    finally:
        await producer.stop()


async def processed_count(kit: Kit) -> int:
    async with kit.sessionmaker() as session:
        return int((await session.exec(select(func.count()).select_from(ProcessedMessage))).one())


def consumers(kit: Kit) -> Consumers:
    return Consumers(
        service="connections",
        settings=kit.settings,
        broker=kit.broker,
        sessionmaker=kit.sessionmaker,
        metrics=kit.metrics,
    )


async def test_a_message_delivered_three_times_is_applied_once(kit: Kit) -> None:
    consumers(kit).subscribe(
        "ledger", (INGESTION_EVENTS.name,), {"ingestion.webhook.received": add_ledger_line}
    )
    await kit.broker.start()
    once, other = envelope(amount=10), envelope(amount=1)
    await publish_raw(kit, once.to_bytes(), once.to_bytes(), other.to_bytes(), once.to_bytes())

    async def all_seen() -> bool:
        return (
            await processed_count(kit) == 2
            and kit.metrics.consumed.labels(consumer="connections.ledger", outcome="duplicate")._value.get()
            == 2
        )

    await eventually(all_seen)
    assert await ledger(kit) == [("athlete-1", 10), ("athlete-1", 1)]


async def test_a_message_that_keeps_failing_goes_to_the_dead_letter_topic_with_its_reason(kit: Kit) -> None:
    attempts = 0

    async def always_fails(event: Envelope, session: AsyncSession) -> None:
        nonlocal attempts
        attempts += 1
        session.add(LedgerLine(subject=event.subject, amount=99))
        raise ValueError("sport 'kitesurf' has no mapping")

    consumers(kit).subscribe("ledger", (INGESTION_EVENTS.name,), {"ingestion.webhook.received": always_fails})
    await kit.broker.start()
    poisoned = envelope(amount=1)
    await publish_raw(kit, poisoned.to_bytes())

    [record] = await read_topic(
        kit.settings.kafka_bootstrap_servers, kit.settings.topic(DEAD_LETTERS.name), 1
    )
    headers = {k: v.decode() for k, v in record.headers}
    assert Envelope.from_bytes(record.value).id == poisoned.id
    assert headers["dlq_consumer"] == "connections.ledger"
    assert "kitesurf" in headers["dlq_reason"]
    assert headers["dlq_original_topic"] == kit.topic
    assert headers["dlq_attempts"] == "3"
    assert attempts == 3
    assert await ledger(kit) == []  # no failed attempt left anything behind
    assert await processed_count(kit) == 0


async def test_a_message_that_is_not_an_envelope_is_dead_lettered_not_dropped(kit: Kit) -> None:
    consumers(kit).subscribe(
        "ledger", (INGESTION_EVENTS.name,), {"ingestion.webhook.received": add_ledger_line}
    )
    await kit.broker.start()
    await publish_raw(kit, b'{"hello": "world"}')
    [record] = await read_topic(
        kit.settings.kafka_bootstrap_servers, kit.settings.topic(DEAD_LETTERS.name), 1
    )
    assert record.value == b'{"hello": "world"}'
    assert dict(record.headers)["dlq_reason"].startswith(b"invalid envelope")


async def test_a_failure_that_passes_is_retried_and_applied_once(kit: Kit) -> None:
    calls = 0

    async def flaky(event: Envelope, session: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("provider hiccup")
        await add_ledger_line(event, session)

    consumers(kit).subscribe("ledger", (INGESTION_EVENTS.name,), {"ingestion.webhook.received": flaky})
    await kit.broker.start()
    await publish_raw(kit, envelope(amount=4).to_bytes())

    async def done() -> bool:
        return await processed_count(kit) == 1

    await eventually(done)
    assert await ledger(kit) == [("athlete-1", 4)]
    assert calls == 2


async def test_a_backlog_is_applied_in_order_a_poll_per_transaction(kit: Kit) -> None:
    transactions: list[int] = []

    async def add_line_noting_its_transaction(event: Envelope, session: AsyncSession) -> None:
        await add_ledger_line(event, session)
        transactions.append((await session.exec(text("SELECT txid_current()"))).scalar_one())  # type: ignore[call-overload]

    consumers(kit).subscribe(
        "ledger", (INGESTION_EVENTS.name,), {"ingestion.webhook.received": add_line_noting_its_transaction}
    )
    # Waiting on Kafka before the consumer starts, as after a restart.
    await publish_raw(kit, *(envelope(amount=n).to_bytes() for n in range(60)))
    await kit.broker.start()

    async def all_applied() -> bool:
        return await processed_count(kit) == 60

    await eventually(all_applied)
    assert await ledger(kit) == [("athlete-1", n) for n in range(60)]
    assert len(set(transactions)) < 10


async def test_a_poisoned_message_in_a_poll_is_dead_lettered_alone(kit: Kit) -> None:
    async def refuses_amount_13(event: Envelope, session: AsyncSession) -> None:
        if event.data["amount"] == 13:
            raise ValueError("amount 13 is refused")
        await add_ledger_line(event, session)

    consumers(kit).subscribe(
        "ledger", (INGESTION_EVENTS.name,), {"ingestion.webhook.received": refuses_amount_13}
    )
    poisoned = envelope(amount=13)
    await publish_raw(kit, *(envelope(amount=n).to_bytes() for n in (1, 2)), poisoned.to_bytes())
    await publish_raw(kit, *(envelope(amount=n).to_bytes() for n in (3, 4)))
    await kit.broker.start()

    [record] = await read_topic(
        kit.settings.kafka_bootstrap_servers, kit.settings.topic(DEAD_LETTERS.name), 1
    )
    assert Envelope.from_bytes(record.value).id == poisoned.id
    assert dict(record.headers)["dlq_reason"] == b"ValueError: amount 13 is refused"

    async def others_applied() -> bool:
        return await processed_count(kit) == 4

    await eventually(others_applied)
    assert await ledger(kit) == [("athlete-1", n) for n in (1, 2, 3, 4)]


async def test_each_message_of_a_poll_is_handled_in_its_own_trace(kit: Kit) -> None:
    traces: dict[int, str | None] = {}

    async def note_trace(event: Envelope, session: AsyncSession) -> None:
        traces[int(event.data["amount"])] = current_trace_id()

    consumers(kit).subscribe("ledger", (INGESTION_EVENTS.name,), {"ingestion.webhook.received": note_trace})
    sent = {n: f"{random.getrandbits(128):032x}" for n in range(5)}
    producer = AIOKafkaProducer(bootstrap_servers=kit.settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for amount, trace_id in sent.items():
            traceparent = f"00-{trace_id}-{random.getrandbits(64):016x}-01"
            await producer.send_and_wait(
                kit.topic,
                envelope(amount=amount).to_bytes(),
                key=b"athlete-1",
                headers=[("traceparent", traceparent.encode())],
            )
    finally:
        await producer.stop()
    await kit.broker.start()

    async def all_handled() -> bool:
        return await processed_count(kit) == 5

    await eventually(all_handled)
    assert traces == sent
