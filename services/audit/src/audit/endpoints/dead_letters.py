"""Seed 001, section Admin: the messages Relay's consumers gave up on, and their replay once the cause is
fixed (see `audit.dead_letters`). Listing them takes the read_only role; a message itself, which may
hold an athlete's data, the support role; replaying one super_admin (and the session's CSRF token in
`X-CSRF-Token`). Every read is itself audited (`audit.admin.data_accessed`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from faststream.kafka import KafkaBroker

from audit import dead_letters
from audit.schemas import DeadLetterDetail, DeadLetterList, DeadLetterOut, DeadLetterReplay, Pagination
from relay_contracts.catalog import AUDIT_ADMIN_DATA_ACCESSED
from relay_contracts.events.common import Actor
from relay_platform.admin_access import record_admin_access
from relay_platform.auth import ReadOnlyAdmin, SuperAdmin, SupportAdmin
from relay_platform.db import SessionDep
from relay_platform.web import TopicPrefix

router = APIRouter(prefix="/api/admin/dead-letters", tags=["dead letters"])


def _broker(request: Request) -> KafkaBroker:
    broker: KafkaBroker = request.app.state.runtime.broker
    return broker


Broker = Annotated[KafkaBroker, Depends(_broker)]


@router.get("", summary="Dead-lettered messages, the most recent failures first")
async def list_dead_letters(
    request: Request,
    admin: ReadOnlyAdmin,
    session: SessionDep,
    topic_prefix: TopicPrefix,
    status: Annotated[Literal["pending", "replayed"] | None, Query()] = None,
    consumer: Annotated[
        str | None, Query(max_length=200, description="The consumer that gave up, `<service>.<consumer>`.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DeadLetterList:
    records, total = await dead_letters.list_dead_letters(
        session, status=status, consumer=consumer, limit=limit, offset=offset
    )
    await record_admin_access(
        session, AUDIT_ADMIN_DATA_ACCESSED, admin, request, records=len(records), topic_prefix=topic_prefix
    )
    return DeadLetterList(
        dead_letters=[DeadLetterOut.of(record) for record in records],
        pagination=Pagination(total=total, limit=limit, offset=offset),
    )


@router.get("/{dead_letter_id}", summary="One dead letter with its message and headers")
async def get_dead_letter(
    request: Request,
    dead_letter_id: uuid.UUID,
    admin: SupportAdmin,
    session: SessionDep,
    topic_prefix: TopicPrefix,
) -> DeadLetterDetail:
    record = await dead_letters.dead_letter(session, dead_letter_id)
    await record_admin_access(
        session, AUDIT_ADMIN_DATA_ACCESSED, admin, request, records=1, topic_prefix=topic_prefix
    )
    return DeadLetterDetail.of_message(record, dead_letters.readable_message(record.body))


@router.post("/{dead_letter_id}/replay", summary="Publish a dead letter again to its original topic")
async def replay_dead_letter(
    dead_letter_id: uuid.UUID,
    admin: SuperAdmin,
    session: SessionDep,
    broker: Broker,
    topic_prefix: TopicPrefix,
) -> DeadLetterReplay:
    """The message goes back unchanged, with its key and headers and `relay_replayed_from: <id>`; the
    consumers that had processed it skip it, the one that had failed processes it. Replaying an already
    replayed dead letter publishes it again (`replays` counts them)."""
    record = await dead_letters.replay(
        session, broker, dead_letter_id, Actor(type="admin", id=admin.sub), topic_prefix=topic_prefix
    )
    return DeadLetterReplay(dead_letter=DeadLetterOut.of(record))
