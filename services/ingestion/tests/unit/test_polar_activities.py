"""Polar AccessLink exercises in Relay's model, read as the worker reads them: the exercise an `EXERCISE`
webhook names, and the exercises of a period (what AccessLink still serves: the last 30 days), through
the fake AccessLink."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
import pytest

from ingestion.providers import polar
from ingestion.providers.base import (
    NotFoundAtProvider,
    Notification,
    ProviderUnavailable,
    RateLimited,
    TokenRejected,
)
from relay_testing.fakes.providers import FakeProviders
from relay_testing.fakes.providers.api import polar as fake_polar
from relay_testing.fakes.providers.state import PolarRegistration

from .reading_fakes import api_url, linked_athlete, notification_of, provider_http

NOW = datetime.now(UTC).replace(microsecond=0)

# An exercise as AccessLink's `GET /v3/exercises/{exerciseId}` documents it.
TRAIL_RUN = {
    "id": "aQlC83",
    "upload_time": "2024-05-12T09:41:07.000Z",
    "polar_user": "https://www.polaraccesslink.com/v3/users/475",
    "device": "Polar Grit X2 Pro",
    "device_id": "C4A18B2E",
    "start_time": "2024-05-12T08:30:15",
    "start_time_utc_offset": 120,
    "duration": "PT1H2M3.5S",
    "calories": 812,
    "distance": 11842.7,
    "heart_rate": {"average": 151, "maximum": 179},
    "training_load": 138.6,
    "sport": "RUNNING",
    "has_route": True,
    "detailed_sport_info": "TRAIL_RUNNING",
    "fat_percentage": 34,
    "carbohydrate_percentage": 63,
    "protein_percentage": 3,
    "running-index": 52,
}


def registered_athlete(fake: FakeProviders) -> tuple[str, str]:
    """An athlete who authorized Relay at Polar and was registered with its client: their Polar user
    id and access token."""
    user_id, token = linked_athlete(fake, "polar")
    fake.state.polar_registrations[user_id] = PolarRegistration("relay-1", fake.state.now_datetime())
    return user_id, token


polar_http = partial(provider_http, "polar")


def exercise_event(user_id: str, exercise_id: str) -> Notification:
    payload = fake_polar.polar_exercise_event(user_id, exercise_id, api_url("polar"))
    return notification_of("polar", user_id, exercise_id, payload, event_time=NOW)


def test_an_exercise_is_read_in_utc_from_its_local_start_and_offset_in_si_units() -> None:
    activity = polar.normalize(TRAIL_RUN)

    assert activity is not None
    assert activity.external_id == "aQlC83"
    assert activity.provider_user_id == "475"
    assert (activity.sport, activity.sub_sport, activity.sport_type) == ("run", "trail", "TRAIL_RUNNING")
    assert activity.start_time == datetime(2024, 5, 12, 6, 30, 15, tzinfo=UTC)
    assert activity.utc_offset_seconds == 7200
    assert activity.elapsed_time_s == 3724
    assert activity.distance_m == 11842.7
    assert (activity.average_heartrate, activity.max_heartrate) == (151, 179)
    assert activity.calories == 812
    assert activity.device_name == "Polar Grit X2 Pro"
    assert activity.raw["running-index"] == 52


def test_an_exercise_west_of_utc_without_heart_rate_or_distance_leaves_them_unknown() -> None:
    swim = {
        **TRAIL_RUN,
        "start_time": "2024-05-11T18:05:00",
        "start_time_utc_offset": -300,
        "duration": "PT45M",
        "heart_rate": {},
        "sport": "SWIMMING",
        "detailed_sport_info": "POOL_SWIMMING",
        "has_route": False,
    }
    del swim["distance"]

    activity = polar.normalize(swim)

    assert activity is not None
    assert activity.start_time == datetime(2024, 5, 11, 23, 5, tzinfo=UTC)
    assert activity.utc_offset_seconds == -18000
    assert activity.elapsed_time_s == 2700
    assert (activity.sport, activity.sub_sport) == ("swim", "pool")
    assert activity.distance_m is None
    assert activity.average_heartrate is None


@pytest.mark.parametrize(
    ("detailed_sport_info", "sport", "expected"),
    [
        ("RUNNING", "RUNNING", ("run", None)),
        ("TREADMILL_RUNNING", "RUNNING", ("run", "treadmill")),
        ("TRACK_AND_FIELD_RUNNING", "RUNNING", ("run", "track")),
        ("ROAD_BIKING", "CYCLING", ("bike", "road")),
        ("INDOOR_CYCLING", "CYCLING", ("bike", "indoor")),
        ("MOUNTAIN_BIKING", "CYCLING", ("bike", "mountain")),
        ("GRAVEL", "CYCLING", ("bike", "gravel")),
        ("E_BIKE", "CYCLING", ("bike", "e_bike")),
        ("OPEN_WATER_SWIMMING", "SWIMMING", ("swim", "open_water")),
        ("TRIATHLON_SWIMMING", "SWIMMING", ("swim", "open_water")),
        ("NORDIC_WALKING", "OTHER", ("walk", None)),
        ("HIKING", "OTHER", ("hike", None)),
        ("INDOOR_ROWING", "OTHER", ("row", "indoor")),
        ("CROSS-COUNTRY_SKIING", "OTHER", ("ski", None)),
        ("STRENGTH_TRAINING", "OTHER", ("strength", None)),
        ("HIIT", "OTHER", ("cardio", None)),
        ("YOGA", "OTHER", ("yoga", None)),
        ("WATERSPORTS_WATERSKI", "OTHER", ("other", None)),
        (None, "CYCLING", ("bike", None)),
        (None, "OTHER", ("other", None)),
    ],
)
def test_polar_sports_map_to_relays(
    detailed_sport_info: str | None, sport: str, expected: tuple[str, str | None]
) -> None:
    activity = polar.normalize({**TRAIL_RUN, "detailed_sport_info": detailed_sport_info, "sport": sport})

    assert activity is not None
    assert (activity.sport, activity.sub_sport) == expected
    assert activity.sport_type == (detailed_sport_info or sport)


def test_a_payload_without_id_or_start_is_not_an_activity() -> None:
    assert polar.normalize({**TRAIL_RUN, "id": None}) is None
    assert polar.normalize({key: value for key, value in TRAIL_RUN.items() if key != "start_time"}) is None


async def test_the_exercise_a_webhook_names_is_fetched_from_accesslink(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, token = registered_athlete(fake)
    exercise = fake_polar.polar_exercise(start=NOW - timedelta(hours=3), polar_user_id=user_id)
    await fake.put_activity("polar", user_id, exercise["id"], exercise)

    fetched = await polar.API.fetch(
        polar_http(client, user_id, token), exercise_event(user_id, exercise["id"])
    )

    assert [activity.external_id for activity in fetched.activities] == [exercise["id"]]
    assert fetched.activities[0].start_time == NOW - timedelta(hours=3)
    assert fetched.activities[0].provider_user_id == user_id
    assert fetched.deleted == []


async def test_a_period_lists_the_exercises_that_started_in_it_among_the_last_30_days(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, token = registered_athlete(fake)
    days_ago = [1, 4, 9, 20, 45]
    exercises = [
        fake_polar.polar_exercise(start=NOW - timedelta(days=n), polar_user_id=user_id) for n in days_ago
    ]
    for exercise in exercises:
        await fake.put_activity("polar", user_id, exercise["id"], exercise)

    page = await polar.API.list_activities(
        polar_http(client, user_id, token), NOW - timedelta(days=60), NOW - timedelta(days=2), None
    )

    # The 45-day-old exercise is beyond what AccessLink serves: it cannot be backfilled.
    assert [activity.external_id for activity in page.activities] == [exercises[n]["id"] for n in (3, 2, 1)]
    assert page.cursor is None
    assert page.expected_total == 3


async def test_a_refused_token_a_missing_exercise_and_accesslink_failures_are_told_apart(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, token = registered_athlete(fake)
    http = polar_http(client, user_id, token)

    with pytest.raises(NotFoundAtProvider):
        await polar.API.fetch(http, exercise_event(user_id, "gone1234"))
    with pytest.raises(TokenRejected):
        await polar.API.fetch(polar_http(client, user_id, "revoked-token"), exercise_event(user_id, "x"))
    await fake.fail_next("polar", "server_error", "/v3/exercises")
    with pytest.raises(ProviderUnavailable):
        await polar.API.list_activities(http, NOW - timedelta(days=30), NOW, None)
    await fake.fail_next("polar", "rate_limited")
    with pytest.raises(RateLimited) as limited:
        await polar.API.list_activities(http, NOW - timedelta(days=30), NOW, None)
    assert limited.value.retry_at > datetime.now(UTC) + timedelta(seconds=30)


async def test_a_deletion_is_passed_on_without_calling_accesslink(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, token = registered_athlete(fake)
    event = exercise_event(user_id, "aQlC83")
    deletion = replace(event, aspect_type="delete")

    fetched = await polar.API.fetch(polar_http(client, user_id, token), deletion)

    assert (fetched.activities, fetched.deleted) == ([], ["aQlC83"])
    assert await fake.received("polar") == []
