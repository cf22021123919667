"""Measuring consumer lag never takes a service down: Kafka out of reach keeps the last values."""

import structlog
from prometheus_client import CollectorRegistry

from relay_platform.lag import ConsumerLag
from relay_platform.metrics import PlatformMetrics


async def test_kafka_out_of_reach_is_logged_and_the_last_values_are_kept() -> None:
    metrics = PlatformMetrics(CollectorRegistry())
    metrics.consumer_lag.labels(group="relay.planning.events", topic="relay.identity.events").set(12)
    lag = ConsumerLag(
        bootstrap_servers="127.0.0.1:9",  # discard: nothing listens
        groups={"relay.planning.events": ("relay.identity.events",)},
        gauge=metrics.consumer_lag,
        interval_seconds=0.1,
    )

    with structlog.testing.capture_logs() as logs:
        refreshed = await lag.refresh()

    assert refreshed is False
    assert [entry["event"] for entry in logs] == ["consumer_lag_unavailable"]
    assert (
        metrics.registry.get_sample_value(
            "relay_kafka_consumer_lag", {"group": "relay.planning.events", "topic": "relay.identity.events"}
        )
        == 12
    )


async def test_a_service_without_consumer_groups_measures_nothing() -> None:
    metrics = PlatformMetrics(CollectorRegistry())
    lag = ConsumerLag(
        bootstrap_servers="127.0.0.1:9", groups={}, gauge=metrics.consumer_lag, interval_seconds=0.1
    )

    assert await lag.refresh() is True
    assert [family.samples for family in metrics.consumer_lag.collect()] == [[]]
