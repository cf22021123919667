"""After `identity.user.deleted`, nothing in the export database is about the athlete any more."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from relay_contracts import Envelope
from relay_contracts.catalog import IDENTITY_PROFILE_UPDATED, IDENTITY_USER_DELETED
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import ProfileUpdated, UserDeleted

pytestmark = pytest.mark.integration

Deliver = Callable[[Envelope], Awaitable[None]]
Mentions = Callable[[str], Awaitable[dict[str, int]]]

ERASED, KEPT = ("usr_erased_5c0f1e", "9988776655"), ("usr_kept_0b7d42", "1122334455")


def profile_updated(user_id: str) -> Envelope:
    data = ProfileUpdated(
        user_id=user_id,
        timezone="Europe/Paris",
        ftp_watts=231,
        updated_at=datetime.now(UTC),
        actor=Actor(type="athlete", id=user_id),
    )
    return IDENTITY_PROFILE_UPDATED.envelope(data, subject=user_id)


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
        await deliver(profile_updated(user_id))
    assert await mentions(ERASED[0]) == {"athlete_profiles": 1}

    await deliver(deleted(*ERASED))

    assert await mentions(ERASED[0]) == {}
    assert await mentions(ERASED[1]) == {}
    assert await mentions(KEPT[0]) == {"athlete_profiles": 1}


async def test_a_deletion_told_twice_leaves_nothing_and_fails_nothing(
    deliver: Deliver, mentions: Mentions
) -> None:
    await deliver(profile_updated(ERASED[0]))
    await deliver(deleted(*ERASED))
    await deliver(deleted(*ERASED))  # another message id: applied again, harmlessly
    assert await mentions(ERASED[0]) == {}
