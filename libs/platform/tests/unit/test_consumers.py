"""Routing decisions of the idempotent consumer that need no database, on FastStream's in-memory broker."""

from typing import Any

import asyncpg
import pytest
from faststream.kafka import KafkaBroker, KafkaMessage, TestKafkaBroker
from prometheus_client import CollectorRegistry
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi

from relay_contracts import DEAD_LETTERS, Envelope
from relay_platform.config import ServiceSettings
from relay_platform.consumers import Consumers, is_transient
from relay_platform.metrics import PlatformMetrics


class NoDatabase:
    """A sessionmaker that fails the test if the consumer opens a transaction."""

    def __call__(self) -> Any:
        raise AssertionError("the database must not be touched")


@pytest.fixture
def setup() -> tuple[KafkaBroker, Consumers, PlatformMetrics]:
    settings = ServiceSettings(database_url="postgresql+asyncpg://u:p@h/d")
    broker = KafkaBroker()
    metrics = PlatformMetrics(CollectorRegistry())
    consumers = Consumers(
        service="audit",
        settings=settings,
        broker=broker,
        sessionmaker=NoDatabase(),  # type: ignore[arg-type]
        metrics=metrics,
    )

    async def never_called(*_: Any) -> None:
        raise AssertionError("no handler applies")

    consumers.subscribe("trail", ("relay.identity.events",), {"identity.user.registered": never_called})
    return broker, consumers, metrics


async def test_a_message_that_is_not_an_envelope_goes_to_the_dead_letter_topic(
    setup: tuple[KafkaBroker, Consumers, PlatformMetrics],
) -> None:
    broker, _, metrics = setup
    dead: list[dict[str, str]] = []

    @broker.subscriber(DEAD_LETTERS.name)
    async def capture(body: Any, message: KafkaMessage) -> None:
        dead.append(message.headers)

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(b"not json at all", topic="relay.identity.events")

    assert len(dead) == 1
    assert dead[0]["dlq_consumer"] == "audit.trail"
    assert dead[0]["dlq_reason"].startswith("invalid envelope")
    assert metrics.dead_letters.labels(consumer="audit.trail")._value.get() == 1


async def test_an_event_type_without_a_handler_is_skipped_without_a_transaction(
    setup: tuple[KafkaBroker, Consumers, PlatformMetrics],
) -> None:
    broker, _, metrics = setup
    event = Envelope(type="identity.profile.updated", producer="identity", subject="u1")
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(event.to_bytes(), topic="relay.identity.events")
    assert metrics.consumed.labels(consumer="audit.trail", outcome="skipped")._value.get() == 1


async def test_an_event_announced_in_its_header_as_another_consumers_is_skipped_unread(
    setup: tuple[KafkaBroker, Consumers, PlatformMetrics],
) -> None:
    broker, _, metrics = setup
    async with TestKafkaBroker(broker) as test_broker:
        # Not even decoded: a body only the consumers of that type read is theirs to judge.
        await test_broker.publish(
            b"{truncated", topic="relay.identity.events", headers={"event_type": "identity.profile.updated"}
        )
    assert metrics.consumed.labels(consumer="audit.trail", outcome="skipped")._value.get() == 1
    assert metrics.dead_letters.labels(consumer="audit.trail")._value.get() == 0


def _as_sqlalchemy_raises(driver_error: Exception) -> sa_exc.DBAPIError:
    """`driver_error` as it reaches a handler: translated by SQLAlchemy's asyncpg adapter, then wrapped."""
    dbapi = AsyncAdapt_asyncpg_dbapi(asyncpg)
    translated_type = next(
        dbapi._asyncpg_error_translate[kind]
        for kind in type(driver_error).__mro__
        if kind in dbapi._asyncpg_error_translate
    )
    try:
        raise translated_type(str(driver_error), driver_error) from driver_error
    except Exception as translated:
        return sa_exc.DBAPIError.instance("SELECT 1", None, translated, translated_type)


@pytest.mark.parametrize(
    "driver_error",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    ],
)
def test_a_database_restarting_is_an_outage_not_the_messages_fault(driver_error: Exception) -> None:
    assert is_transient(_as_sqlalchemy_raises(driver_error))


def test_a_constraint_the_message_breaks_is_its_own_fault() -> None:
    error = _as_sqlalchemy_raises(asyncpg.UniqueViolationError("duplicate key value"))
    assert isinstance(error, sa_exc.IntegrityError)
    assert not is_transient(error)
