"""After `identity.user.deleted`, nothing in the ingestion database is about the athlete any more; after
`connections.connection.revoked` asking for it, nothing the provider account sent."""

import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion import intake, service, webhooks
from ingestion.schemas import StravaWebhookEvent
from relay_contracts import Envelope
from relay_contracts.catalog import (
    CONNECTIONS_CONNECTION_REVOKED,
    IDENTITY_API_KEY_CREATED,
    IDENTITY_USER_DELETED,
)
from relay_contracts.events.common import Actor
from relay_contracts.events.connections import ConnectionRevoked
from relay_contracts.events.identity import ApiKeyCreated, UserDeleted
from relay_platform.outbox import OutboxMessage

pytestmark = pytest.mark.integration

Deliver = Callable[[Envelope], Awaitable[None]]
Mentions = Callable[[str], Awaitable[dict[str, int]]]

ERASED, KEPT = ("usr_erased_5c0f1e", "9988776655"), ("usr_kept_0b7d42", "1122334455")


async def an_athlete_uses_relay(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession], user_id: str, strava_id: str
) -> None:
    """An API key, a bridge upload with its reported use, and a Strava notification."""
    key = "qt_" + secrets.token_urlsafe(32)
    created = ApiKeyCreated(
        api_key_id=f"key-of-{user_id}",
        user_id=user_id,
        name="Health Auto Export",
        prefix=key[:8],
        key_sha256=service.api_key_digest(key),
        created_at=datetime.now(UTC),
        actor=Actor(type="athlete", id=user_id),
    )
    await deliver(IDENTITY_API_KEY_CREATED.envelope(created, subject=user_id))
    async with sessionmaker() as session, session.begin():
        stored_key = await service.verify_api_key(session, key)
        upload = {"data": {"workouts": [{"name": "Pool Swim", "athlete": user_id}]}}
        await service.accept_bridge_upload(session, stored_key, upload, topic_prefix="")
        strava_event = StravaWebhookEvent(
            object_type="activity",
            object_id=42,
            aspect_type="create",
            owner_id=int(strava_id),
            subscription_id=7,
            event_time=1764570000,
        )
        await intake.accept_notifications(
            session, [webhooks.strava_notification(strava_event)], topic_prefix=""
        )


async def relayed(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Marks what the outbox holds as sent, as the relay does once Kafka has acknowledged it."""
    async with sessionmaker() as session, session.begin():
        await session.exec(
            update(OutboxMessage)  # type: ignore[call-overload]
            .where(col(OutboxMessage.published_at).is_(None))
            .values(published_at=datetime.now(UTC))
        )


def deleted(user_id: str, strava_id: str | None) -> Envelope:
    data = UserDeleted(
        user_id=user_id,
        strava_athlete_id=strava_id,
        deleted_at=datetime.now(UTC),
        actor=Actor(type="athlete", id=user_id),
    )
    return IDENTITY_USER_DELETED.envelope(data, subject=user_id)


async def test_no_row_mentions_an_erased_athlete_and_others_are_untouched(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession], mentions: Mentions
) -> None:
    for user_id, strava_id in (ERASED, KEPT):
        await an_athlete_uses_relay(deliver, sessionmaker, user_id, strava_id)
    await relayed(sessionmaker)
    before = {needle: await mentions(needle) for needle in (*ERASED, *KEPT)}
    assert set(before[ERASED[0]]) == {"api_keys", "bridge_uploads", "outbox"}
    assert set(before[ERASED[1]]) == {"provider_notifications", "outbox"}

    await deliver(deleted(*ERASED))

    assert await mentions(ERASED[0]) == {}
    assert await mentions(ERASED[1]) == {}
    assert {needle: await mentions(needle) for needle in KEPT} == {n: before[n] for n in KEPT}


async def test_an_athlete_without_a_strava_id_is_erased_too(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession], mentions: Mentions
) -> None:
    await an_athlete_uses_relay(deliver, sessionmaker, *ERASED)
    await relayed(sessionmaker)

    await deliver(deleted(ERASED[0], None))

    assert await mentions(ERASED[0]) == {}
    assert set(await mentions(ERASED[1])) == {"provider_notifications", "outbox"}


def revoked(user_id: str, provider: str, provider_user_id: str, *, erase: bool) -> Envelope:
    data = ConnectionRevoked(
        connection_id=f"connection-of-{user_id}",
        user_id=user_id,
        provider=provider,
        provider_user_id=provider_user_id,
        reason="deauthorized_at_provider",
        erase_provider_data=erase,
        revoked_at_provider=True,
        at=datetime.now(UTC),
        actor=Actor(type="system"),
    )
    return CONNECTIONS_CONNECTION_REVOKED.envelope(data, subject=user_id)


async def test_a_revoked_strava_link_loses_what_strava_sent_and_nothing_else(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession], mentions: Mentions
) -> None:
    for user_id, strava_id in (ERASED, KEPT):
        await an_athlete_uses_relay(deliver, sessionmaker, user_id, strava_id)
    await relayed(sessionmaker)
    kept_before = await mentions(KEPT[1])

    await deliver(revoked(ERASED[0], "strava", ERASED[1], erase=True))

    assert await mentions(ERASED[1]) == {}
    assert set(await mentions(ERASED[0])) == {"api_keys", "bridge_uploads", "outbox"}
    assert await mentions(KEPT[1]) == kept_before


async def test_a_revocation_that_does_not_ask_for_erasure_keeps_the_data(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession], mentions: Mentions
) -> None:
    await an_athlete_uses_relay(deliver, sessionmaker, *ERASED)

    await deliver(revoked(ERASED[0], "strava", ERASED[1], erase=False))

    assert "provider_notifications" in await mentions(ERASED[1])


async def test_a_disconnected_health_bridge_loses_the_athletes_uploads(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession], mentions: Mentions
) -> None:
    await an_athlete_uses_relay(deliver, sessionmaker, *ERASED)

    await deliver(revoked(ERASED[0], "health_bridge", ERASED[0], erase=True))

    assert "bridge_uploads" not in await mentions(ERASED[0])
    assert "provider_notifications" in await mentions(ERASED[1])
