"""API keys verified from identity's events alone, and the throttled report of their use."""

import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion.models import ApiKey
from ingestion.service import api_key_digest, record_api_key_use, verify_api_key
from relay_contracts import Envelope
from relay_contracts.catalog import IDENTITY_API_KEY_CREATED, IDENTITY_API_KEY_REVOKED, INGESTION_API_KEY_USED
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import ApiKeyCreated, ApiKeyRevoked
from relay_contracts.events.ingestion import ApiKeyUsed
from relay_platform.errors import Unauthorized
from relay_platform.outbox import OutboxMessage

pytestmark = pytest.mark.integration

Deliver = Callable[[Envelope], Awaitable[None]]

T0 = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)


def new_key() -> str:
    return "qt_" + secrets.token_urlsafe(32)


def created(key: str, *, api_key_id: str = "key-1", user_id: str = "user-1") -> Envelope:
    data = ApiKeyCreated(
        api_key_id=api_key_id,
        user_id=user_id,
        name="Health Auto Export",
        prefix=key[:8],
        key_sha256=api_key_digest(key),
        created_at=T0,
        actor=Actor(type="athlete", id=user_id),
    )
    return IDENTITY_API_KEY_CREATED.envelope(data, subject=user_id)


def revoked(*, api_key_id: str = "key-1", user_id: str = "user-1") -> Envelope:
    data = ApiKeyRevoked(
        api_key_id=api_key_id, user_id=user_id, revoked_at=T0, actor=Actor(type="athlete", id=user_id)
    )
    return IDENTITY_API_KEY_REVOKED.envelope(data, subject=user_id)


async def test_a_key_identity_created_is_verified_locally_by_its_digest(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    key = new_key()
    await deliver(created(key))
    async with sessionmaker() as session:
        verified = await verify_api_key(session, key)
    assert (verified.api_key_id, verified.user_id, verified.prefix) == ("key-1", "user-1", key[:8])


async def test_a_well_formed_key_nobody_created_is_refused(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await deliver(created(new_key()))
    async with sessionmaker() as session:
        with pytest.raises(Unauthorized):
            await verify_api_key(session, new_key())


async def test_a_revoked_key_is_refused_from_the_revocation_on(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    key = new_key()
    await deliver(created(key))
    await deliver(revoked())
    async with sessionmaker() as session:
        with pytest.raises(Unauthorized):
            await verify_api_key(session, key)


async def test_revoking_a_key_this_service_never_heard_of_changes_nothing(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    key = new_key()
    await deliver(created(key))
    await deliver(revoked(api_key_id="key-from-before"))
    async with sessionmaker() as session:
        assert (await verify_api_key(session, key)).api_key_id == "key-1"


async def used_events(session: AsyncSession) -> list[ApiKeyUsed]:
    rows = (
        await session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.event_type == INGESTION_API_KEY_USED.type)
            .order_by(col(OutboxMessage.seq))
        )
    ).all()
    return [ApiKeyUsed.model_validate(Envelope.model_validate(row.payload).data) for row in rows]


async def test_the_use_of_a_key_is_reported_at_most_once_a_minute_and_always_recorded(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    key = new_key()
    await deliver(created(key))
    reported = []
    for at in (T0, T0 + timedelta(seconds=30), T0 + timedelta(seconds=59), T0 + timedelta(seconds=61)):
        async with sessionmaker() as session, session.begin():
            stored = await verify_api_key(session, key)
            reported.append(await record_api_key_use(session, stored, at, topic_prefix=""))

    assert reported == [True, False, False, True]
    async with sessionmaker() as session:
        events = await used_events(session)
        stored_key = await session.get(ApiKey, "key-1")
    assert [(e.api_key_id, e.user_id, e.used_at) for e in events] == [
        ("key-1", "user-1", T0),
        ("key-1", "user-1", T0 + timedelta(seconds=61)),
    ]
    assert stored_key is not None
    assert stored_key.last_used_at == T0 + timedelta(seconds=61)
    assert stored_key.last_use_reported_at == T0 + timedelta(seconds=61)


async def test_a_use_reported_late_does_not_move_the_last_use_back(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    key = new_key()
    await deliver(created(key))
    for at in (T0 + timedelta(seconds=10), T0):
        async with sessionmaker() as session, session.begin():
            await record_api_key_use(session, await verify_api_key(session, key), at, topic_prefix="")
    async with sessionmaker() as session:
        stored_key = await session.get(ApiKey, "key-1")
    assert stored_key is not None
    assert stored_key.last_used_at == T0 + timedelta(seconds=10)
