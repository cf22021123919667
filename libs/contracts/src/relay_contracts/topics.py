"""The topic manifest: every Kafka topic Relay uses, created from here everywhere
(local scripts, docker-compose, Kubernetes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    description: str
    key: str
    partitions: int = 6
    replication_factor: int = 3
    min_insync_replicas: int = 2
    cleanup_policy: Literal["delete", "compact"] = "delete"
    retention_ms: int = 14 * DAY_MS
    producers: tuple[str, ...] = field(default_factory=tuple)

    def configs(self, replication_factor: int) -> dict[str, str]:
        """Topic configs for a cluster where the topic gets `replication_factor` replicas."""
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            "min.insync.replicas": str(min(self.min_insync_replicas, replication_factor)),
        }


def _events_topic(service: str, description: str) -> TopicSpec:
    return TopicSpec(
        name=f"relay.{service}.events",
        description=description,
        key="the athlete (or, before an athlete is known, the provider account) the event is about",
        producers=(service,),
    )


IDENTITY_EVENTS = _events_topic("identity", "Athletes, profiles, API keys and admin accounts.")
CONNECTIONS_EVENTS = _events_topic("connections", "Links to providers: linked, refreshed, revoked, syncs.")
INGESTION_EVENTS = _events_topic("ingestion", "Provider notifications and the normalized activity history.")
PLANNING_EVENTS = _events_topic(
    "planning", "Programs and sessions: generated, scheduled, completed, changed."
)
EXPORT_EVENTS = _events_topic("export", "Workouts exported to devices and their verification.")
AUDIT_EVENTS = _events_topic("audit", "Scheduled jobs and operator actions recorded by the audit service.")
DEAD_LETTERS = TopicSpec(
    name="relay.deadletter",
    description=(
        "Messages a consumer could not process after its retries, unchanged, with headers naming the "
        "consumer, the reason and where the message came from."
    ),
    key="the original message's key",
    retention_ms=30 * DAY_MS,
    producers=("identity", "connections", "ingestion", "planning", "export", "audit"),
)

TOPICS: tuple[TopicSpec, ...] = (
    IDENTITY_EVENTS,
    CONNECTIONS_EVENTS,
    INGESTION_EVENTS,
    PLANNING_EVENTS,
    EXPORT_EVENTS,
    AUDIT_EVENTS,
    DEAD_LETTERS,
)
DOMAIN_TOPICS: tuple[TopicSpec, ...] = tuple(t for t in TOPICS if t.name.endswith(".events"))


def topic_for_service(service: str) -> TopicSpec:
    for topic in DOMAIN_TOPICS:
        if topic.producers == (service,):
            return topic
    raise KeyError(f"no events topic for service {service!r}")
