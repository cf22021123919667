"""The one consumer of identity's events: which events it applies, on FastStream's in-memory broker."""

from types import SimpleNamespace
from typing import Any, cast

from faststream.kafka import KafkaBroker, TestKafkaBroker
from prometheus_client import CollectorRegistry

from export.config import Settings
from export.handlers import IDENTITY_EVENT_HANDLERS, subscribe
from relay_contracts import Envelope
from relay_contracts.topics import IDENTITY_EVENTS
from relay_platform.consumers import Consumers
from relay_platform.metrics import PlatformMetrics
from relay_platform.service import Runtime


class NoDatabase:
    """A sessionmaker that fails the test if the consumer opens a transaction."""

    def __call__(self) -> Any:
        raise AssertionError("the database must not be touched")


def test_profiles_and_deletions_are_what_export_needs_from_identity() -> None:
    assert set(IDENTITY_EVENT_HANDLERS) == {"identity.profile.updated", "identity.user.deleted"}


async def test_other_identity_events_are_skipped_by_the_one_identity_events_consumer() -> None:
    settings = Settings(database_url="postgresql+asyncpg://u:p@h/d", connections_token="unused")
    broker = KafkaBroker()
    metrics = PlatformMetrics(CollectorRegistry())
    consumers = Consumers(
        service="export",
        settings=settings,
        broker=broker,
        sessionmaker=NoDatabase(),  # type: ignore[arg-type]
        metrics=metrics,
    )
    subscribe(cast(Runtime, SimpleNamespace(consumers=consumers, settings=settings)))

    async with TestKafkaBroker(broker) as test_broker:
        for event_type in ("identity.api_key.created", "identity.session.revoked"):
            event = Envelope(type=event_type, producer="identity", subject="user-1")
            await test_broker.publish(event.to_bytes(), topic=IDENTITY_EVENTS.name)

    skipped = metrics.consumed.labels(consumer="export.identity-events", outcome="skipped")
    assert skipped._value.get() == 2
