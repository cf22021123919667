"""The audit trail's figures, on the local Kafka and PostgreSQL:

- ingestion: N events (100,000 by default) of the domain topics, about 5,000 athletes, are first put on
  fresh topics as the outbox relay sends them (keyed by subject, with its headers); then the audit
  service is started as operators run it (`python -m audit`, its jobs off) on a fresh, migrated
  database, and its "trail" consumer appends them, a poll (up to 500 records,
  `AUDIT_CONSUMER_MAX_POLL_RECORDS`) per transaction. The rate is counted from the first entry
  committed to the last one (`SELECT count(*)` every 100 ms); the process's start and the consumer
  group's join until then are reported apart. Then the whole chain (the events sent and the service's
  own `audit.jobs.declared`) is verified (`audit.service.verify_chain`), timed.
- query: a fresh, migrated database is filled in SQL with a million entries (30 event types of the six
  services, mostly about athletes, 60% caused by Relay itself, 37% by athletes, 3% by operators, over
  one year, appended in time order). Their digests are md5-based placeholders: the chain is not what
  is measured there. After VACUUM ANALYZE, `audit.repository.search_entries` (what
  `GET /api/admin/audit-logs` runs: the count and a page of 50, newest first) is timed through a
  session of the service's own engine settings, in turn with four filters: an event type over 7 days,
  an entity type, operators' entries since up to 90 days, none at all."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from audit import repository, service
from relay_contracts import Envelope, topic_for_service
from relay_contracts.catalog import EVENTS
from relay_devstack import Stack, StackConfig
from relay_platform.db import create_engine, create_sessionmaker
from relay_platform.messaging import delete_topics, ensure_topics

EVENT_COUNT = int(os.environ.get("RELAY_BENCH_AUDIT_EVENTS", 100_000))
ATHLETES = int(os.environ.get("RELAY_BENCH_AUDIT_ATHLETES", 5_000))
ENTRIES = int(os.environ.get("RELAY_BENCH_AUDIT_ENTRIES", 1_000_000))
QUERIES = int(os.environ.get("RELAY_BENCH_AUDIT_QUERIES", 300))
WARMUP = 20
PAGE = 50
PORT = 8596
ROOT = Path(__file__).resolve().parents[2]
# From the most frequent to the rarest (the query database draws them with a skew).
TYPES = (
    "ingestion.activity.upserted", "ingestion.webhook.received", "planning.session.completed",
    "ingestion.sync.progressed", "export.workout.verified", "planning.session.scheduled",
    "export.workout.exported", "connections.sync.requested", "ingestion.sync.started",
    "ingestion.sync.completed", "planning.session.changed", "identity.profile.updated",
    "connections.access_token.issued", "planning.session.skipped", "identity.user.updated",
    "ingestion.activity.merged", "connections.connection.updated", "ingestion.job.finished",
    "planning.program.recalculated", "ingestion.activity.deleted", "identity.session.revoked",
    "audit.admin.data_accessed", "connections.connection.linked", "planning.program.generated",
    "identity.user.registered", "export.workout.failed", "connections.connection.reauth_required",
    "identity.admin.logged_in", "audit.dead_letter.replayed", "identity.user.deleted",
)  # fmt: skip
SPECS = {spec.type: spec for spec in EVENTS}


def _data(kind: str, user: str, n: int, at: str) -> tuple[str, dict[str, Any]]:
    """The subject and data of a realistic event of `kind` (checked against the catalog below)."""
    athlete, system = {"type": "athlete", "id": user}, {"type": "system"}
    session = {"session_id": f"sess_{n}", "program_id": f"prog_{user}", "user_id": user}
    sync = {"sync_id": f"sync_{n}", "connection_id": f"conn_{user}", "user_id": user, "provider": "garmin"}
    export = {"export_id": f"exp_{n}", "session_id": f"sess_{n}", "user_id": user, "provider": "garmin"}
    data: dict[str, dict[str, Any]] = {
        "ingestion.activity.upserted": {
            "activity_id": f"act_{n}", "user_id": user, "provider": "strava", "external_id": str(n),
            "created": True, "revision": 1, "sport": "run", "sport_type": "Run", "name": "Morning Run",
            "start_time": at, "elapsed_time_s": 3720, "moving_time_s": 3600, "distance_m": 11250.0,
            "average_heartrate": 148.0, "timezone": "Europe/Paris",
        },
        "ingestion.webhook.received": {
            "provider": "strava", "webhook_id": f"wh_{n}", "object_type": "activity", "object_id": str(n),
            "aspect_type": "create", "owner_id": user.removeprefix("usr_"), "event_time": at,
        },
        "ingestion.sync.progressed": {**sync, "activities_fetched": n % 200, "percent": 40.0, "at": at},
        "planning.session.completed": {
            **session, "scheduled_date": at[:10], "completed_at": at, "actual_duration_minutes": 62,
            "activity_id": f"act_{n}", "actor": system,
        },
        "planning.session.skipped": {
            **session, "scheduled_date": at[:10], "reason": "schedule", "actor": athlete,
        },
        "connections.sync.requested": {
            **sync, "provider_user_id": str(n), "requested_at": at, "actor": athlete,
        },
        "identity.profile.updated": {
            "user_id": user, "weight_kg": 71.5, "ftp_watts": 245, "timezone": "Europe/Paris",
            "updated_at": at, "actor": athlete,
        },
        "export.workout.verified": {
            **export, "provider_workout_id": str(n), "verified_at": at, "actor": system,
        },
        "audit.admin.data_accessed": {
            "admin_id": "adm_support_1", "role": "support", "method": "GET", "path": "/api/admin/audit-logs",
            "query": {"entity_type": "activity"}, "records": 50, "accessed_at": at,
            "actor": {"type": "admin", "id": "adm_support_1"},
        },
    }  # fmt: skip
    subject = {"ingestion.webhook.received": f"strava:{user.removeprefix('usr_')}"}.get(kind, user)
    return ("adm_support_1" if kind.startswith("audit.") else subject), data[kind]


KINDS = {  # the mix of the ingestion run, by weight
    "ingestion.activity.upserted": 40, "ingestion.webhook.received": 15, "planning.session.completed": 12,
    "ingestion.sync.progressed": 8, "export.workout.verified": 8, "connections.sync.requested": 6,
    "identity.profile.updated": 5, "planning.session.skipped": 4, "audit.admin.data_accessed": 2,
}  # fmt: skip
for _kind in KINDS:  # the benchmark's events are valid events of the catalogue
    SPECS[_kind].data.model_validate(_data(_kind, "usr_1", 1, "2027-03-01T06:00:00+00:00")[1])


def _envelopes(count: int) -> list[Envelope]:
    draw = random.Random(7)
    kinds = draw.choices(list(KINDS), weights=list(KINDS.values()), k=count)
    start = datetime.now(UTC) - timedelta(hours=1)
    envelopes = []
    for n, kind in enumerate(kinds):
        at = start + timedelta(milliseconds=30 * n)
        subject, data = _data(kind, f"usr_{draw.randrange(ATHLETES)}", n, at.isoformat())
        traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
        envelopes.append(
            Envelope(
                type=kind,
                producer=kind.split(".")[0],
                subject=subject,
                occurred_at=at,
                traceparent=traceparent,
                data=data,
            )
        )
    return envelopes


async def _produce(bootstrap: str, prefix: str, envelopes: list[Envelope]) -> None:
    """As `relay_platform.outbox` sends them: the envelope's JSON, keyed by subject, with its headers."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=262144)
    await producer.start()
    try:
        sent: list[asyncio.Future[Any]] = []
        for envelope in envelopes:
            headers = {"content-type": "application/json", "event_type": envelope.type,
                       "event_version": str(envelope.version), "producer": envelope.producer,
                       "traceparent": envelope.traceparent or ""}  # fmt: skip
            sent.append(
                await producer.send(
                    f"{prefix}{topic_for_service(envelope.producer).name}",
                    json.dumps(envelope.model_dump(mode="json"), separators=(",", ":")).encode(),
                    key=envelope.subject.encode(),
                    headers=[(name, value.encode()) for name, value in headers.items()],
                )
            )
            if len(sent) >= 5000:
                await asyncio.gather(*sent)
                sent.clear()
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _admin(*statements: str) -> None:
    admin = await asyncpg.connect(StackConfig().admin_dsn)
    try:
        for statement in statements:
            await admin.execute(statement)
    finally:
        await admin.close()


async def _database(config: StackConfig) -> str:
    """A fresh database of the audit service, migrated; returns its URL."""
    name = config.database("audit")
    await _admin(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}" OWNER relay_audit'
    )
    url = config.database_url("audit")
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "alembic", "-c", str(ROOT / "services/audit/alembic.ini"), "upgrade", "head"],
        env={**os.environ, "AUDIT_DATABASE_URL": url},
        check=True,
        capture_output=True,
    )
    return url


async def _drop(config: StackConfig) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{config.database("audit")}" WITH (FORCE)')


async def _ingestion() -> dict[str, Any]:
    config = StackConfig(
        home=Path(tempfile.mkdtemp(prefix="relay-bench-audit-")),
        service_ports={**StackConfig().service_ports, "audit": PORT},
        database_suffix="_bench_ingest",
        topic_prefix=f"bench-{uuid.uuid4().hex[:8]}.",
        extra_env={"AUDIT_JOBS_ENABLED": "false", "AUDIT_LOG_LEVEL": "WARNING"},
    )
    stack = Stack(config)
    url = await _database(config)
    await ensure_topics(config.kafka_bootstrap, prefix=config.topic_prefix)
    try:
        await _produce(config.kafka_bootstrap, config.topic_prefix, _envelopes(EVENT_COUNT))
        connection = await asyncpg.connect(url.replace("+asyncpg", ""))
        # The service's own `audit.jobs.declared` at its start is recorded too: not one of ours.
        counting = "SELECT count(*) FROM audit_entries WHERE event_type <> 'audit.jobs.declared'"
        began, first, counted = time.monotonic(), None, 0
        stack.start("audit")
        try:
            while counted < EVENT_COUNT:
                await asyncio.sleep(0.1)
                process = stack.processes["audit"]
                if process.poll() is not None or time.monotonic() - began > 900:
                    log = (stack.logs / "audit_bench_ingest.log").read_text()[-3000:]
                    raise RuntimeError(f"audit recorded {counted}/{EVENT_COUNT} events:\n{log}")
                counted = await connection.fetchval(counting)
                if first is None and counted:
                    first = (time.monotonic(), counted)
            done = time.monotonic()
        finally:
            stack.stop("audit")
            await connection.close()
        assert first is not None
        engine = create_engine(url, pool_size=1)
        checked = time.monotonic()
        async with create_sessionmaker(engine)() as session:
            verification = await service.verify_chain(session)
        verify_s = time.monotonic() - checked
        await engine.dispose()
        if not verification.intact:
            raise RuntimeError(f"the chain does not verify: {verification.summary()}")
    finally:
        await delete_topics(config.kafka_bootstrap, prefix=config.topic_prefix)
        await _drop(config)
        shutil.rmtree(config.home, ignore_errors=True)
    return {
        "audit_ingest_events": EVENT_COUNT,
        "audit_ingest_events_per_s": round((EVENT_COUNT - first[1]) / (done - first[0])),
        "audit_ingest_s": round(done - first[0], 1),
        "audit_ingest_startup_s": round(first[0] - began, 1),
        "audit_chain_verified_entries": verification.entries,
        "audit_chain_verify_s": round(verify_s, 1),
    }


FILL = """
WITH drawn AS MATERIALIZED (
    SELECT g, ($1::text[])[1 + floor(power(random(), 2.5) * array_length($1::text[], 1))::int] AS type,
           'usr_' || (g::bigint * 7919 % 20000) AS subject, random() AS r,
           now() - interval '365 days' + g * (interval '365 days' / $2)
               + random() * interval '5 seconds' AS at
    FROM generate_series(1, $2) AS g
), entries AS (
    SELECT *, CASE WHEN r < 0.6 THEN 'system' WHEN r < 0.97 THEN 'athlete' ELSE 'admin' END AS actor
    FROM drawn
)
INSERT INTO audit_entries (event_id, event_type, event_version, entity_type, entity_id, subject,
    actor_type, actor_id, producer, trigger_worker, worker_status, trace_id, payload_digest,
    occurred_at, recorded_at, content_hash, chain_hash)
SELECT gen_random_uuid(), type, 1, split_part(type, '.', 2), split_part(type, '.', 2) || '_' || g, subject,
    actor, CASE actor WHEN 'athlete' THEN subject WHEN 'admin' THEN 'adm_' || g % 7 END,
    split_part(type, '.', 1), CASE WHEN type LIKE '%.job.%' THEN 'sync-connections' END,
    CASE WHEN type LIKE '%.job.%' THEN 'completed' END, md5(g || 't'), md5(g || 'p') || md5(g || 'q'),
    at, at + interval '40 ms', md5(g || 'c') || md5(g || 'd'), md5(g || 'h') || md5(g || 'i')
FROM entries ORDER BY g
"""


def _filters(draw: random.Random, now: datetime) -> dict[str, Callable[[], repository.EntryFilters]]:
    def week() -> repository.EntryFilters:
        since = now - timedelta(days=draw.uniform(7, 365))
        return repository.EntryFilters(
            event_type=draw.choice(TYPES), since=since, until=since + timedelta(days=7)
        )

    return {
        "type_week": week,
        "entity": lambda: repository.EntryFilters(entity_type=draw.choice(TYPES).split(".")[1]),
        "admin_since": lambda: repository.EntryFilters(
            actor_type="admin", since=now - timedelta(days=draw.uniform(1, 90))
        ),
        "all": lambda: repository.EntryFilters(),
    }


def _p(latencies: list[float], quantile: float) -> float:
    ordered = sorted(latencies)
    return round(ordered[max(int(len(ordered) * quantile) - 1, 0)], 1)


async def _query() -> dict[str, Any]:
    config = StackConfig(database_suffix="_bench_query")
    url = await _database(config)
    try:
        connection = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            began = time.monotonic()
            await connection.execute(FILL, list(TYPES), ENTRIES, timeout=1800)
            await connection.execute("VACUUM ANALYZE audit_entries")
            fill_s = time.monotonic() - began
        finally:
            await connection.close()
        engine = create_engine(url)  # the service's own settings (pool, pre-ping)
        sessionmaker = create_sessionmaker(engine)
        kinds = _filters(random.Random(11), datetime.now(UTC))
        latencies: dict[str, list[float]] = {kind: [] for kind in kinds}
        for n in range(WARMUP + QUERIES):
            kind = list(kinds)[n % len(kinds)]
            filters = kinds[kind]()
            async with sessionmaker() as session:
                started = time.perf_counter()
                await repository.search_entries(session, filters, limit=PAGE, offset=0)
                elapsed = (time.perf_counter() - started) * 1000
            if n >= WARMUP:
                latencies[kind].append(elapsed)
        await engine.dispose()
    finally:
        await _drop(config)
    every = [latency for values in latencies.values() for latency in values]
    return {
        "audit_entries_queried": ENTRIES,
        "audit_query_fill_s": round(fill_s, 1),
        "audit_queries": len(every),
        "audit_query_p50_ms": _p(every, 0.5),
        "audit_query_p95_ms": _p(every, 0.95),
        **{f"audit_query_{kind}_p95_ms": _p(values, 0.95) for kind, values in latencies.items()},
    }


def run() -> dict[str, Any]:
    figures = asyncio.run(_ingestion())
    figures.update(asyncio.run(_query()))
    figures["setup"] = (
        f"{EVENT_COUNT} events on Kafka then `python -m audit` (trail consumer, polls of up to 500); "
        f"{QUERIES} searches (after {WARMUP}) on {ENTRIES} entries, pages of {PAGE}, four filters in turn"
    )
    return figures
