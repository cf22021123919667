"""Fitbit exercises in Relay's model, read as the worker reads them: a notification names a date, whose
exercises are listed; a period is listed page by page following Fitbit's `next` links; all through the
fake Fitbit Web API."""

from datetime import UTC, date, datetime, timedelta
from functools import partial

import httpx
import pytest

from ingestion.providers import fitbit
from ingestion.providers.base import (
    Notification,
    ProviderUnavailable,
    RateLimited,
    TokenRejected,
)
from relay_testing.fakes.providers import FakeProviders
from relay_testing.fakes.providers.api import fitbit as fake_fitbit

from .reading_fakes import linked_athlete, notification_of, provider_http

LOS_ANGELES = -420  # minutes east of UTC in summer

# An entry as Fitbit's Get Activity Log List documents it (metric unit system).
AFTERNOON_RUN = {
    "activeDuration": 1536000,
    "activityLevel": [
        {"minutes": 0, "name": "sedentary"},
        {"minutes": 0, "name": "lightly"},
        {"minutes": 0, "name": "fairly"},
        {"minutes": 26, "name": "very"},
    ],
    "activityName": "Run",
    "activityTypeId": 90009,
    "averageHeartRate": 150,
    "calories": 284,
    "caloriesLink": "https://api.fitbit.com/1/user/-/activities/calories/date/2019-01-03/2019-01-03/1min/time/12:08/12:34.json",
    "distance": 4.020064,
    "distanceUnit": "Kilometer",
    "duration": 1536000,
    "elevationGain": 12.192,
    "hasActiveZoneMinutes": True,
    "heartRateLink": "https://api.fitbit.com/1/user/-/activities/heart/date/2019-01-03/2019-01-03/1sec/time/12:08:23/12:34:00.json",
    "lastModified": "2019-01-04T19:31:15.000Z",
    "logId": 19018673358,
    "logType": "auto_detected",
    "manualValuesSpecified": {"calories": False, "distance": False, "steps": False},
    "originalDuration": 1536000,
    "originalStartTime": "2019-01-03T12:08:23.000-08:00",
    "pace": 382.1334615424576,
    "source": {
        "id": "28150538",
        "name": "Charge 3",
        "trackerFeatures": ["HEARTRATE", "DISTANCE", "CALORIES", "STEPS", "ELEVATION"],
        "type": "tracker",
        "url": "https://www.fitbit.com/",
    },
    "speed": 9.420776,
    "startTime": "2019-01-03T12:08:23.000-08:00",
    "steps": 3783,
    "tcxLink": "https://api.fitbit.com/1/user/-/activities/19018673358.tcx",
}


fitbit_http = partial(provider_http, "fitbit")


def notification(user_id: str, day: date, collection: str = "activities") -> Notification:
    [payload] = fake_fitbit.fitbit_notification(user_id, day, collection_type=collection)
    return notification_of(
        "fitbit", user_id, day.isoformat(), payload, aspect_type="update", object_type=collection
    )


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """`hour:minute` on `day` in Los Angeles, as an instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(minutes=LOS_ANGELES)


def test_an_entry_is_read_in_utc_from_its_local_start_with_kilometres_and_milliseconds_in_si() -> None:
    activity = fitbit.normalize(AFTERNOON_RUN)

    assert activity is not None
    assert activity.external_id == "19018673358"
    assert (activity.sport, activity.sub_sport, activity.sport_type, activity.name) == (
        "run",
        None,
        "Run",
        "Run",
    )
    assert activity.start_time == datetime(2019, 1, 3, 20, 8, 23, tzinfo=UTC)
    assert activity.utc_offset_seconds == -8 * 3600
    assert (activity.elapsed_time_s, activity.moving_time_s) == (1536, 1536)
    assert activity.distance_m == pytest.approx(4020.064)
    assert activity.elevation_gain_m == pytest.approx(12.192)
    assert activity.average_speed_mps == pytest.approx(9.420776 / 3.6)
    assert (activity.average_heartrate, activity.calories) == (150, 284)
    assert activity.device_name == "Charge 3"
    assert activity.is_manual is False
    assert activity.raw["steps"] == 3783


def test_an_entry_in_the_us_unit_system_is_converted_from_miles_and_feet() -> None:
    imperial = {**AFTERNOON_RUN, "distance": 2.5, "distanceUnit": "Mile", "elevationGain": 40, "speed": 6.0}

    activity = fitbit.normalize(imperial)

    assert activity is not None
    assert activity.distance_m == pytest.approx(4023.36)
    assert activity.elevation_gain_m == pytest.approx(12.192)
    assert activity.average_speed_mps == pytest.approx(2.68224)


def test_a_manually_logged_workout_without_distance_is_marked_manual() -> None:
    manual = {
        **AFTERNOON_RUN,
        "activityName": "Weights",
        "activityTypeId": 2131,
        "logType": "manual",
        "source": {
            "id": "1",
            "name": "Fitbit for Android",
            "type": "app",
            "url": "https://www.fitbit.com/android",
        },
        "startTime": "2019-01-05T18:30:00.000+01:00",
        "activeDuration": 2700000,
        "duration": 2700000,
    }
    for measured in ("distance", "distanceUnit", "speed", "pace", "averageHeartRate", "elevationGain"):
        del manual[measured]

    activity = fitbit.normalize(manual)

    assert activity is not None
    assert (activity.sport, activity.is_manual, activity.elapsed_time_s) == ("strength", True, 2700)
    assert activity.start_time == datetime(2019, 1, 5, 17, 30, tzinfo=UTC)
    assert (activity.distance_m, activity.average_speed_mps, activity.average_heartrate) == (None, None, None)


@pytest.mark.parametrize(
    ("type_id", "name", "expected"),
    [
        (90009, "Run", ("run", None)),
        (90009, "Laufen", ("run", None)),
        (90001, "Bike", ("bike", None)),
        (1071, "Outdoor Bike", ("bike", None)),
        (55001, "Spinning", ("bike", "indoor")),
        (90024, "Swim", ("swim", None)),
        (90013, "Walk", ("walk", None)),
        (90012, "Hike", ("hike", None)),
        (20049, "Treadmill", ("run", "treadmill")),
        (2131, "Weights", ("strength", None)),
        (20047, "Elliptical", ("cardio", None)),
        (52000, "Yoga", ("yoga", None)),
        (15000, "Sport", ("other", None)),
        (15675, "Tennis", ("other", None)),
    ],
)
def test_fitbit_exercise_types_map_to_relays_sports(
    type_id: int, name: str, expected: tuple[str, str | None]
) -> None:
    activity = fitbit.normalize({**AFTERNOON_RUN, "activityTypeId": type_id, "activityName": name})

    assert activity is not None
    assert (activity.sport, activity.sub_sport) == expected


async def test_a_notification_reads_the_exercises_of_its_local_date_and_stops_past_it(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, token = linked_athlete(fake, "fitbit")
    day = date(2024, 5, 1)
    entries = {
        "day_before": fake_fitbit.fitbit_activity(
            start=at(day - timedelta(days=1), 18), utc_offset_minutes=LOS_ANGELES
        ),
        "morning": fake_fitbit.fitbit_activity(start=at(day, 6, 45), utc_offset_minutes=LOS_ANGELES),
        "noon": fake_fitbit.fitbit_activity(start=at(day, 12, 10), utc_offset_minutes=LOS_ANGELES),
        # Late in the evening in Los Angeles, already the next day in UTC: still the notified date.
        "late": fake_fitbit.fitbit_activity(start=at(day, 23, 20), utc_offset_minutes=LOS_ANGELES),
        "next_day": fake_fitbit.fitbit_activity(
            start=at(day + timedelta(days=1), 7), utc_offset_minutes=LOS_ANGELES
        ),
    }
    for entry in entries.values():
        await fake.put_activity("fitbit", user_id, entry["logId"], entry)

    fetched = await fitbit.API.fetch(fitbit_http(client, user_id, token), notification(user_id, day))

    assert [a.external_id for a in fetched.activities] == [
        str(entries[name]["logId"]) for name in ("morning", "noon", "late")
    ]
    assert fetched.deleted == []
    [request] = await fake.received("fitbit")
    assert request.query == {"afterDate": "2024-05-01", "sort": "asc", "offset": "0", "limit": "100"}


async def test_a_notification_about_another_collection_reads_nothing(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, token = linked_athlete(fake, "fitbit")

    fetched = await fitbit.API.fetch(
        fitbit_http(client, user_id, token), notification(user_id, date(2024, 5, 1), "sleep")
    )

    assert (fetched.activities, fetched.deleted) == ([], [])
    assert await fake.received("fitbit") == []


async def test_a_period_is_read_page_by_page_following_the_next_links(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, token = linked_athlete(fake, "fitbit")
    since, until = datetime(2024, 3, 1, 8, tzinfo=UTC), datetime(2024, 4, 30, 8, tzinfo=UTC)
    inside = [
        fake_fitbit.fitbit_activity(start=since + timedelta(hours=11 * n + 1), utc_offset_minutes=LOS_ANGELES)
        for n in range(130)
    ]
    before = fake_fitbit.fitbit_activity(start=since - timedelta(hours=3), utc_offset_minutes=LOS_ANGELES)
    after = [
        fake_fitbit.fitbit_activity(start=until + timedelta(days=n, hours=2), utc_offset_minutes=LOS_ANGELES)
        for n in range(3)
    ]
    for entry in [before, *inside, *after]:
        await fake.put_activity("fitbit", user_id, entry["logId"], entry)
    http = fitbit_http(client, user_id, token)

    pages = [await fitbit.API.list_activities(http, since, until, None)]
    while pages[-1].cursor is not None:
        pages.append(await fitbit.API.list_activities(http, since, until, pages[-1].cursor))

    listed = [activity.external_id for page in pages for activity in page.activities]
    assert listed == [str(entry["logId"]) for entry in inside]
    assert len(pages) == 2
    requests = await fake.received("fitbit")
    assert requests[0].query == {"afterDate": "2024-02-29", "sort": "asc", "offset": "0", "limit": "100"}
    assert requests[1].query["offset"] == "100"


async def test_a_refused_token_a_missing_scope_and_fitbit_failures_are_told_apart(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, token = linked_athlete(fake, "fitbit")
    _, token_without_activity = linked_athlete(fake, "fitbit", scopes=("heartrate", "profile"))
    http = fitbit_http(client, user_id, token)
    day = date(2024, 5, 1)

    with pytest.raises(TokenRejected):
        await fitbit.API.fetch(fitbit_http(client, user_id, "expired"), notification(user_id, day))
    with pytest.raises(TokenRejected):
        await fitbit.API.fetch(
            fitbit_http(client, user_id, token_without_activity), notification(user_id, day)
        )
    await fake.fail_next("fitbit", "server_error", "/1/user/-/activities/list.json")
    with pytest.raises(ProviderUnavailable):
        await fitbit.API.fetch(http, notification(user_id, day))
    await fake.fail_next("fitbit", "rate_limited")
    with pytest.raises(RateLimited):
        await fitbit.API.list_activities(
            http, datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 5, 1, tzinfo=UTC), None
        )
