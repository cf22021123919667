"""The trail's erasure of an athlete: every entry about them is emptied, except the one record of the
deletion itself, and the chain still verifies."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.chain import Verification
from audit.dead_letters import store_dead_letters
from audit.models import AuditEntry, DeadLetterRecord
from audit.service import append_entries, entry_fields, payload_digest, verify_chain
from relay_contracts import Envelope
from relay_contracts.catalog import IDENTITY_USER_DELETED
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import UserDeleted
from relay_platform.consumers import Delivery
from relay_platform.outbox import OutboxMessage, add_event

pytestmark = pytest.mark.integration

Deliver = Callable[[Envelope], Awaitable[None]]
Mentions = Callable[[str], Awaitable[dict[str, int]]]

ERASED, KEPT = ("usr_erased_5c0f1e", "9988776655"), ("usr_kept_0b7d42", "1122334455")
T0 = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)


def event(event_type: str, subject: str, **data: Any) -> Envelope:
    return Envelope(type=event_type, producer=event_type.split(".")[0], subject=subject, data=data)


def the_life_of(user_id: str, strava_id: str) -> list[Envelope]:
    """What the trail hears about an athlete, from every service."""
    athlete = {"type": "athlete", "id": user_id}
    return [
        event(
            "identity.user.registered",
            user_id,
            user_id=user_id,
            strava_athlete_id=strava_id,
            actor=athlete,
        ),
        event("identity.profile.updated", user_id, user_id=user_id, ftp_watts=231, actor=athlete),
        event(
            "ingestion.webhook.received",
            f"strava:{strava_id}",
            webhook_id=str(uuid.uuid4()),
            owner_id=strava_id,
        ),
        event("ingestion.api_key.used", user_id, api_key_id=f"key-of-{user_id}", user_id=user_id),
        event("planning.program.activated", user_id, program_id=f"program-of-{user_id}", actor=athlete),
    ]


def deleted(user_id: str, strava_id: str | None) -> Envelope:
    data = UserDeleted(
        user_id=user_id, strava_athlete_id=strava_id, deleted_at=T0, actor=Actor(type="athlete", id=user_id)
    )
    return IDENTITY_USER_DELETED.envelope(data, subject=user_id)


async def entries(sessionmaker: async_sessionmaker[AsyncSession]) -> list[AuditEntry]:
    """The entries that still say something (the emptied ones only keep their place in the chain)."""
    async with sessionmaker() as session:
        statement = (
            select(AuditEntry).where(col(AuditEntry.redacted_at).is_(None)).order_by(col(AuditEntry.seq))
        )
        return list((await session.exec(statement)).all())


async def verification(sessionmaker: async_sessionmaker[AsyncSession]) -> Verification:
    async with sessionmaker() as session:
        return await verify_chain(session)


async def test_an_entry_keeps_the_events_subject(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await deliver(event("ingestion.webhook.received", "strava:42", webhook_id="w-1"))
    [entry] = await entries(sessionmaker)
    assert (entry.entity_type, entry.entity_id, entry.subject) == ("webhook", "w-1", "strava:42")


async def test_only_the_record_of_the_deletion_remains_of_an_erased_athlete(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession], mentions: Mentions
) -> None:
    for athlete in (ERASED, KEPT):
        for told in the_life_of(*athlete):
            await deliver(told)
    await deliver(event("identity.admin.logged_in", "admin-1", admin_id="admin-1", role="support"))
    kept_before = await mentions(KEPT[0]), await mentions(KEPT[1])
    deletion = deleted(*ERASED)

    await deliver(deletion)

    assert await mentions(ERASED[0]) == {"audit_entries": 1}
    assert await mentions(ERASED[1]) == {}
    [record] = [e for e in await entries(sessionmaker) if e.entity_id == ERASED[0]]
    assert (record.event_id, record.event_type, record.entity_type, record.occurred_at) == (
        deletion.id,
        "identity.user.deleted",
        "user",
        deletion.occurred_at,
    )
    assert record.payload_digest == payload_digest(deletion)
    assert (await mentions(KEPT[0]), await mentions(KEPT[1])) == kept_before
    assert len(await entries(sessionmaker)) == 1 + len(the_life_of(*KEPT)) + 1
    assert record.erased_entries == len(the_life_of(*ERASED))
    checked = await verification(sessionmaker)
    assert checked.intact, checked.summary()
    assert (checked.entries, checked.redacted) == (
        2 * len(the_life_of(*ERASED)) + 2,
        len(the_life_of(*ERASED)),
    )


async def test_an_event_about_the_athlete_arriving_after_the_erasure_is_not_recorded(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession], mentions: Mentions
) -> None:
    await deliver(deleted(*ERASED))
    # Published by ingestion before it heard of the deletion; its topic is consumed with some lag.
    await deliver(event("ingestion.api_key.used", ERASED[0], api_key_id="key-1", user_id=ERASED[0]))
    await deliver(event("ingestion.api_key.used", KEPT[0], api_key_id="key-2", user_id=KEPT[0]))

    assert await mentions(ERASED[0]) == {"audit_entries": 1}
    assert [e.event_type for e in await entries(sessionmaker)] == [
        "identity.user.deleted",
        "ingestion.api_key.used",
    ]


async def test_entries_recorded_before_entries_had_a_subject_are_erased_by_their_entity(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession], mentions: Mentions
) -> None:
    async with sessionmaker() as session, session.begin():
        older = event(
            "identity.user.updated", ERASED[0], user_id=ERASED[0], actor={"type": "athlete", "id": ERASED[0]}
        )
        await append_entries(session, [{**entry_fields(older), "subject": None}])

    await deliver(deleted(ERASED[0], None))

    assert [e.event_type for e in await entries(sessionmaker)] == ["identity.user.deleted"]
    assert await mentions(ERASED[0]) == {"audit_entries": 1}
    assert (await verification(sessionmaker)).intact


async def test_the_relayed_events_of_the_audit_service_about_the_athlete_are_forgotten(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession], mentions: Mentions
) -> None:
    async with sessionmaker() as session, session.begin():
        for subject in (ERASED[0], f"strava:{ERASED[1]}", KEPT[0]):
            await add_event(session, event("audit.job.finished", subject, job="weekly-digest"))
        # As the relay marks them once Kafka has acknowledged them.
        await session.exec(update(OutboxMessage).values(published_at=T0))  # type: ignore[call-overload]

    await deliver(deleted(*ERASED))

    assert "outbox" not in await mentions(ERASED[0])
    assert await mentions(ERASED[1]) == {}
    assert (await mentions(KEPT[0]))["outbox"] == 1


async def test_the_dead_letters_about_the_athlete_are_erased_with_them(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession], mentions: Mentions
) -> None:
    headers = {
        "dlq_consumer": "planning.activities",
        "dlq_reason": "ValueError: bad",
        "dlq_original_topic": "t",
    }
    async with sessionmaker() as session, session.begin():
        for offset, (subject, told) in enumerate(
            [(ERASED[0], the_life_of(*ERASED)[1]), (KEPT[0], the_life_of(*KEPT)[1])]
        ):
            await store_dead_letters(
                session, [Delivery(told.to_bytes(), headers, "relay.deadletter", 0, offset, subject.encode())]
            )

    await deliver(deleted(*ERASED))

    async with sessionmaker() as session:
        keys = list(await session.exec(select(DeadLetterRecord.key)))
    assert keys == [KEPT[0].encode()]
