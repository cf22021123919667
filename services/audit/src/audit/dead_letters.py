"""Dead letters: the messages Relay's consumers gave up on, kept until an operator replays them.

Storing them
------------
A consumer that cannot process a message publishes it to `relay.deadletter` as it received it: the same
bytes, the same key, its headers, and `dlq_*` headers saying which consumer gave up, why, after how
many attempts, when, and where the message came from (topic, partition, offset). The "dead-letters"
consumer stores each record of that topic once: its position on the topic is unique, so a poll
delivered again stores nothing new. The body is kept unchanged, the headers without the `dlq_*` ones
(they describe the failure, which has its own fields), and the event's type and id are read from the
body when it is an envelope (from the `event_type` header otherwise: a body that is not an envelope
has no id).

Replaying them
--------------
Once the cause is fixed, an operator replays a dead letter (`POST /api/admin/dead-letters/{id}/replay`
or `python -m audit.cli replay`): its bytes go back, unchanged, to its original topic, with its original
key and headers plus `relay_replayed_from` naming the dead letter. Every consumer of that topic gets it
again, which is safe because consumers are idempotent by message id (`relay_platform.consumers`): those
that had processed the message skip it as a duplicate, and the one that had failed, which recorded
nothing, processes it now. A message that still fails comes back as a new dead letter. The trace
context headers are the replay's (the broker's telemetry sets them), so that the processing shows
under the operator's replay; the envelope in the body still carries the trace that caused the event.

The message is published first; then, in the caller's transaction, the dead letter is marked replayed
and `audit.dead_letter.replayed` is staged. If that transaction fails to commit after the publish, the
dead letter still reads as before although the message went out; replaying it again publishes it a
second time, which is harmless for the same reason. The other order could mark replayed a message that
never reached Kafka, and nobody would replay it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from audit import repository
from audit.models import DeadLetterRecord
from relay_contracts import Envelope
from relay_contracts.catalog import AUDIT_DEAD_LETTER_REPLAYED
from relay_contracts.events.audit import DeadLetterReplayed
from relay_contracts.events.common import Actor
from relay_platform.consumers import Delivery
from relay_platform.errors import Conflict, NotFound
from relay_platform.logging import get_logger
from relay_platform.outbox import add_event

log = get_logger(__name__)

DLQ_HEADER_PREFIX = "dlq_"
REPLAYED_FROM_HEADER = "relay_replayed_from"
"""Header of a replayed message: the id of the dead letter it was published again from."""
STATUSES = ("pending", "replayed")


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL: one such header would make the record impossible to store and
    # hold up every dead letter after it.
    return value.replace("\x00", "")


def _integer(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _failed_at(value: str | None, received_at: datetime) -> datetime:
    try:
        failed_at = datetime.fromisoformat(value) if value else received_at
    except ValueError:
        return received_at
    return failed_at if failed_at.tzinfo is not None else failed_at.replace(tzinfo=UTC)


def event_of(body: bytes, headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The event type and id of a dead-lettered message: from its body when it is an envelope, else its
    type as the `event_type` header announces it, and no id."""
    try:
        envelope = Envelope.from_bytes(body)
    except ValidationError:
        return headers.get("event_type") or None, None
    return envelope.type, str(envelope.id)


def dead_letter_row(delivery: Delivery, *, received_at: datetime) -> dict[str, Any]:
    """The `dead_letters` row of one record of the dead-letter topic. Headers a consumer left empty or
    unreadable are stored as unknown rather than refused: the message itself is what must be kept."""
    headers = {_text(name): _text(value) for name, value in delivery.headers.items()}
    event_type, event_id = event_of(delivery.body, headers)
    return {
        "id": uuid.uuid4(),
        # A record read from Kafka always has its position; only one built in memory has none.
        "dlq_partition": delivery.partition or 0,
        "dlq_offset": delivery.offset or 0,
        "consumer": headers.get("dlq_consumer") or "unknown",
        "reason": headers.get("dlq_reason", ""),
        "attempts": _integer(headers.get("dlq_attempts")) or 0,
        "failed_at": _failed_at(headers.get("dlq_failed_at"), received_at),
        "original_topic": headers.get("dlq_original_topic", ""),
        "original_partition": _integer(headers.get("dlq_original_partition")),
        "original_offset": _integer(headers.get("dlq_original_offset")),
        "key": delivery.key,
        "body": delivery.body,
        "headers": {n: v for n, v in headers.items() if not n.startswith(DLQ_HEADER_PREFIX)},
        "event_type": event_type,
        "event_id": event_id,
    }


def readable_message(body: bytes) -> Any:
    """A dead letter's body as an operator reads it: the JSON it holds, or else its text."""
    try:
        return json.loads(body)
    except ValueError:  # not JSON, or not UTF-8
        return body.decode("utf-8", errors="replace")


async def store_dead_letters(session: AsyncSession, deliveries: Sequence[Delivery]) -> int:
    """Stores a poll of the dead-letter topic in the caller's transaction, each record once; returns
    how many were new."""
    received_at = datetime.now(UTC)
    rows = [dead_letter_row(delivery, received_at=received_at) for delivery in deliveries]
    stored = await repository.add_dead_letters(session, rows)
    if stored:
        log.info("dead_letters_stored", stored=stored, delivered=len(rows))
    return stored


async def list_dead_letters(
    session: AsyncSession, *, status: str | None, consumer: str | None, limit: int, offset: int
) -> tuple[Sequence[DeadLetterRecord], int]:
    """A page of dead letters, the most recent failures first, and how many match in all."""
    return await repository.list_dead_letters(
        session, status=status, consumer=consumer, limit=limit, offset=offset
    )


async def dead_letter(
    session: AsyncSession, record_id: uuid.UUID, *, for_update: bool = False
) -> DeadLetterRecord:
    record = await repository.get_dead_letter(session, record_id, for_update=for_update)
    if record is None:
        raise NotFound("Dead letter not found", details={"dead_letter_id": str(record_id)})
    return record


async def replay(
    session: AsyncSession, broker: KafkaBroker, record_id: uuid.UUID, actor: Actor, *, topic_prefix: str
) -> DeadLetterRecord:
    """Publishes the dead letter's message again to its original topic, then marks it replayed and
    stages `audit.dead_letter.replayed` in the caller's transaction. A replayed dead letter can be
    replayed again; `replays` counts them."""
    # Locked until the caller commits: two replays at once are counted one after the other.
    record = await dead_letter(session, record_id, for_update=True)
    if not record.original_topic:
        raise Conflict(
            "This dead letter does not say which topic it came from",
            code="dead_letter_without_topic",
            details={"dead_letter_id": str(record.id)},
        )
    headers = {**record.headers, REPLAYED_FROM_HEADER: str(record.id)}
    await broker.publish(record.body, topic=record.original_topic, key=record.key, headers=headers)
    replayed_at = datetime.now(UTC)
    record.status = "replayed"
    record.replayed_at = replayed_at
    record.replayed_by = actor.id
    record.replays += 1
    await repository.save_dead_letter(session, record)
    replayed = DeadLetterReplayed(
        dead_letter_id=str(record.id),
        consumer=record.consumer,
        topic=record.original_topic,
        event_type=record.event_type,
        event_id=record.event_id,
        replayed_at=replayed_at,
        actor=actor,
    )
    await add_event(
        session,
        AUDIT_DEAD_LETTER_REPLAYED.envelope(replayed, subject=str(record.id)),
        topic_prefix=topic_prefix,
    )
    log.info(
        "dead_letter_replayed",
        dead_letter_id=str(record.id),
        consumer=record.consumer,
        topic=record.original_topic,
        replays=record.replays,
    )
    return record
