"""After `identity.user.deleted`, nothing in the planning database is about the athlete any more."""

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from relay_contracts import Envelope
from relay_contracts.catalog import (
    IDENTITY_PROFILE_UPDATED,
    IDENTITY_USER_DELETED,
    PLANNING_PROGRAM_ACTIVATED,
)
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import ProfileUpdated, UserDeleted
from relay_contracts.events.planning import ProgramActivated
from relay_platform.outbox import OutboxMessage, add_event

pytestmark = pytest.mark.integration

Deliver = Callable[[Envelope], Awaitable[None]]
Mentions = Callable[[str], Awaitable[dict[str, int]]]

ERASED, KEPT = ("usr_erased_5c0f1e", "9988776655"), ("usr_kept_0b7d42", "1122334455")


async def an_athlete_uses_relay(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession], user_id: str
) -> None:
    """Their profile, and an event planning published about them."""
    actor = Actor(type="athlete", id=user_id)
    profile = ProfileUpdated(
        user_id=user_id, timezone="Europe/Paris", ftp_watts=231, updated_at=datetime.now(UTC), actor=actor
    )
    await deliver(IDENTITY_PROFILE_UPDATED.envelope(profile, subject=user_id))
    activated = ProgramActivated(
        program_id=f"program-of-{user_id}",
        user_id=user_id,
        distance_type="70.3",
        event_date=date(2027, 6, 13),
        start_date=date(2027, 1, 4),
        activated_at=datetime.now(UTC),
        actor=actor,
    )
    async with sessionmaker() as session, session.begin():
        await add_event(session, PLANNING_PROGRAM_ACTIVATED.envelope(activated, subject=user_id))
        # As the relay marks it once Kafka has acknowledged it.
        await session.exec(
            update(OutboxMessage)  # type: ignore[call-overload]
            .where(col(OutboxMessage.published_at).is_(None))
            .values(published_at=datetime.now(UTC))
        )


def deleted(user_id: str, strava_id: str) -> Envelope:
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
    for user_id, _ in (ERASED, KEPT):
        await an_athlete_uses_relay(deliver, sessionmaker, user_id)
    kept_before = await mentions(KEPT[0])
    assert set(await mentions(ERASED[0])) == {"athlete_profiles", "outbox"}

    await deliver(deleted(*ERASED))

    assert await mentions(ERASED[0]) == {}
    assert await mentions(ERASED[1]) == {}
    assert await mentions(KEPT[0]) == kept_before == {"athlete_profiles": 1, "outbox": 1}
