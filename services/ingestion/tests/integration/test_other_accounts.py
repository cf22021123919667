"""A notification names an account and an activity, and anyone can send Strava's (Strava signs nothing):
what one account's notifications name of another account's activities is neither handed over nor
deleted. The owner keeps their activity as it was, and the other athlete gets nothing of it."""

from datetime import UTC, datetime
from typing import Any

import pytest

from ingestion import storing
from ingestion.models import ProviderLink
from ingestion.providers.base import ActivityData

from .reading import Reading, reading

__all__ = ["reading"]

pytestmark = pytest.mark.integration

OWNER = 26541009
OTHER = 31877502


async def owners_ride(reading: Reading, *, private: bool) -> tuple[str, str, dict[str, Any]]:
    owner = await reading.link("strava", OWNER)
    other = await reading.link("strava", OTHER)
    await reading.work()  # the links' (empty) backfills
    ride = await reading.strava.put_activity(
        OWNER, {"sport_type": "Ride", "name": "Col du Galibier", "private": private}
    )
    await reading.notify("strava", OWNER, ride["id"])
    await reading.work()
    assert [a.external_id for a in await reading.activities(owner)] == [str(ride["id"])]
    return owner, other, ride


@pytest.mark.parametrize("aspect_type", ["create", "update"])
async def test_another_accounts_event_naming_a_public_activity_leaves_it_with_its_athlete(
    reading: Reading, aspect_type: str
) -> None:
    owner, other, ride = await owners_ride(reading, private=False)
    [before] = await reading.activities(owner)

    # Strava shows a public activity to any athlete's token: the other account's token reads it.
    await reading.notify("strava", OTHER, ride["id"], aspect_type)
    await reading.work()

    [after] = await reading.activities(owner)
    assert (after.id, after.user_id, after.revision) == (before.id, owner, before.revision)
    assert await reading.activities(other) == []
    assert [event["subject"] for event in await reading.events("ingestion.activity.upserted")] == [owner]


@pytest.mark.parametrize(("private", "aspect_type"), [(False, "delete"), (True, "create"), (True, "update")])
async def test_another_accounts_event_deletes_nothing_of_the_owners(
    reading: Reading, private: bool, aspect_type: str
) -> None:
    """A deletion, or an activity the other account's token cannot read (404: gone or private, for
    that account)."""
    owner, _, ride = await owners_ride(reading, private=private)

    await reading.notify("strava", OTHER, ride["id"], aspect_type)
    await reading.work()

    assert [a.external_id for a in await reading.activities(owner)] == [str(ride["id"])]
    assert await reading.events("ingestion.activity.deleted") == []


async def test_an_activity_stored_for_one_athlete_is_never_updated_into_anothers(reading: Reading) -> None:
    """Whatever a provider's payload says (or does not say) of its account."""
    owner, other, ride = await owners_ride(reading, private=False)
    [held] = await reading.activities(owner)
    copy = ActivityData(
        provider="strava",
        external_id=str(ride["id"]),
        sport="bike",
        sport_type="Ride",
        name="Renamed by someone else",
        start_time=datetime.now(UTC),
        raw={},
    )
    link = ProviderLink(
        connection_id=f"conn-{OTHER}",
        user_id=other,
        provider="strava",
        provider_user_id=str(OTHER),
        linked_at=datetime.now(UTC),
    )

    async with reading.sessionmaker() as session, session.begin():
        counts = await storing.store_activities(session, link, [copy], topic_prefix="")

    [kept] = await reading.activities(owner)
    assert (counts.created, counts.updated) == (0, 0)
    assert (kept.user_id, kept.name, kept.revision) == (owner, held.name, held.revision)
    assert await reading.activities(other) == []
