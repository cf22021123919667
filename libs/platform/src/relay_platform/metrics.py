"""Prometheus metrics every service exports on `/metrics`."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class PlatformMetrics:
    """The metrics the kit itself records; services add their own to the same registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.http_requests = Counter(
            "relay_http_requests_total",
            "HTTP requests handled.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "relay_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.outbox_published = Counter(
            "relay_outbox_published_total",
            "Events relayed from the outbox to Kafka.",
            ["topic"],
            registry=registry,
        )
        self.outbox_backlog = Gauge(
            "relay_outbox_backlog", "Events written to the outbox and not yet on Kafka.", registry=registry
        )
        self.outbox_oldest_age = Gauge(
            "relay_outbox_oldest_pending_seconds", "Age of the oldest unrelayed event.", registry=registry
        )
        self.consumed = Counter(
            "relay_messages_consumed_total",
            "Messages handled by an idempotent consumer, by outcome (processed, duplicate, skipped, "
            "dead_lettered, retried).",
            ["consumer", "outcome"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "relay_rate_limited_total",
            "Requests refused with 429 by the shared rate limiter, by limit class.",
            ["limit"],
            registry=registry,
        )
        self.rate_limiter_unavailable = Counter(
            "relay_rate_limiter_unavailable_total",
            "Requests let through unlimited because Redis did not answer.",
            registry=registry,
        )
        self.dead_letters = Counter(
            "relay_dead_letters_total",
            "Messages sent to the dead-letter topic.",
            ["consumer"],
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "relay_kafka_consumer_lag",
            "Records of a topic not yet committed by a consumer group of this service (sum over the "
            "topic's partitions of end offset minus committed offset).",
            ["group", "topic"],
            registry=registry,
        )
        self.jobs = JobMetrics(registry)


class JobMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        # `job_id`, not `job`: Prometheus's own target label `job` would rename it `exported_job`.
        self.runs = Counter(
            "relay_job_runs_total",
            "Runs of scheduled jobs (job_id <service>.<worker>) and loops (job_id: the loop's name), by "
            "outcome.",
            ["job_id", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "relay_job_duration_seconds",
            "Time a run of a scheduled job or loop took.",
            ["job_id"],
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
            registry=registry,
        )
