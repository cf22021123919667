"""The lag of a service's consumer groups against the real Kafka: present at 0 before anything was
consumed, rising while records wait for a stopped consumer, back to 0 once they are consumed."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from relay_contracts.topics import INGESTION_EVENTS
from relay_platform.config import ServiceSettings
from relay_platform.consumers import Consumers, Delivery
from relay_platform.db import create_engine, create_sessionmaker
from relay_platform.lag import ConsumerLag
from relay_platform.messaging import create_broker, delete_topics, ensure_topics
from relay_platform.metrics import PlatformMetrics
from relay_testing.plugin import Infrastructure

pytestmark = pytest.mark.integration


@dataclass
class Consumer:
    """One replica of a service consuming `topic` with the group `group`, its lag measured into `metrics`."""

    broker: KafkaBroker
    consumers: Consumers
    metrics: PlatformMetrics
    received: list[Delivery]

    @property
    def group(self) -> str:
        [group] = self.consumers.groups
        return group


@dataclass
class Kit:
    settings: ServiceSettings
    engine: AsyncEngine

    @property
    def topic(self) -> str:
        return self.settings.topic(INGESTION_EVENTS.name)

    def consumer(self) -> Consumer:
        registry = CollectorRegistry()
        metrics = PlatformMetrics(registry)
        broker = create_broker("planning", self.settings, TracerProvider(), registry)
        consumers = Consumers(
            service="planning",
            settings=self.settings,
            broker=broker,
            sessionmaker=create_sessionmaker(self.engine),
            metrics=metrics,
        )
        received: list[Delivery] = []

        async def take(deliveries: Sequence[Delivery], session: AsyncSession) -> None:
            received.extend(deliveries)

        consumers.subscribe_records("lag-probe", (INGESTION_EVENTS.name,), take)
        return Consumer(broker, consumers, metrics, received)

    def lag(self, consumer: Consumer) -> ConsumerLag:
        return ConsumerLag(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            groups=consumer.consumers.groups,
            gauge=consumer.metrics.consumer_lag,
            interval_seconds=0.2,
        )


@pytest.fixture
async def kit(fresh_database: str, infrastructure: Infrastructure, topic_prefix: str) -> AsyncIterator[Kit]:
    engine = create_engine(fresh_database)
    settings = ServiceSettings(
        database_url=fresh_database,
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
    )
    await ensure_topics(infrastructure.kafka_bootstrap, prefix=topic_prefix)
    yield Kit(settings, engine)
    await engine.dispose()
    await delete_topics(infrastructure.kafka_bootstrap, prefix=topic_prefix)


def lag_of(consumer: Consumer, topic: str) -> float | None:
    return consumer.metrics.registry.get_sample_value(
        "relay_kafka_consumer_lag", {"group": consumer.group, "topic": topic}
    )


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        outcome = check()
        if await outcome if isinstance(outcome, Awaitable) else outcome:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def produce(bootstrap: str, topic: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for index in range(count):
            # Keys spread the records over several partitions: the lag is their sum.
            await producer.send_and_wait(topic, b"{}", key=f"athlete-{index}".encode())
    finally:
        await producer.stop()


async def test_lag_is_zero_before_anything_is_consumed_grows_while_the_consumer_is_stopped_then_drains(
    kit: Kit,
) -> None:
    first = kit.consumer()
    async with kit.lag(first).running():
        await first.broker.start()
        await eventually(lambda: lag_of(first, kit.topic) == 0)

        await first.broker.stop()
        await produce(kit.settings.kafka_bootstrap_servers, kit.topic, 7)
        await eventually(lambda: lag_of(first, kit.topic) == 7)

    second = kit.consumer()
    assert second.group == first.group
    async with kit.lag(second).running():
        await eventually(lambda: lag_of(second, kit.topic) == 7)
        await second.broker.start()
        try:
            await eventually(lambda: len(second.received) == 7)
            await eventually(lambda: lag_of(second, kit.topic) == 0)
        finally:
            await second.broker.stop()


async def test_measuring_does_not_need_the_consumer_to_run_and_counts_an_uncommitted_group_from_the_start(
    kit: Kit,
) -> None:
    await produce(kit.settings.kafka_bootstrap_servers, kit.topic, 3)
    consumer = kit.consumer()

    lag = kit.lag(consumer)
    try:
        lags = await lag.measure()
    finally:
        await lag.close()

    assert lags == {(consumer.group, kit.topic): 3}
