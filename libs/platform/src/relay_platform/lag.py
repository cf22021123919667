"""How far each consumer group of a service is behind its topics (`relay_kafka_consumer_lag`).

For every consumer group the service subscribes with (`Consumers.groups`), and every topic it reads, the
lag is the sum over the topic's partitions of the end offset minus the offset the group committed; a
partition the group has committed nothing on counts from its beginning offset (the consumers start
from the earliest record). Every replica measures its own groups in the background, every
`consumer_lag_interval_seconds`, so the series exist from the start, at 0 while nothing waits; replicas
of one service report the same value, read it with `max by (service, group)`. Kafka out of reach is
logged and the last values are kept: measuring must never take the service down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import Gauge

from relay_platform.logging import get_logger

log = get_logger(__name__)

Lags = dict[tuple[str, str], int]
"""Lag by (group, topic)."""


class ConsumerLag:
    """Measures the lag of `groups` (group id -> the topics it reads) into `gauge` (labels group, topic)."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        groups: Mapping[str, Sequence[str]],
        gauge: Gauge,
        interval_seconds: float,
        client_id: str = "relay-consumer-lag",
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._groups = groups
        self._gauge = gauge
        self._interval = interval_seconds
        self._client_id = client_id
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None

    async def measure(self) -> Lags:
        """The lag of every (group, topic) now; raises when Kafka does not answer."""
        if not self._groups:
            return {}
        admin, offsets = await self._clients()
        topics = sorted({topic for read in self._groups.values() for topic in read})
        partitions = _partitions_of(await admin.describe_topics(topics))
        every = [tp for topic in topics for tp in partitions.get(topic, [])]
        ends = await offsets.end_offsets(every) if every else {}
        beginnings = await offsets.beginning_offsets(every) if every else {}
        lags: Lags = {}
        for group, read in self._groups.items():
            mine = [tp for topic in read for tp in partitions.get(topic, [])]
            committed = await admin.list_consumer_group_offsets(group, partitions=mine) if mine else {}
            for topic in read:
                lags[(group, topic)] = 0
            for tp in mine:
                start = beginnings.get(tp, 0)
                done = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else start
                lags[(group, tp.topic)] += max(0, ends.get(tp, 0) - max(done, start))
        return lags

    async def refresh(self) -> bool:
        """Measures and sets the gauge; on failure logs a warning, keeps the last values and returns
        False (the clients are opened again on the next try)."""
        try:
            async with asyncio.timeout(max(self._interval, 10.0)):
                lags = await self.measure()
        except Exception as error:  # Kafka unreachable, a coordinator moving: next time, then
            log.warning("consumer_lag_unavailable", error=repr(error))
            await self.close()
            return False
        for (group, topic), lag in lags.items():
            self._gauge.labels(group=group, topic=topic).set(lag)
        return True

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Refreshes the gauge every interval while the block runs."""

        async def loop() -> None:
            while True:
                await self.refresh()
                await asyncio.sleep(self._interval)

        task = asyncio.create_task(loop(), name="consumer-lag")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.close()

    async def close(self) -> None:
        admin, offsets = self._admin, self._offsets
        self._admin = self._offsets = None
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.close()
        if offsets is not None:
            with contextlib.suppress(Exception):
                await offsets.stop()

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self._bootstrap, client_id=self._client_id, request_timeout_ms=10_000
            )
            await admin.start()
            self._admin = admin
        if self._offsets is None:
            # Only reads offsets: no group, never subscribes, commits nothing.
            offsets = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                client_id=self._client_id,
                group_id=None,
                enable_auto_commit=False,
            )
            await offsets.start()
            self._offsets = offsets
        return self._admin, self._offsets


def _partitions_of(described: list[dict[str, object]]) -> dict[str, list[TopicPartition]]:
    found: dict[str, list[TopicPartition]] = {}
    for topic in described:
        name, partitions = topic["topic"], topic["partitions"]
        assert isinstance(name, str) and isinstance(partitions, list)
        found[name] = sorted(TopicPartition(name, p["partition"]) for p in partitions)
    return found
