"""Oura workouts in Relay's model, read as the worker reads them: the workout a webhook names (or its
deletion), and the workouts of a period page by page, through the fake Oura API."""

from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
import pytest

from ingestion.providers import oura
from ingestion.providers.base import (
    NotFoundAtProvider,
    Notification,
    Page,
    ProviderHttp,
    ProviderUnavailable,
    RateLimited,
    TokenRejected,
)
from relay_testing.fakes.providers import FakeProviders
from relay_testing.fakes.providers.api import oura as fake_oura

from .reading_fakes import linked_athlete, notification_of, provider_http

NOW = datetime.now(UTC).replace(microsecond=0)

# A workout as Oura's `GET /v2/usercollection/workout/{document_id}` documents it.
MORNING_RIDE = {
    "id": "0d3c7e51-92b4-4f8e-a1c6-3b5f2d9e8a17",
    "activity": "cycling",
    "calories": 634.5,
    "day": "2024-05-12",
    "distance": 28450.0,
    "end_datetime": "2024-05-12T08:47:10.000+02:00",
    "intensity": "hard",
    "label": "Lake loop",
    "source": "confirmed",
    "start_datetime": "2024-05-12T07:32:40.000+02:00",
}


oura_http = partial(provider_http, "oura", priority="backfill")


def workout_event(user_id: str, workout_id: str, event_type: str = "create") -> Notification:
    payload = fake_oura.oura_event(user_id, workout_id, event_type)
    aspect = "delete" if event_type == "delete" else "update" if event_type == "update" else "create"
    return notification_of("oura", user_id, workout_id, payload, aspect_type=aspect, event_time=NOW)


def test_a_workout_is_read_in_utc_with_its_offset_label_and_si_units() -> None:
    activity = oura.normalize(MORNING_RIDE)

    assert activity is not None
    assert activity.external_id == "0d3c7e51-92b4-4f8e-a1c6-3b5f2d9e8a17"
    assert (activity.sport, activity.sub_sport, activity.sport_type) == ("bike", None, "cycling")
    assert activity.name == "Lake loop"
    assert activity.start_time == datetime(2024, 5, 12, 5, 32, 40, tzinfo=UTC)
    assert activity.utc_offset_seconds == 7200
    assert activity.elapsed_time_s == 74 * 60 + 30
    assert activity.distance_m == 28450.0
    assert activity.calories == 634.5
    assert activity.is_manual is False
    assert activity.average_heartrate is None
    assert activity.raw["intensity"] == "hard"


def test_a_manually_entered_workout_without_distance_is_marked_manual() -> None:
    manual = {
        **MORNING_RIDE,
        "activity": "strengthTraining",
        "source": "manual",
        "distance": None,
        "label": None,
    }

    activity = oura.normalize(manual)

    assert activity is not None
    assert (activity.sport, activity.is_manual, activity.distance_m, activity.name) == (
        "strength",
        True,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("activity", "expected"),
    [
        ("running", ("run", None)),
        ("cycling", ("bike", None)),
        ("swimming", ("swim", None)),
        ("walking", ("walk", None)),
        ("hiking", ("hike", None)),
        ("strengthTraining", ("strength", None)),
        ("rowing", ("row", None)),
        ("crossCountrySkiing", ("ski", None)),
        ("elliptical", ("cardio", None)),
        ("yoga", ("yoga", None)),
        ("pilates", ("yoga", None)),
        ("indoorRowing", ("row", None)),
        ("houseWork", ("other", None)),
        ("tennis", ("other", None)),
    ],
)
def test_oura_activities_map_to_relays_sports(activity: str, expected: tuple[str, str | None]) -> None:
    normalized = oura.normalize({**MORNING_RIDE, "activity": activity})

    assert normalized is not None
    assert (normalized.sport, normalized.sub_sport, normalized.sport_type) == (*expected, activity)


async def test_the_workout_a_webhook_names_is_fetched_and_a_deletion_needs_no_call(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, token = linked_athlete(fake, "oura")
    workout = fake_oura.oura_workout(
        start=NOW - timedelta(hours=5), activity="walking", source="autodetected"
    )
    await fake.put_activity("oura", user_id, workout["id"], workout)
    http = oura_http(client, user_id, token)

    created = await oura.API.fetch(http, workout_event(user_id, workout["id"]))
    calls = len(await fake.received("oura"))
    deleted = await oura.API.fetch(http, workout_event(user_id, workout["id"], "delete"))

    assert [(a.external_id, a.sport, a.start_time) for a in created.activities] == [
        (workout["id"], "walk", NOW - timedelta(hours=5))
    ]
    assert (deleted.activities, deleted.deleted) == ([], [workout["id"]])
    assert len(await fake.received("oura")) == calls == 1


async def all_pages(http: ProviderHttp, since: datetime, until: datetime) -> tuple[list[Page], int]:
    pages = [await oura.API.list_activities(http, since, until, None)]
    while pages[-1].cursor is not None:
        pages.append(await oura.API.list_activities(http, since, until, pages[-1].cursor))
    return pages, len(pages)


async def test_a_period_is_read_page_by_page_and_keeps_the_workouts_that_started_in_it(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, token = linked_athlete(fake, "oura")
    since, until = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 8, tzinfo=UTC)
    new_york = -300
    inside = [
        fake_oura.oura_workout(start=since + timedelta(hours=11 * n), utc_offset_minutes=new_york)
        for n in range(14)
    ]
    # Local days on both sides of the period: Oura lists them, the reader leaves them out.
    just_before = fake_oura.oura_workout(start=since - timedelta(hours=1), utc_offset_minutes=new_york)
    just_after = fake_oura.oura_workout(start=until, utc_offset_minutes=600)
    for workout in [just_before, *inside, just_after]:
        await fake.put_activity("oura", user_id, workout["id"], workout)

    pages, count = await all_pages(oura_http(client, user_id, token), since, until)

    listed = [activity.external_id for page in pages for activity in page.activities]
    assert sorted(listed) == sorted(workout["id"] for workout in inside)
    assert count == 2
    requests = await fake.received("oura", "/v2/usercollection/workout")
    assert requests[0].query == {"start_date": "2024-04-30", "end_date": "2024-05-09"}
    assert pages[0].cursor is not None
    assert requests[1].query["next_token"] == pages[0].cursor["next_token"]


async def test_a_refused_token_a_missing_workout_and_oura_failures_are_told_apart(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, token = linked_athlete(fake, "oura")
    http = oura_http(client, user_id, token)
    period = (NOW - timedelta(days=7), NOW)

    with pytest.raises(NotFoundAtProvider):
        await oura.API.fetch(http, workout_event(user_id, "4b1e0c3a-0000-4000-8000-000000000000"))
    with pytest.raises(TokenRejected):
        await oura.API.list_activities(oura_http(client, user_id, "expired"), *period, None)
    await fake.fail_next("oura", "server_error")
    with pytest.raises(ProviderUnavailable):
        await oura.API.list_activities(http, *period, None)
    await fake.fail_next("oura", "down")
    with pytest.raises(ProviderUnavailable):
        await oura.API.list_activities(http, *period, None)
    await fake.fail_next("oura", "rate_limited")
    with pytest.raises(RateLimited):
        await oura.API.list_activities(http, *period, None)
