"""Dead letters against the real database and Kafka: each record of the dead-letter topic stored once,
operators reading them (and each read audited), who may see and replay them, and a replay putting the
message back unchanged on its original topic, through the API and the operators' command."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.cli import main
from audit.handlers import on_dead_letters
from audit.models import DeadLetterRecord
from relay_contracts import Envelope
from relay_contracts.topics import AUDIT_EVENTS, IDENTITY_EVENTS
from relay_platform.consumers import Delivery
from relay_platform.messaging import delete_topics, ensure_topics
from relay_platform.outbox import OutboxMessage
from relay_testing.identity import FakeIdentity
from relay_testing.plugin import Infrastructure

from .conftest import AuditApi

pytestmark = pytest.mark.integration

DEAD_LETTERS = "/api/admin/dead-letters"
FAILED_AT = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
TOPICS = (IDENTITY_EVENTS, AUDIT_EVENTS)
SUMMARY_FIELDS = {
    "id",
    "consumer",
    "reason",
    "attempts",
    "failed_at",
    "original_topic",
    "original_partition",
    "original_offset",
    "event_type",
    "event_id",
    "status",
    "replayed_at",
    "replayed_by",
    "replays",
}


def profile_updated(user_id: str) -> Envelope:
    return Envelope(
        type="identity.profile.updated",
        producer="identity",
        subject=user_id,
        data={"user_id": user_id, "ftp_watts": 245},
    )


def dead_lettered(
    body: bytes,
    *,
    offset: int,
    topic: str,
    consumer: str = "export.identity-events",
    failed_at: datetime = FAILED_AT,
    key: bytes | None = b"usr_1",
) -> Delivery:
    """A record of the dead-letter topic as a consumer of Relay publishes it."""
    headers = {
        "event_type": "identity.profile.updated",
        "event_version": "1",
        "producer": "identity",
        "dlq_consumer": consumer,
        "dlq_reason": "ValueError: ftp_watts out of range",
        "dlq_attempts": "5",
        "dlq_failed_at": failed_at.isoformat(),
        "dlq_original_topic": topic,
        "dlq_original_partition": "3",
        "dlq_original_offset": str(1000 + offset),
    }
    return Delivery(body, headers, "relay.deadletter", 0, offset, key)


async def store(sessionmaker: async_sessionmaker[AsyncSession], deliveries: Sequence[Delivery]) -> None:
    """One poll of the dead-letter topic, in one transaction, as the "dead-letters" consumer runs it."""
    async with sessionmaker() as session, session.begin():
        await on_dead_letters(deliveries, session)


async def stored(sessionmaker: async_sessionmaker[AsyncSession]) -> list[DeadLetterRecord]:
    async with sessionmaker() as session:
        statement = select(DeadLetterRecord).order_by(col(DeadLetterRecord.dlq_offset))
        return list((await session.exec(statement)).all())


async def staged(sessionmaker: async_sessionmaker[AsyncSession], event_type: str) -> list[dict[str, Any]]:
    """The data of the events of this type in the outbox, in the order they were staged."""
    async with sessionmaker() as session:
        statement = (
            select(OutboxMessage)
            .where(col(OutboxMessage.event_type) == event_type)
            .order_by(col(OutboxMessage.seq))
        )
        return [message.payload["data"] for message in (await session.exec(statement)).all()]


@dataclass
class Api:
    client: httpx.AsyncClient
    identity: FakeIdentity
    sessionmaker: async_sessionmaker[AsyncSession]
    topic_prefix: str
    kafka_bootstrap: str

    async def admin(
        self, method: str, path: str, *, role: str = "super_admin", csrf: bool = True, **params: Any
    ) -> httpx.Response:
        headers = self.identity.admin_headers("adm_1", role, csrf=csrf)
        return await self.client.request(method, path, params=params, headers=headers)

    @property
    def identity_topic(self) -> str:
        return f"{self.topic_prefix}{IDENTITY_EVENTS.name}"


@pytest.fixture
async def kafka_topics(infrastructure: Infrastructure, topic_prefix: str) -> AsyncIterator[None]:
    """The test's own identity and audit topics: where replays go, and where the audit events are relayed."""
    await ensure_topics(infrastructure.kafka_bootstrap, prefix=topic_prefix, topics=TOPICS)
    yield
    await delete_topics(infrastructure.kafka_bootstrap, prefix=topic_prefix, topics=TOPICS)


@pytest.fixture
def api(
    kafka_topics: None,
    audit_api: AuditApi,
    sessionmaker: async_sessionmaker[AsyncSession],
    topic_prefix: str,
    infrastructure: Infrastructure,
) -> Api:
    return Api(
        audit_api.client, audit_api.identity, sessionmaker, topic_prefix, infrastructure.kafka_bootstrap
    )


async def read_topic(bootstrap: str, topic: str, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    """The first `count` records of a topic of the test's own, read from real Kafka."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = asyncio.get_running_loop().time() + 20
        while len(records) < count and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        return sorted(records, key=lambda record: (record.partition, record.offset))
    finally:
        await consumer.stop()


async def test_a_poll_delivered_again_stores_each_dead_letter_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    topic = IDENTITY_EVENTS.name
    first, second, third = (
        dead_lettered(profile_updated(f"usr_{n}").to_bytes(), offset=n, topic=topic) for n in (1, 2, 3)
    )

    await store(sessionmaker, [first, second])
    await store(sessionmaker, [first, second, third])  # its offsets were not committed: delivered again
    await store(sessionmaker, [third, third])

    records = await stored(sessionmaker)
    assert [(r.dlq_partition, r.dlq_offset) for r in records] == [(0, 1), (0, 2), (0, 3)]
    assert [r.body for r in records] == [first.body, second.body, third.body]
    assert all((r.status, r.replays) == ("pending", 0) for r in records)


async def test_operators_list_dead_letters_newest_first_by_status_and_consumer_a_page_at_a_time(
    api: Api,
) -> None:
    topic = api.identity_topic
    await store(
        api.sessionmaker,
        [
            dead_lettered(profile_updated("usr_1").to_bytes(), offset=1, topic=topic),
            dead_lettered(
                profile_updated("usr_2").to_bytes(),
                offset=2,
                topic=topic,
                consumer="planning.identity-events",
                failed_at=FAILED_AT + timedelta(minutes=1),
            ),
            dead_lettered(b"{not json", offset=3, topic=topic, failed_at=FAILED_AT + timedelta(minutes=2)),
        ],
    )
    newest, middle, oldest = sorted(await stored(api.sessionmaker), key=lambda r: r.failed_at, reverse=True)
    replayed = await api.admin("POST", f"{DEAD_LETTERS}/{middle.id}/replay")
    assert replayed.status_code == 200, replayed.text

    listed = await api.admin("GET", DEAD_LETTERS, role="read_only")

    assert listed.status_code == 200, listed.text
    answer = listed.json()
    assert answer["pagination"] == {"total": 3, "limit": 50, "offset": 0}
    assert [d["id"] for d in answer["dead_letters"]] == [str(newest.id), str(middle.id), str(oldest.id)]
    assert all(set(d) == SUMMARY_FIELDS for d in answer["dead_letters"])  # never the message itself
    assert answer["dead_letters"][2] == {
        "id": str(oldest.id),
        "consumer": "export.identity-events",
        "reason": "ValueError: ftp_watts out of range",
        "attempts": 5,
        "failed_at": "2026-12-03T08:00:00Z",
        "original_topic": topic,
        "original_partition": 3,
        "original_offset": 1001,
        "event_type": "identity.profile.updated",
        "event_id": str(Envelope.from_bytes(oldest.body).id),
        "status": "pending",
        "replayed_at": None,
        "replayed_by": None,
        "replays": 0,
    }
    assert answer["dead_letters"][0]["event_id"] is None  # not an envelope: its type from the header

    async def ids(**params: Any) -> tuple[list[str], int]:
        page = (await api.admin("GET", DEAD_LETTERS, role="read_only", **params)).json()
        return [d["id"] for d in page["dead_letters"]], page["pagination"]["total"]

    assert await ids(status="pending") == ([str(newest.id), str(oldest.id)], 2)
    assert await ids(status="replayed") == ([str(middle.id)], 1)
    assert await ids(consumer="planning.identity-events") == ([str(middle.id)], 1)
    assert await ids(consumer="export.identity-events", status="replayed") == ([], 0)
    assert await ids(limit=1, offset=1) == ([str(middle.id)], 3)
    assert await ids(offset=5) == ([], 3)
    for refused in ({"status": "lost"}, {"limit": 0}, {"limit": 201}, {"offset": -1}):
        answer = await api.admin("GET", DEAD_LETTERS, role="read_only", **refused)
        assert answer.status_code == 400, refused
        assert answer.json()["error"]["code"] == "validation_error"

    accesses = await staged(api.sessionmaker, "audit.admin.data_accessed")
    assert [(a["admin_id"], a["role"], a["records"]) for a in accesses[:2]] == [
        ("adm_1", "read_only", 3),
        ("adm_1", "read_only", 2),
    ]
    assert accesses[1]["path"] == DEAD_LETTERS
    assert accesses[1]["query"] == {"status": "pending"}


async def test_the_detail_shows_the_message_as_received_and_its_own_headers(api: Api) -> None:
    envelope = profile_updated("usr_1")
    await store(
        api.sessionmaker,
        [
            dead_lettered(envelope.to_bytes(), offset=1, topic=api.identity_topic),
            dead_lettered(b"caf\xe9 {", offset=2, topic=api.identity_topic, key=None),
        ],
    )
    as_envelope, as_text = await stored(api.sessionmaker)

    detail = await api.admin("GET", f"{DEAD_LETTERS}/{as_envelope.id}", role="support")

    assert detail.status_code == 200, detail.text
    answer = detail.json()
    assert set(answer) == SUMMARY_FIELDS | {"message", "headers"}
    assert answer["message"] == envelope.model_dump(mode="json")
    assert answer["headers"] == {
        "event_type": "identity.profile.updated",
        "event_version": "1",
        "producer": "identity",
    }
    assert answer["event_id"] == str(envelope.id)
    text = (await api.admin("GET", f"{DEAD_LETTERS}/{as_text.id}", role="support")).json()
    assert text["message"] == "caf\ufffd {"
    assert [a["records"] for a in await staged(api.sessionmaker, "audit.admin.data_accessed")] == [1, 1]

    unknown = await api.admin("GET", f"{DEAD_LETTERS}/{uuid.uuid4()}", role="support")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    malformed = await api.admin("GET", f"{DEAD_LETTERS}/not-an-id", role="support")
    assert malformed.status_code == 400
    assert malformed.json()["error"]["details"]["field"] == "dead_letter_id"
    replay_unknown = await api.admin("POST", f"{DEAD_LETTERS}/{uuid.uuid4()}/replay")
    assert replay_unknown.status_code == 404
    assert replay_unknown.json()["error"]["code"] == "not_found"


async def test_only_support_sees_a_message_and_only_super_admins_with_their_csrf_token_replay_it(
    api: Api,
) -> None:
    await store(
        api.sessionmaker,
        [dead_lettered(profile_updated("usr_1").to_bytes(), offset=1, topic=api.identity_topic)],
    )
    (record,) = await stored(api.sessionmaker)
    detail, replay = f"{DEAD_LETTERS}/{record.id}", f"{DEAD_LETTERS}/{record.id}/replay"

    for method, path in (("GET", DEAD_LETTERS), ("GET", detail), ("POST", replay)):
        anonymous = await api.client.request(method, path)
        assert anonymous.status_code == 401, path
        assert anonymous.json()["error"]["code"] == "unauthorized"
    athlete = await api.client.get(DEAD_LETTERS, headers=api.identity.bearer("usr_1"))
    assert athlete.status_code == 401  # an access token is not an admin session

    assert (await api.admin("GET", DEAD_LETTERS, role="read_only")).status_code == 200
    read_only_detail = await api.admin("GET", detail, role="read_only")
    assert read_only_detail.status_code == 403
    assert read_only_detail.json()["error"]["code"] == "forbidden"
    for role in ("read_only", "support"):
        refused = await api.admin("POST", replay, role=role)
        assert refused.status_code == 403, role
        assert refused.json()["error"]["code"] == "forbidden"
    without_csrf = await api.admin("POST", replay, csrf=False)
    assert without_csrf.status_code == 403
    assert without_csrf.json()["error"]["details"] == {"header": "X-CSRF-Token"}

    (unchanged,) = await stored(api.sessionmaker)
    assert (unchanged.status, unchanged.replays) == ("pending", 0)
    assert await staged(api.sessionmaker, "audit.dead_letter.replayed") == []


async def test_a_replay_puts_the_unchanged_message_back_on_its_topic_marks_it_and_stages_its_event(
    api: Api,
) -> None:
    envelope = profile_updated("usr_1")
    delivery = dead_lettered(envelope.to_bytes(), offset=7, topic=api.identity_topic)
    await store(api.sessionmaker, [delivery])
    (record,) = await stored(api.sessionmaker)

    first = await api.admin("POST", f"{DEAD_LETTERS}/{record.id}/replay")

    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["success"] is True
    replayed = answer["dead_letter"]
    assert set(replayed) == SUMMARY_FIELDS
    assert (replayed["id"], replayed["status"], replayed["replays"]) == (str(record.id), "replayed", 1)
    assert replayed["replayed_by"] == "adm_1"
    replayed_at = datetime.fromisoformat(replayed["replayed_at"])
    assert abs(datetime.now(UTC) - replayed_at) < timedelta(minutes=1)

    (message,) = await read_topic(api.kafka_bootstrap, api.identity_topic, 1)
    assert message.value == envelope.to_bytes()
    assert message.key == b"usr_1"
    headers = {name: value.decode() for name, value in message.headers}
    assert headers["relay_replayed_from"] == str(record.id)
    assert (headers["event_type"], headers["event_version"], headers["producer"]) == (
        "identity.profile.updated",
        "1",
        "identity",
    )
    assert not any(name.startswith("dlq_") for name in headers)

    # Replaying it again is allowed: it is published once more, and counted.
    second = await api.admin("POST", f"{DEAD_LETTERS}/{record.id}/replay")
    assert second.status_code == 200, second.text
    assert second.json()["dead_letter"]["replays"] == 2
    messages = await read_topic(api.kafka_bootstrap, api.identity_topic, 2)
    assert [m.value for m in messages] == [envelope.to_bytes()] * 2

    (marked,) = await stored(api.sessionmaker)
    assert (marked.status, marked.replays, marked.replayed_by) == ("replayed", 2, "adm_1")
    events = await staged(api.sessionmaker, "audit.dead_letter.replayed")
    assert len(events) == 2
    assert {key: value for key, value in events[0].items() if key != "replayed_at"} == {
        "dead_letter_id": str(record.id),
        "consumer": "export.identity-events",
        "topic": api.identity_topic,
        "event_type": "identity.profile.updated",
        "event_id": str(envelope.id),
        "actor": {"type": "admin", "id": "adm_1"},
    }


async def test_operators_list_and_replay_dead_letters_from_the_command_line(
    sessionmaker: async_sessionmaker[AsyncSession],
    fresh_database: str,
    infrastructure: Infrastructure,
    topic_prefix: str,
    kafka_topics: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = f"{topic_prefix}{IDENTITY_EVENTS.name}"
    envelope = profile_updated("usr_1")
    await store(
        sessionmaker,
        [
            dead_lettered(envelope.to_bytes(), offset=1, topic=topic),
            dead_lettered(
                b"{not json",
                offset=2,
                topic=topic,
                consumer="planning.identity-events",
                failed_at=FAILED_AT + timedelta(minutes=1),
            ),
        ],
    )
    export_letter, planning_letter = await stored(sessionmaker)
    for name, value in {
        "AUDIT_DATABASE_URL": fresh_database,
        "AUDIT_KAFKA_BOOTSTRAP_SERVERS": infrastructure.kafka_bootstrap,
        "AUDIT_KAFKA_TOPIC_PREFIX": topic_prefix,
    }.items():
        monkeypatch.setenv(name, value)

    # `python -m audit.cli ...`, with its own event loop, as an operator runs it.
    assert await asyncio.to_thread(main, ["dead-letters"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "ID",
        "FAILED",
        "AT",
        "(UTC)",
        "CONSUMER",
        "EVENT",
        "TYPE",
        "STATUS",
        "REASON",
    ]
    assert lines[1].split()[:6] == [
        str(planning_letter.id),
        "2026-12-03",
        "08:01:00",
        "planning.identity-events",
        "identity.profile.updated",
        "pending",
    ]
    assert lines[2].startswith(str(export_letter.id))
    assert lines[-1] == "2 of 2 dead letter(s)"
    assert await asyncio.to_thread(main, ["dead-letters", "--consumer", "export.identity-events"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 of 1 dead letter(s)"

    assert await asyncio.to_thread(main, ["replay", str(export_letter.id), "--by", "ops-jane"]) == 0

    assert capsys.readouterr().out.strip() == (
        f"replayed {export_letter.id} to {topic} (1 replay(s), by ops-jane)"
    )
    (message,) = await read_topic(infrastructure.kafka_bootstrap, topic, 1)
    assert message.value == envelope.to_bytes()
    replayed = next(r for r in await stored(sessionmaker) if r.id == export_letter.id)
    assert (replayed.status, replayed.replays, replayed.replayed_by) == ("replayed", 1, "ops-jane")
    (event,) = await staged(sessionmaker, "audit.dead_letter.replayed")
    assert event["actor"] == {"type": "admin", "id": "ops-jane"}
    assert await asyncio.to_thread(main, ["dead-letters", "--status", "replayed"]) == 0
    assert "replayed (1)" in capsys.readouterr().out

    missing = uuid.uuid4()
    assert await asyncio.to_thread(main, ["replay", str(missing)]) == 1
    assert capsys.readouterr().err.strip() == "error: Dead letter not found"
