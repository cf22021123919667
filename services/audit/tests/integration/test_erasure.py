"""The trail's erasure of an athlete: every entry about them goes, except the one record of the
deletion itself."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit import repository
from audit.models import AuditEntry
from audit.service import payload_digest
from relay_contracts import Envelope
from relay_contracts.catalog import IDENTITY_USER_DELETED
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import UserDeleted
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
    async with sessionmaker() as session:
        return list((await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))).all())


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
        await repository.append_entry(
            session,
            {
                "event_id": uuid.uuid4(),
                "event_type": "identity.user.updated",
                "event_version": 1,
                "entity_type": "user",
                "entity_id": ERASED[0],
                "actor_type": "athlete",
                "producer": "identity",
                "payload_digest": "0" * 64,
                "occurred_at": T0 - timedelta(days=30),
            },
        )

    await deliver(deleted(ERASED[0], None))

    assert [e.event_type for e in await entries(sessionmaker)] == ["identity.user.deleted"]
    assert await mentions(ERASED[0]) == {"audit_entries": 1}


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
