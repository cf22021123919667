"""What the fault tests stand on: a whole Relay stack on private infrastructure (its own PostgreSQL
cluster and Kafka, which a test may crash without touching the shared ones), a steady load of Strava
webhooks and athletes' API writes through the gateway with a ledger of what each sender was told, and
the counts that prove nothing acknowledged was lost or applied twice.

The webhook helpers are shared with `test_event_flow.py`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from relay_contracts import DEAD_LETTERS
from relay_devstack import SERVICES, Stack, StackConfig
from relay_testing.local_kafka import LocalKafka
from relay_testing.local_postgres import LocalPostgres

from .conftest import Databases, device_client

# -- Strava webhooks and what each service made of them ---------------------------------------------

_object_ids = itertools.count(int(time.time()) * 1000)


def strava_event(owner_id: int, aspect_type: str = "create", **extra: Any) -> dict[str, Any]:
    return {
        "aspect_type": aspect_type,
        "event_time": int(time.time()),
        "object_id": next(_object_ids),
        "object_type": "activity",
        "owner_id": owner_id,
        "subscription_id": 120475,
        "updates": {},
        **extra,
    }


async def notifications_counted(databases: Any, owner_ids: list[int]) -> int:
    total = await databases.fetchval(
        "connections",
        "SELECT coalesce(sum(notifications_received), 0) FROM provider_account_activity "
        "WHERE provider = 'strava' AND provider_user_id = ANY($1::text[])",
        [str(o) for o in owner_ids],
    )
    return int(total)


async def audited(databases: Any, owner_ids: list[int]) -> int:
    """Audit entries of the webhooks ingestion stored for these athletes."""
    webhook_ids = await databases.fetchval(
        "ingestion",
        "SELECT coalesce(array_agg(id::text), '{}') FROM provider_notifications "
        "WHERE owner_id = ANY($1::text[])",
        [str(o) for o in owner_ids],
    )
    return int(
        await databases.fetchval(
            "audit",
            "SELECT count(*) FROM audit_entries WHERE event_type = 'ingestion.webhook.received' "
            "AND entity_type = 'webhook' AND entity_id = ANY($1::text[])",
            webhook_ids,
        )
    )


async def wait_for(check: Any, expected: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    value = await check()
    while value != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        value = await check()
    return int(value)


# -- a stack on infrastructure of its own -----------------------------------------------------------


def _private_directory() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="relay-faults-"))
    directory.chmod(0o711)  # under root, PostgreSQL runs as its own OS user, which must get through
    return directory


@dataclass
class FaultStack:
    """Relay (six services, gateway, fakes) on a private PostgreSQL and a private Kafka. Its ports:
    `base`+1…+6 for the services, +80 the gateway, +90/+91 the fakes, +40…+59 PostgreSQL and Kafka."""

    base: int
    directory: Path
    postgres: LocalPostgres
    kafka: LocalKafka
    stack: Stack
    databases: Databases

    @classmethod
    async def start(cls, base: int) -> FaultStack:
        directory = _private_directory()
        postgres = LocalPostgres(directory / "pg", base + 40, services=SERVICES)
        kafka = LocalKafka(directory / "kafka", [(base + 41, base + 42)])
        suffix = f"_faults{base}"
        config = StackConfig(
            pg_port=postgres.port,
            kafka_bootstrap=kafka.bootstrap,
            service_ports={name: base + 1 + i for i, name in enumerate(SERVICES)},
            gateway_port=base + 80,
            fake_strava_port=base + 90,
            fake_providers_port=base + 91,
            gateway_dir=StackConfig().home / f"faults-gateway{base}",
            database_suffix=suffix,
            extra_env={
                "INGESTION_STRAVA_VERIFY_TOKEN": "faults-verify-token-5b2e",
                # The load is one sender of many webhooks and a few athletes writing often: rate
                # limits are not what these tests are about.
                **{
                    f"{name.upper()}_RATE_LIMIT_{kind}_PER_MINUTE": "100000"
                    for name in SERVICES
                    for kind in ("AUTH", "API", "WEBHOOK", "ADMIN")
                },
            },
        )
        stack = Stack(config)
        faults = cls(base, directory, postgres, kafka, stack, Databases(stack))
        try:
            kafka.start()  # the JVM starts while PostgreSQL is initialised
            postgres.start()
            await kafka.wait_ready()
            await faults.stack.create_databases(fresh=True)
            await asyncio.to_thread(faults.stack.migrate)
            await faults.stack.ensure_topics()
            faults.stack.start_all()
            await faults.stack.wait_ready(timeout=120)
            faults.stack.start_gateway()
        except BaseException:
            faults.close()
            raise
        return faults

    @property
    def gateway_url(self) -> str:
        return self.stack.config.gateway_url

    def pids(self) -> dict[str, int]:
        return {service: self.stack.processes[service].pid for service in SERVICES}

    def service_alive(self, service: str) -> bool:
        process = self.stack.processes.get(service)
        return process is not None and process.poll() is None

    async def move_to(self, kafka: LocalKafka) -> None:
        """The services, stopped, start again on another Kafka (whose topics are created first)."""
        self.stop_services()
        self.kafka.close()
        self.kafka = kafka
        self.stack.config.kafka_bootstrap = kafka.bootstrap
        await self.stack.ensure_topics()
        for service in SERVICES:
            self.stack.start(service)
        await self.stack.wait_ready(timeout=120)

    def stop_services(self, timeout: float = 20.0) -> None:
        """SIGTERM to every service at once; what has not exited after `timeout` is killed."""
        processes = [self.stack.processes.pop(s) for s in SERVICES if s in self.stack.processes]
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def close(self) -> None:
        """Stops everything it started and deletes its data, whatever state it is in."""
        with contextlib.suppress(Exception):
            self.stop_services()
        with contextlib.suppress(Exception):
            self.stack.stop_all()  # the fakes
        with contextlib.suppress(Exception):
            self.stack.stop_gateway()
        with contextlib.suppress(Exception):
            self.kafka.close()
        with contextlib.suppress(Exception):
            self.postgres.close()
        shutil.rmtree(self.directory, ignore_errors=True)


async def healthz_ready(faults: FaultStack, timeout: float = 90.0) -> dict[str, Any]:
    """The gateway's /healthz once every service reports ready, or its last answer after `timeout`."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=faults.gateway_url, timeout=10.0) as client:
        while True:
            with contextlib.suppress(httpx.TransportError, ValueError):
                response = await client.get("/healthz")
                body: dict[str, Any] = response.json()
                if response.status_code == 200 or time.monotonic() > deadline:
                    return body
            if time.monotonic() > deadline:
                return {"status": "unreachable"}
            await asyncio.sleep(0.5)


async def pending_outbox(faults: FaultStack) -> dict[str, int]:
    """Events committed but not yet acknowledged by Kafka, per service."""
    counts = {}
    for service in SERVICES:
        counts[service] = int(
            await faults.databases.fetchval(service, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
        )
    return counts


async def dead_letters(faults: FaultStack) -> tuple[int, int]:
    """Messages on the dead-letter topic, and those the audit service stored."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=faults.kafka.bootstrap, client_id="relay-faults-check", request_timeout_ms=10000
    )
    await consumer.start()
    try:
        topic = f"{faults.stack.config.topic_prefix}{DEAD_LETTERS.name}"
        await consumer.topics()  # reads the cluster's metadata
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        on_kafka = sum((await consumer.end_offsets(partitions)).values()) if partitions else 0
    finally:
        await consumer.stop()
    stored = int(await faults.databases.fetchval("audit", "SELECT count(*) FROM dead_letters"))
    return on_kafka, stored


async def topic_layout(bootstrap: str, topics: list[str]) -> dict[str, tuple[int, str]]:
    """Each topic's replication factor and `min.insync.replicas`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="relay-faults-check")
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
        replicas = {t["topic"]: len(t["partitions"][0]["replicas"]) for t in described}
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t, {"min.insync.replicas": None}) for t in topics]
        )
        min_isr = {}
        for response in configs:
            for resource in response.resources:
                name, entries = resource[3], resource[4]
                min_isr[name] = next(e[1] for e in entries if e[0] == "min.insync.replicas")
        return {t: (replicas[t], min_isr[t]) for t in topics}
    finally:
        await admin.close()


async def busiest_broker(bootstrap: str, topics: list[str]) -> int:
    """The broker that leads the most partitions of these topics."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="relay-faults-check")
    await admin.start()
    try:
        leaders: Counter[int] = Counter(
            int(partition["leader"])
            for topic in await admin.describe_topics(topics)
            for partition in topic["partitions"]
        )
    finally:
        await admin.close()
    return leaders.most_common(1)[0][0]


# -- the load ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Athlete:
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Ledger:
    """What the senders were told. Only what was acknowledged (webhooks 200, writes 201) is promised."""

    owners: list[int]
    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Every distinct notification sent, by Strava object id."""
    acknowledged: set[int] = field(default_factory=set)
    acknowledged_first_time: int = 0
    """Notifications acknowledged while the load ran, before any redelivery of refused ones."""
    refusals: Counter[int] = field(default_factory=Counter)
    """Webhook answers other than 200, by status."""
    keys: dict[str, Athlete] = field(default_factory=dict)
    """API keys whose creation was answered 201, with their athlete."""
    write_refusals: Counter[int] = field(default_factory=Counter)
    reads: int = 0
    stale_reads: list[str] = field(default_factory=list)
    """Reads answered 200 that missed a key already acknowledged to the same athlete."""
    outside_envelope: list[str] = field(default_factory=list)
    """Error answers that are not `{"error": {"code", "message", "details"}}`."""
    unanswered: list[str] = field(default_factory=list)
    """Requests the gateway never answered."""
    seconds: float = 0.0
    """How long the load ran."""

    def summary(self) -> str:
        return (
            f"{self.seconds:.0f}s of load: {len(self.events)} notifications "
            f"({self.acknowledged_first_time} acknowledged at once, "
            f"refusals {dict(self.refusals)}), {len(self.keys)} API keys acknowledged "
            f"(refusals {dict(self.write_refusals)}), {self.reads} reads"
        )


def _check_envelope(ledger: Ledger, response: httpx.Response) -> None:
    try:
        error = response.json()["error"]
        assert {"code", "message", "details"} <= set(error)
    except (ValueError, KeyError, TypeError, AssertionError):
        ledger.outside_envelope.append(f"{response.status_code} {response.text[:200]}")


class SteadyLoad:
    """Strava webhooks at `rate` per second from random athletes' accounts (one in ten delivered twice,
    as Strava does when our answer is late), and each athlete creating an API key for a bridge app
    `writes_per_second` times a second and reading their keys back, all through the gateway."""

    def __init__(
        self,
        faults: FaultStack,
        athletes: list[Athlete],
        *,
        rate: float = 35.0,
        writes_per_second: float = 1.0,
        accounts: int = 40,
    ) -> None:
        self.faults = faults
        self.athletes = athletes
        self.rate = rate
        self.writes_per_second = writes_per_second
        self.ledger = Ledger(owners=[random.randint(10**9, 10**10) for _ in range(accounts)])
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = 0.0
        self._in_flight: set[asyncio.Task[None]] = set()
        self._client = device_client(faults.stack)
        self._client.timeout = httpx.Timeout(30.0)

    async def __aenter__(self) -> SteadyLoad:
        self._started = time.monotonic()
        self._tasks = [asyncio.create_task(self._send_webhooks(), name="webhooks")] + [
            asyncio.create_task(self._write(athlete), name=f"writes-{athlete.user_id}")
            for athlete in self.athletes
        ]
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stopping.set()
        try:
            await asyncio.gather(*self._tasks)
            await asyncio.gather(*self._in_flight)
        finally:
            for task in self._tasks:
                task.cancel()
        self.ledger.acknowledged_first_time = len(self.ledger.acknowledged)
        self.ledger.seconds = time.monotonic() - self._started

    async def run_for(self, seconds: float) -> None:
        """Lets the load go on for `seconds` (failing early if a sender crashed)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for task in self._tasks:
                if task.done():
                    task.result()
            await asyncio.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    async def redeliver_refused(self, timeout: float = 60.0) -> None:
        """Strava retries a notification until it is acknowledged: so does this sender, once the load
        has stopped, with every notification that was never answered 200."""
        deadline = time.monotonic() + timeout
        while missing := [e for o, e in self.ledger.events.items() if o not in self.ledger.acknowledged]:
            if time.monotonic() > deadline:
                return
            await asyncio.gather(*(self._deliver(event) for event in missing))
            await asyncio.sleep(0.5)

    async def close(self) -> None:
        await self._client.aclose()

    async def _send_webhooks(self) -> None:
        started = time.monotonic()
        for n in itertools.count():
            if self._stopping.is_set():
                return
            event = strava_event(random.choice(self.ledger.owners))
            self.ledger.events[event["object_id"]] = event
            self._spawn(self._deliver(event))
            if n % 10 == 0:
                self._spawn(self._deliver(event))
            await asyncio.sleep(max(0.0, started + (n + 1) / self.rate - time.monotonic()))

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _deliver(self, event: dict[str, Any]) -> None:
        try:
            response = await self._client.post("/api/webhook/strava", json=event)
        except httpx.TransportError as error:
            self.ledger.unanswered.append(f"webhook: {error!r}")
            return
        if response.status_code == 200:
            self.ledger.acknowledged.add(event["object_id"])
            return
        self.ledger.refusals[response.status_code] += 1
        _check_envelope(self.ledger, response)

    async def _write(self, athlete: Athlete) -> None:
        mine: set[str] = set()
        while not self._stopping.is_set():
            await asyncio.sleep(random.uniform(0.5, 1.5) / self.writes_per_second)
            try:
                created = await self._client.post(
                    "/api/auth/api-keys",
                    json={"name": f"bridge {uuid.uuid4().hex[:6]}"},
                    headers=athlete.headers,
                )
                if created.status_code == 201:
                    key_id = created.json()["id"]
                    self.ledger.keys[key_id] = athlete
                    mine.add(key_id)
                else:
                    self.ledger.write_refusals[created.status_code] += 1
                    _check_envelope(self.ledger, created)
                listed = await self._client.get("/api/auth/api-keys", headers=athlete.headers)
            except httpx.TransportError as error:
                self.ledger.unanswered.append(f"api: {error!r}")
                continue
            if listed.status_code == 200:
                self.ledger.reads += 1
                seen = {key["id"] for key in listed.json()["api_keys"]}
                self.ledger.stale_reads += sorted(mine - seen)
            else:
                _check_envelope(self.ledger, listed)


# -- what the system made of it ---------------------------------------------------------------------


@dataclass
class Tally:
    """The counts taken from each service's database once the system has settled."""

    notifications: int
    stored_once: int
    stored_twice: list[str]
    counted: int
    audited: int
    audited_twice: list[str]
    keys: int
    keys_in_identity: int
    keys_listed: int
    keys_in_ingestion: int
    keys_audited: int
    outbox: dict[str, int]
    dead_letters: tuple[int, int]
    healthz: dict[str, Any]
    settled_in: float
    """Seconds from the end of the load until every count was reached."""

    def summary(self) -> str:
        return (
            f"{self.notifications} notifications: stored once {self.stored_once}, counted by connections "
            f"{self.counted}, audited {self.audited}; {self.keys} API keys: in identity "
            f"{self.keys_in_identity}, listed {self.keys_listed}, known to ingestion "
            f"{self.keys_in_ingestion}, audited {self.keys_audited}; outbox {self.outbox}; "
            f"dead letters {self.dead_letters}; healthz {self.healthz.get('status')}; "
            f"settled in {self.settled_in:.1f}s"
        )


async def settle(faults: FaultStack, load: SteadyLoad, timeout: float = 90.0) -> Tally:
    """Redelivers what was refused (as Strava would), then waits until every service has applied
    every acknowledged request, and counts."""
    started = time.monotonic()
    await load.redeliver_refused()
    ledger, databases = load.ledger, faults.databases
    owners = ledger.owners
    expected = len(ledger.acknowledged)
    keys = sorted(ledger.keys)

    async def keys_in(service: str, query: str) -> int:
        return int(await databases.fetchval(service, query, keys))

    known_to_ingestion = "SELECT count(*) FROM api_keys WHERE api_key_id = ANY($1)"
    creations_audited = (
        "SELECT count(*) FROM audit_entries WHERE event_type = 'identity.api_key.created' "
        "AND entity_id = ANY($1)"
    )
    await wait_for(lambda: notifications_counted(databases, owners), expected, timeout)
    await wait_for(lambda: audited(databases, owners), expected, timeout)
    await wait_for(lambda: keys_in("ingestion", known_to_ingestion), len(keys), timeout)
    await wait_for(lambda: keys_in("audit", creations_audited), len(keys), timeout)

    async def outbox_drained() -> int:
        return sum((await pending_outbox(faults)).values())

    await wait_for(outbox_drained, 0, timeout)
    settled_in = time.monotonic() - started
    # Counted once everything has settled: a message applied twice would show now.
    stored = await databases.fetch(
        "ingestion",
        "SELECT object_id, count(*) FROM provider_notifications WHERE provider = 'strava' "
        "AND owner_id = ANY($1::text[]) GROUP BY object_id",
        [str(o) for o in owners],
    )
    twice_audited = await databases.fetch(
        "audit",
        "SELECT entity_id FROM audit_entries WHERE event_type = 'ingestion.webhook.received' "
        "GROUP BY entity_id HAVING count(*) > 1",
    )
    listed: set[str] = set()
    async with httpx.AsyncClient(base_url=faults.gateway_url, timeout=10.0) as client:
        for athlete in {a.user_id: a for a in ledger.keys.values()}.values():
            response = await client.get("/api/auth/api-keys", headers=athlete.headers)
            assert response.status_code == 200, response.text
            listed |= {key["id"] for key in response.json()["api_keys"]} & set(keys)
    acknowledged = {str(o) for o in ledger.acknowledged}
    return Tally(
        notifications=expected,
        stored_once=sum(1 for object_id, n in stored if n == 1 and object_id in acknowledged),
        stored_twice=[object_id for object_id, n in stored if n > 1],
        counted=await notifications_counted(databases, owners),
        audited=await audited(databases, owners),
        audited_twice=[row[0] for row in twice_audited],
        keys=len(keys),
        keys_in_identity=await keys_in("identity", "SELECT count(*) FROM api_keys WHERE id = ANY($1)"),
        keys_listed=len(listed),
        keys_in_ingestion=await keys_in("ingestion", known_to_ingestion),
        keys_audited=await keys_in("audit", creations_audited),
        outbox=await pending_outbox(faults),
        dead_letters=await dead_letters(faults),
        healthz=await healthz_ready(faults),
        settled_in=settled_in,
    )


def assert_nothing_lost_or_applied_twice(load: SteadyLoad, tally: Tally) -> None:
    ledger = load.ledger
    assert ledger.unanswered == [], "the gateway answers every request, even when a service is down"
    assert ledger.outside_envelope == [], "every refusal is in the error envelope"
    assert set(ledger.acknowledged) == set(ledger.events), "every notification is acknowledged in the end"
    assert tally.stored_once == tally.notifications and tally.stored_twice == []
    assert tally.counted == tally.notifications, "connections counted each notification once"
    assert tally.audited == tally.notifications and tally.audited_twice == []
    assert tally.keys_in_identity == tally.keys_listed == tally.keys, "every acknowledged key is kept"
    assert tally.keys_in_ingestion == tally.keys, "ingestion learned every key from identity's events"
    assert tally.keys_audited == tally.keys, "each key's creation is audited once"
    assert ledger.stale_reads == [], "an athlete reads back every key they were given"
    assert set(tally.outbox.values()) == {0}
    assert tally.dead_letters == (0, 0)
    assert tally.healthz["status"] == "ready", tally.healthz
