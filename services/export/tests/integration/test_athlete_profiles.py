"""The athlete profile read model: identity's latest profile wins, whatever order updates arrive in."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from export import repository
from relay_contracts import Envelope
from relay_contracts.catalog import IDENTITY_PROFILE_UPDATED
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import ProfileUpdated

pytestmark = pytest.mark.integration

Deliver = Callable[[Envelope], Awaitable[None]]
T0 = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)


def profile_updated(at: datetime, **fields: Any) -> Envelope:
    data = ProfileUpdated(
        user_id="user-1",
        timezone="Europe/Paris",
        updated_at=at,
        actor=Actor(type="athlete", id="user-1"),
        **fields,
    )
    return IDENTITY_PROFILE_UPDATED.envelope(data, subject="user-1")


async def stored_ftp(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int | None, datetime]:
    async with sessionmaker() as session:
        profile = await repository.get_profile(session, "user-1")
    assert profile is not None
    return profile.ftp_watts, profile.updated_at


async def test_the_whole_profile_is_kept_as_identity_told_it(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await deliver(
        profile_updated(
            T0,
            birth_year=1988,
            gender="F",
            weight_kg=58.5,
            experience_level="advanced",
            weekly_hours_available=11.5,
            max_heart_rate=186,
            ftp_watts=231,
            threshold_pace_seconds_per_km=262,
            swim_css_seconds_per_100m=98,
        )
    )
    async with sessionmaker() as session:
        profile = await repository.get_profile(session, "user-1")
    assert profile is not None
    assert profile.model_dump() == {
        "user_id": "user-1",
        "birth_year": 1988,
        "gender": "F",
        "weight_kg": 58.5,
        "experience_level": "advanced",
        "weekly_hours_available": 11.5,
        "max_heart_rate": 186,
        "ftp_watts": 231,
        "threshold_pace_seconds_per_km": 262,
        "swim_css_seconds_per_100m": 98,
        "timezone": "Europe/Paris",
        "updated_at": T0,
    }


async def test_a_newer_profile_replaces_the_stored_one_field_by_field(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await deliver(profile_updated(T0, ftp_watts=220, max_heart_rate=190))
    await deliver(profile_updated(T0 + timedelta(minutes=5), ftp_watts=231))
    assert await stored_ftp(sessionmaker) == (231, T0 + timedelta(minutes=5))
    async with sessionmaker() as session:
        profile = await repository.get_profile(session, "user-1")
    assert profile is not None
    assert profile.max_heart_rate is None  # the whole profile travels: a cleared field is cleared


async def test_an_older_profile_arriving_late_is_ignored(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await deliver(profile_updated(T0 + timedelta(minutes=5), ftp_watts=231))
    await deliver(profile_updated(T0, ftp_watts=220))
    assert await stored_ftp(sessionmaker) == (231, T0 + timedelta(minutes=5))


async def test_a_profile_as_old_as_the_stored_one_changes_nothing(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await deliver(profile_updated(T0, ftp_watts=231))
    await deliver(profile_updated(T0, ftp_watts=999))
    assert await stored_ftp(sessionmaker) == (231, T0)
