"""Faults under a steady load: Strava webhooks (35 a second, some delivered twice) and athletes
creating API keys and reading them back, all through the gateway, while a service is killed with
SIGKILL, the Kafka broker is killed and started again, one broker of a three-node KRaft cluster
(replication 3, at least 2 in sync) is killed, or PostgreSQL is stopped at once and started again.

After each fault, the counts in every service's database prove that every acknowledged notification
was stored once by ingestion, counted once by connections and audited once, that every acknowledged
API key is kept, listed, known to ingestion and audited once, that no event is left in an outbox, that
nothing was dead-lettered, and that the gateway's /healthz is green again: the system recovered by
itself. Refused requests (the gateway's 502 while ingestion is down, a 5xx while PostgreSQL is) are
answered in the error envelope and delivered again afterwards, as Strava does.

The stack runs on a PostgreSQL and a Kafka of its own (`FaultStack`), so the faults never reach the
infrastructure other tests share."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import httpx
import pytest

from relay_contracts import TOPICS
from relay_devstack import SERVICES
from relay_testing.local_kafka import LocalKafka

from .conftest import port_base
from .faults import (
    Athlete,
    FaultStack,
    SteadyLoad,
    assert_nothing_lost_or_applied_twice,
    busiest_broker,
    pending_outbox,
    settle,
    topic_layout,
)
from .test_identity import sign_in

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
async def faults() -> AsyncIterator[FaultStack]:
    stack = await FaultStack.start(port_base() + 1000)
    try:
        yield stack
    finally:
        stack.close()


@pytest.fixture(scope="module")
async def athletes(faults: FaultStack) -> list[Athlete]:
    signed_in = []
    async with httpx.AsyncClient(base_url=faults.gateway_url, timeout=10.0) as gateway:
        for _ in range(4):
            body = await sign_in(gateway, faults.stack, random.randint(10**7, 10**8))
            signed_in.append(Athlete(body["user"]["id"], body["token"]))
    return signed_in


@pytest.fixture(scope="module")
async def cluster(faults: FaultStack) -> LocalKafka:
    """Three Kafka nodes, each broker and controller, and the stack's services moved onto them: the
    last test of the module uses it, the others the single broker."""
    base = faults.base
    nodes = LocalKafka(
        faults.directory / "cluster", [(base + 43, base + 44), (base + 45, base + 46), (base + 47, base + 48)]
    )
    nodes.start()
    try:
        await nodes.wait_ready()
        await faults.move_to(nodes)
    except BaseException:
        nodes.close()
        raise
    return nodes


async def test_killing_each_service_in_turn_loses_no_acknowledged_webhook_or_write(
    faults: FaultStack, athletes: list[Athlete]
) -> None:
    load = SteadyLoad(faults, athletes)
    try:
        async with load:
            await load.run_for(2.0)
            for service in SERVICES:
                await asyncio.to_thread(faults.stack.kill, service)
                await load.run_for(1.0)
                faults.stack.start(service)  # as a supervisor restarts what died
                await load.run_for(2.0)
            await faults.stack.wait_ready(timeout=180)
            await load.run_for(2.0)
        tally = await settle(faults, load)
    finally:
        await load.close()
    print(f"\nkill -9 of each service: {load.ledger.summary()}\n{tally.summary()}")

    assert load.ledger.refusals[502] > 0, "webhooks were refused while ingestion was down"
    assert all(status >= 500 for status in load.ledger.refusals | load.ledger.write_refusals)
    assert_nothing_lost_or_applied_twice(load, tally)


async def test_restarting_the_kafka_broker_under_load_loses_nothing_and_the_outbox_catches_up(
    faults: FaultStack, athletes: list[Athlete]
) -> None:
    processes = faults.pids()
    load = SteadyLoad(faults, athletes)
    try:
        async with load:
            await load.run_for(3.0)
            await asyncio.to_thread(faults.kafka.kill, 1)
            await load.run_for(5.0)
            held = await pending_outbox(faults)
            faults.kafka.start_node(1)
            await faults.kafka.wait_ready()
            await load.run_for(4.0)
        tally = await settle(faults, load)
    finally:
        await load.close()
    print(f"\nKafka restart: {load.ledger.summary()}; held in the outboxes {held}\n{tally.summary()}")

    assert held["ingestion"] > 0 and held["identity"] > 0, "the outbox kept what Kafka could not take"
    assert load.ledger.refusals == load.ledger.write_refusals == {}, "nothing was refused meanwhile"
    assert faults.pids() == processes and all(faults.service_alive(s) for s in SERVICES)
    assert_nothing_lost_or_applied_twice(load, tally)


async def test_restarting_postgresql_under_load_refuses_cleanly_and_the_services_recover_by_themselves(
    faults: FaultStack, athletes: list[Athlete]
) -> None:
    processes = faults.pids()
    load = SteadyLoad(faults, athletes)
    try:
        async with load:
            await load.run_for(3.0)
            await asyncio.to_thread(faults.postgres.stop, "immediate")
            await load.run_for(3.0)
            await asyncio.to_thread(faults.postgres.start)
            await load.run_for(5.0)
        tally = await settle(faults, load)
    finally:
        await load.close()
    print(f"\nPostgreSQL restart: {load.ledger.summary()}\n{tally.summary()}")

    assert sum(load.ledger.refusals.values()) > 0, "webhooks were refused while PostgreSQL was down"
    assert all(status >= 500 for status in load.ledger.refusals | load.ledger.write_refusals)
    assert faults.pids() == processes and all(faults.service_alive(s) for s in SERVICES)
    assert_nothing_lost_or_applied_twice(load, tally)


async def test_losing_one_of_three_brokers_under_load_stops_neither_producing_nor_consuming(
    faults: FaultStack, cluster: LocalKafka, athletes: list[Athlete]
) -> None:
    topics = [f"{faults.stack.config.topic_prefix}{topic.name}" for topic in TOPICS]
    layout = await topic_layout(cluster.bootstrap, topics)
    victim = await busiest_broker(cluster.bootstrap, topics)
    processes = faults.pids()
    load = SteadyLoad(faults, athletes)
    try:
        async with load:
            await load.run_for(3.0)
            await asyncio.to_thread(cluster.kill, victim)
            await load.run_for(10.0)
        tally = await settle(faults, load)
    finally:
        await load.close()
    print(f"\nbroker {victim} of 3 killed: {load.ledger.summary()}\n{tally.summary()}")

    assert set(layout.values()) == {(3, "2")}, "every topic has 3 replicas, 2 of them in sync at least"
    assert not cluster.node(victim).alive(), "everything was applied with one broker still down"
    assert load.ledger.refusals == load.ledger.write_refusals == {}
    assert faults.pids() == processes and all(faults.service_alive(s) for s in SERVICES)
    assert_nothing_lost_or_applied_twice(load, tally)
