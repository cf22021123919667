"""The Kafka broker every service uses (FastStream on aiokafka), and topic creation from the manifest."""

from __future__ import annotations

import argparse
import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from relay_contracts import TOPICS, TopicSpec
from relay_platform.config import ServiceSettings


def create_broker(
    service: str, settings: ServiceSettings, tracer_provider: TracerProvider, registry: CollectorRegistry
) -> KafkaBroker:
    """acks=all with an idempotent producer: an event is on every in-sync replica, once, before the
    outbox marks it sent."""
    return KafkaBroker(
        broker_addresses(settings.kafka_bootstrap_servers),
        client_id=f"relay-{service}",
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        graceful_timeout=settings.shutdown_grace_seconds,
        middlewares=[
            KafkaTelemetryMiddleware(tracer_provider=tracer_provider),
            KafkaPrometheusMiddleware(registry=registry, app_name=service, metrics_prefix="relay_kafka"),
        ],
        logger=logging.getLogger(f"relay.{service}.kafka"),
        log_level=logging.DEBUG,
    )


def broker_addresses(setting: str) -> list[str]:
    """`host:port[,host:port...]`, as the setting lists the brokers, one address each: FastStream would
    take the whole string for one address, and a service could not start on a list of brokers."""
    return [address.strip() for address in setting.split(",") if address.strip()]


async def ensure_topics(
    bootstrap_servers: str,
    *,
    prefix: str = "",
    topics: tuple[TopicSpec, ...] = TOPICS,
    max_replication_factor: int | None = None,
) -> list[str]:
    """Creates the manifest's topics that do not exist yet; returns the names it created. The
    replication factor is capped by the number of brokers (one locally, three in production)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="relay-topics")
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        brokers = len(cluster["brokers"])
        cap = min(brokers, max_replication_factor or brokers)
        existing = set(await admin.list_topics())
        missing = [t for t in topics if f"{prefix}{t.name}" not in existing]
        created = []
        for topic in missing:
            replicas = min(topic.replication_factor, cap)
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            f"{prefix}{topic.name}",
                            num_partitions=topic.partitions,
                            replication_factor=replicas,
                            topic_configs=topic.configs(replicas),
                        )
                    ]
                )
                created.append(f"{prefix}{topic.name}")
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        await admin.close()


async def delete_topics(
    bootstrap_servers: str, *, prefix: str, topics: tuple[TopicSpec, ...] = TOPICS
) -> None:
    if not prefix:
        raise ValueError("refusing to delete unprefixed (shared) topics")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="relay-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        names = [f"{prefix}{t.name}" for t in topics if f"{prefix}{t.name}" in existing]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Create Relay's Kafka topics from the manifest.")
    parser.add_argument("command", choices=["ensure", "list"])
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:19092")
    parser.add_argument("--prefix", default="")
    args = parser.parse_args()
    if args.command == "list":
        for topic in TOPICS:
            name = f"{args.prefix}{topic.name}"
            print(f"{name}\t{topic.partitions} partitions\t{topic.cleanup_policy}\t{topic.key}")
        return
    created = asyncio.run(ensure_topics(args.bootstrap_servers, prefix=args.prefix))
    print(
        f"topics: {len(TOPICS)} in the manifest, {len(created)} created"
        + (f" ({', '.join(created)})" if created else "")
    )


if __name__ == "__main__":
    main()
