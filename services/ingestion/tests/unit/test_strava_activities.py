"""Strava activities in Relay's model, and how they are read from Strava's API (the fake Strava, served
in the test's process)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ingestion.providers.base import (
    NotFoundAtProvider,
    Notification,
    Priority,
    ProviderHttp,
    ProviderUnavailable,
    RateLimited,
    TokenRejected,
)
from ingestion.providers.strava import API, SPORTS, normalize
from relay_testing.fakes.strava import FakeStrava, StravaAthlete, strava_activity

from .reading_fakes import CountingBudget, notification_of, provider_http

ATHLETE = 134815

MORNING_RUN: dict[str, Any] = {
    "resource_state": 3,
    "athlete": {"id": ATHLETE, "resource_state": 1},
    "name": "Morning Run",
    "distance": 12043.7,
    "moving_time": 3561,
    "elapsed_time": 3690,
    "total_elevation_gain": 131.0,
    "type": "Run",
    "sport_type": "Run",
    "workout_type": 0,
    "id": 14872209123,
    "start_date": "2025-06-14T05:31:12Z",
    "start_date_local": "2025-06-14T07:31:12Z",
    "timezone": "(GMT+01:00) Europe/Paris",
    "utc_offset": 7200.0,
    "location_country": "France",
    "map": {"id": "a14872209123", "polyline": "m`ixG}`ed@oBqA", "summary_polyline": "m`ixG}`ed@oBqA"},
    "trainer": False,
    "commute": False,
    "manual": False,
    "private": False,
    "visibility": "everyone",
    "start_latlng": [45.8992, 6.1294],
    "end_latlng": [45.8991, 6.1297],
    "average_speed": 3.382,
    "max_speed": 5.1,
    "average_cadence": 85.4,
    "has_heartrate": True,
    "average_heartrate": 148.3,
    "max_heartrate": 171.0,
    "elev_high": 512.4,
    "elev_low": 446.2,
    "upload_id": 15903345678,
    "upload_id_str": "15903345678",
    "external_id": "garmin_ping_372918273645",
    "calories": 781.0,
    "device_name": "Garmin Forerunner 965",
}

ZWIFT_RIDE: dict[str, Any] = {
    "resource_state": 3,
    "athlete": {"id": ATHLETE, "resource_state": 1},
    "name": "Zwift - Tempus Fugit in Watopia",
    "distance": 40213.9,
    "moving_time": 4212,
    "elapsed_time": 4230,
    "total_elevation_gain": 32.0,
    "type": "VirtualRide",
    "sport_type": "VirtualRide",
    "workout_type": None,
    "id": 13388412251,
    "start_date": "2025-01-21T18:02:40Z",
    "start_date_local": "2025-01-21T19:02:40Z",
    "timezone": "(GMT+01:00) Europe/Paris",
    "utc_offset": 3600.0,
    "map": {"id": "a13388412251", "summary_polyline": "rkuqCpnbh^lE_D"},
    "trainer": True,
    "manual": False,
    "private": False,
    "start_latlng": [-11.636, 166.948],
    "average_speed": 9.547,
    "max_speed": 17.6,
    "average_cadence": 89.2,
    "average_watts": 212.6,
    "kilojoules": 895.5,
    "device_watts": True,
    "weighted_average_watts": 226,
    "max_watts": 611,
    "has_heartrate": True,
    "average_heartrate": 145.1,
    "max_heartrate": 168.0,
    "external_id": "zwift-activity-1834261537283510272.fit",
    "upload_id": 14249987711,
    "calories": 998.0,
    "device_name": "Zwift",
}

POOL_SWIM: dict[str, Any] = {
    "resource_state": 2,
    "athlete": {"id": ATHLETE, "resource_state": 1},
    "name": "Lunch Swim",
    "distance": 2500.0,
    "moving_time": 2781,
    "elapsed_time": 3422,
    "total_elevation_gain": 0.0,
    "type": "Swim",
    "sport_type": "Swim",
    "id": 13402291877,
    "start_date": "2025-01-23T11:15:03Z",
    "start_date_local": "2025-01-23T12:15:03Z",
    "timezone": "(GMT+01:00) Europe/Paris",
    "utc_offset": 3600.0,
    "map": {"id": "a13402291877", "summary_polyline": "", "resource_state": 2},
    "trainer": False,
    "manual": False,
    "private": False,
    "start_latlng": [],
    "end_latlng": [],
    "average_speed": 0.899,
    "max_speed": 1.2,
    "has_heartrate": False,
    "external_id": "garmin_ping_371900112233",
    "upload_id": 14265540021,
}

MANUAL_STRENGTH: dict[str, Any] = {
    "resource_state": 3,
    "athlete": {"id": ATHLETE, "resource_state": 1},
    "name": "Gym - legs and core",
    "distance": 0.0,
    "moving_time": 2700,
    "elapsed_time": 2700,
    "total_elevation_gain": 0.0,
    "type": "WeightTraining",
    "sport_type": "WeightTraining",
    "id": 13410055800,
    "start_date": "2025-01-24T17:30:00Z",
    "start_date_local": "2025-01-24T18:30:00Z",
    "timezone": "(GMT+01:00) Europe/Paris",
    "utc_offset": 3600.0,
    "map": {"id": "a13410055800", "summary_polyline": None, "resource_state": 3},
    "trainer": False,
    "manual": True,
    "private": False,
    "start_latlng": [],
    "average_speed": 0.0,
    "max_speed": 0.0,
    "has_heartrate": False,
    "external_id": None,
    "upload_id": None,
    "calories": 0.0,
    "device_name": None,
}

# Strava's documented `sport_type` values and what Relay makes of them.
SPORT_TYPES: list[tuple[str, str, str | None]] = [
    ("Run", "run", None),
    ("TrailRun", "run", "trail"),
    ("VirtualRun", "run", "virtual"),
    ("Ride", "bike", None),
    ("VirtualRide", "bike", "virtual"),
    ("MountainBikeRide", "bike", "mountain"),
    ("GravelRide", "bike", "gravel"),
    ("EBikeRide", "bike", "e_bike"),
    ("EMountainBikeRide", "bike", "e_bike"),
    ("Velomobile", "bike", None),
    ("Handcycle", "bike", None),
    ("Swim", "swim", None),  # a manual entry: pool or open water, nobody knows
    ("Walk", "walk", None),
    ("Hike", "hike", None),
    ("Snowshoe", "hike", None),
    ("Rowing", "row", None),
    ("VirtualRow", "row", "virtual"),
    ("AlpineSki", "ski", None),
    ("BackcountrySki", "ski", None),
    ("NordicSki", "ski", None),
    ("Snowboard", "ski", None),
    ("RollerSki", "ski", None),
    ("WeightTraining", "strength", None),
    ("Crossfit", "strength", None),
    ("Workout", "cardio", None),
    ("HighIntensityIntervalTraining", "cardio", None),
    ("Elliptical", "cardio", None),
    ("StairStepper", "cardio", None),
    ("Yoga", "yoga", None),
    ("Pilates", "yoga", None),
    ("Kayaking", "other", None),
    ("Canoeing", "other", None),
    ("StandUpPaddling", "other", None),
    ("Surfing", "other", None),
    ("Kitesurf", "other", None),
    ("Windsurf", "other", None),
    ("Sail", "other", None),
    ("IceSkate", "other", None),
    ("InlineSkate", "other", None),
    ("Skateboard", "other", None),
    ("RockClimbing", "other", None),
    ("Golf", "other", None),
    ("Soccer", "other", None),
    ("Tennis", "other", None),
    ("Badminton", "other", None),
    ("Pickleball", "other", None),
    ("Racquetball", "other", None),
    ("Squash", "other", None),
    ("TableTennis", "other", None),
    ("Wheelchair", "other", None),
]


def test_a_run_with_heart_rate_keeps_its_measures_its_time_zone_and_its_device() -> None:
    run = normalize(MORNING_RUN)

    assert run is not None
    assert (run.provider, run.external_id, run.provider_user_id) == ("strava", "14872209123", "134815")
    assert (run.sport, run.sub_sport, run.sport_type) == ("run", None, "Run")
    assert run.name == "Morning Run"
    assert run.start_time == datetime(2025, 6, 14, 5, 31, 12, tzinfo=UTC)
    assert run.timezone == "Europe/Paris"
    assert run.utc_offset_seconds == 7200  # summer time, although Strava's label says GMT+01:00
    assert (run.elapsed_time_s, run.moving_time_s) == (3690, 3561)
    assert (run.distance_m, run.elevation_gain_m) == (12043.7, 131.0)
    assert (run.average_heartrate, run.max_heartrate) == (148.3, 171.0)
    assert (run.average_speed_mps, run.max_speed_mps, run.average_cadence) == (3.382, 5.1, 85.4)
    assert run.average_power_w is None
    assert run.calories == 781.0
    assert run.device_name == "Garmin Forerunner 965"
    assert run.is_manual is False
    assert run.raw == MORNING_RUN


def test_a_zwift_ride_is_a_virtual_bike_ride_with_its_power() -> None:
    ride = normalize(ZWIFT_RIDE)

    assert ride is not None
    assert (ride.sport, ride.sub_sport, ride.sport_type) == ("bike", "virtual", "VirtualRide")
    assert (ride.average_power_w, ride.normalized_power_w, ride.max_power_w) == (212.6, 226.0, 611.0)
    assert ride.utc_offset_seconds == 3600
    assert ride.device_name == "Zwift"
    assert ride.raw["kilojoules"] == 895.5  # energy stays in the provider's payload


def test_a_ride_on_a_trainer_is_indoors_and_a_run_on_one_is_on_a_treadmill() -> None:
    ride = normalize({**ZWIFT_RIDE, "type": "Ride", "sport_type": "Ride", "device_name": "Garmin Edge 840"})
    run = normalize({**MORNING_RUN, "trainer": True, "start_latlng": [], "map": {"summary_polyline": ""}})

    assert ride is not None and run is not None
    assert (ride.sport, ride.sub_sport) == ("bike", "indoor")
    assert (run.sport, run.sub_sport) == ("run", "treadmill")


def test_estimated_power_is_not_taken_for_measured_power() -> None:
    estimated = {**ZWIFT_RIDE, "sport_type": "Ride", "trainer": False, "device_watts": False}
    del estimated["weighted_average_watts"], estimated["max_watts"]

    ride = normalize(estimated)

    assert ride is not None
    assert (ride.average_power_w, ride.normalized_power_w, ride.max_power_w) == (None, None, None)
    assert ride.raw["average_watts"] == 212.6


def test_a_pool_swim_summary_is_a_swim_in_a_pool_without_calories_or_heart_rate() -> None:
    swim = normalize(POOL_SWIM)

    assert swim is not None
    assert (swim.sport, swim.sub_sport) == ("swim", "pool")
    assert swim.distance_m == 2500.0
    assert (swim.moving_time_s, swim.elapsed_time_s) == (2781, 3422)
    assert swim.average_heartrate is None
    assert swim.calories is None  # summaries do not carry calories
    assert swim.device_name is None


def test_a_swim_with_a_gps_track_is_in_open_water() -> None:
    lake = {
        **POOL_SWIM,
        "start_latlng": [45.8654, 6.1711],
        "map": {"id": "a13402291877", "summary_polyline": "aq`xGsqmd@kA{B", "resource_state": 2},
    }

    swim = normalize(lake)

    assert swim is not None
    assert swim.sub_sport == "open_water"


def test_a_manual_entry_without_distance_has_no_distance_speed_or_elevation() -> None:
    session = normalize(MANUAL_STRENGTH)

    assert session is not None
    assert (session.sport, session.sub_sport, session.sport_type) == ("strength", None, "WeightTraining")
    assert session.is_manual is True
    assert session.name == "Gym - legs and core"
    assert session.moving_time_s == 2700
    assert (session.distance_m, session.elevation_gain_m) == (None, None)
    assert (session.average_speed_mps, session.max_speed_mps) == (None, None)
    assert (session.calories, session.device_name) == (None, None)


def test_without_a_time_zone_the_offset_comes_from_the_local_start() -> None:
    payload = {k: v for k, v in MORNING_RUN.items() if k not in ("timezone", "utc_offset")}

    run = normalize(payload)

    assert run is not None
    assert run.timezone is None
    assert run.utc_offset_seconds == 7200
    assert run.start_time == datetime(2025, 6, 14, 5, 31, 12, tzinfo=UTC)


def test_without_a_time_zone_or_a_local_start_neither_is_guessed() -> None:
    payload = {
        k: v for k, v in MORNING_RUN.items() if k not in ("timezone", "utc_offset", "start_date_local")
    }

    run = normalize(payload)

    assert run is not None
    assert (run.timezone, run.utc_offset_seconds) == (None, None)


def test_a_time_zone_strava_labels_oddly_is_dropped_but_its_offset_kept() -> None:
    run = normalize({**MORNING_RUN, "timezone": "(GMT+01:00) Europe/Atlantis"})

    assert run is not None
    assert (run.timezone, run.utc_offset_seconds) == (None, 7200)


def test_without_a_utc_start_the_start_comes_from_the_local_start_and_the_offset() -> None:
    run = normalize({k: v for k, v in MORNING_RUN.items() if k != "start_date"})

    assert run is not None
    assert run.start_time == datetime(2025, 6, 14, 5, 31, 12, tzinfo=UTC)


def test_a_payload_without_an_id_or_any_start_is_not_an_activity() -> None:
    assert normalize({k: v for k, v in MORNING_RUN.items() if k != "id"}) is None
    assert normalize({k: v for k, v in MORNING_RUN.items() if k not in ("start_date", "utc_offset")}) is None


@pytest.mark.parametrize(("sport_type", "sport", "sub_sport"), SPORT_TYPES)
def test_every_documented_sport_type_has_a_relay_sport(
    sport_type: str, sport: str, sub_sport: str | None
) -> None:
    activity = normalize({**MANUAL_STRENGTH, "type": "Workout", "sport_type": sport_type})

    assert activity is not None
    assert (activity.sport, activity.sub_sport, activity.sport_type) == (sport, sub_sport, sport_type)


def test_the_mapping_is_exactly_strava_s_documented_sport_types() -> None:
    assert set(SPORTS) == {sport_type for sport_type, _, _ in SPORT_TYPES}


def test_a_sport_type_newer_than_relay_falls_back_to_the_older_type() -> None:
    padel = normalize({**MANUAL_STRENGTH, "type": "Workout", "sport_type": "Padel"})
    unknown = normalize({**MANUAL_STRENGTH, "type": "Dance", "sport_type": "Dance"})
    legacy = normalize({k: v for k, v in MORNING_RUN.items() if k != "sport_type"})

    assert padel is not None and unknown is not None and legacy is not None
    assert (padel.sport, padel.sport_type) == ("cardio", "Padel")
    assert (unknown.sport, unknown.sport_type) == ("other", "Dance")
    assert (legacy.sport, legacy.sport_type) == ("run", "Run")


# Reading from Strava's API, against the fake Strava.


@pytest.fixture
def fake() -> FakeStrava:
    return FakeStrava()


async def strava_http(
    fake: FakeStrava,
    client: httpx.AsyncClient,
    budget: CountingBudget,
    *,
    athlete_id: int = ATHLETE,
    scopes: list[str] | None = None,
    priority: Priority = "live",
) -> ProviderHttp:
    tokens = await fake.issue_grant(StravaAthlete(id=athlete_id), scopes=scopes)
    return provider_http(
        "strava",
        client,
        str(athlete_id),
        tokens["access_token"],
        budget=budget,
        priority=priority,
        base_url="http://strava.test/api/v3",
    )


def notification(
    object_id: int | str,
    aspect_type: Any = "create",
    *,
    object_type: str = "activity",
    updates: dict[str, str] | None = None,
) -> Notification:
    return notification_of(
        "strava",
        str(ATHLETE),
        str(object_id),
        {},
        aspect_type=aspect_type,
        object_type=object_type,
        event_time=datetime(2025, 6, 14, 7, 0, 3, tzinfo=UTC),
        updates=updates,
    )


async def test_a_created_activity_is_fetched_in_detail_with_the_athletes_token(
    fake: FakeStrava, client: httpx.AsyncClient, budget: CountingBudget
) -> None:
    http = await strava_http(fake, client, budget)
    stored = await fake.put_activity(ATHLETE, strava_activity(ATHLETE, sport_type="VirtualRide"))

    fetched = await API.fetch(http, notification(stored["id"]))

    [activity] = fetched.activities
    assert fetched.deleted == []
    assert (activity.external_id, activity.sport, activity.sub_sport) == (
        str(stored["id"]),
        "bike",
        "virtual",
    )
    assert activity.calories == stored["calories"]
    assert activity.device_name == "Zwift"
    assert budget.acquired == [("strava", "read", "live")]
    [request] = await fake.received(f"/api/v3/activities/{stored['id']}")
    assert request.headers["authorization"] == f"Bearer {http.access_token}"


async def test_an_update_is_read_again_even_when_it_says_the_activity_became_private(
    fake: FakeStrava, client: httpx.AsyncClient, budget: CountingBudget
) -> None:
    http = await strava_http(fake, client, budget)
    stored = await fake.put_activity(ATHLETE, strava_activity(ATHLETE, name="Morning Run"))
    await fake.put_activity(ATHLETE, {"id": stored["id"], "name": "Tempo 3x10'", "private": True})

    fetched = await API.fetch(
        http, notification(stored["id"], "update", updates={"title": "Tempo 3x10'", "private": "true"})
    )

    assert [a.name for a in fetched.activities] == ["Tempo 3x10'"]
    assert fetched.activities[0].raw["private"] is True


async def test_a_deletion_is_reported_without_asking_strava(
    fake: FakeStrava, client: httpx.AsyncClient, budget: CountingBudget
) -> None:
    http = await strava_http(fake, client, budget)

    fetched = await API.fetch(http, notification(14872209123, "delete"))

    assert (fetched.activities, fetched.deleted) == ([], ["14872209123"])
    assert budget.acquired == []
    assert await fake.received("/api/v3/activities/14872209123") == []


async def test_an_athlete_notification_brings_no_activity(
    fake: FakeStrava, client: httpx.AsyncClient, budget: CountingBudget
) -> None:
    http = await strava_http(fake, client, budget)

    fetched = await API.fetch(
        http, notification(ATHLETE, "update", object_type="athlete", updates={"authorized": "false"})
    )

    assert (fetched.activities, fetched.deleted) == ([], [])
    assert budget.acquired == []


async def test_an_activity_strava_does_not_show_is_not_found(
    fake: FakeStrava, client: httpx.AsyncClient, budget: CountingBudget
) -> None:
    http = await strava_http(fake, client, budget)
    someone_elses = await fake.put_activity(98765, strava_activity(98765, private=True))

    with pytest.raises(NotFoundAtProvider):
        await API.fetch(http, notification(14872209123))
    with pytest.raises(NotFoundAtProvider):
        await API.fetch(http, notification(someone_elses["id"]))


async def test_a_revoked_token_is_rejected(
    fake: FakeStrava, client: httpx.AsyncClient, budget: CountingBudget
) -> None:
    http = await strava_http(fake, client, budget)
    stored = await fake.put_activity(ATHLETE, strava_activity(ATHLETE))
    await client.post("http://strava.test/oauth/deauthorize", data={"access_token": http.access_token})

    with pytest.raises(TokenRejected):
        await API.fetch(http, notification(stored["id"]))


async def test_strava_over_its_limit_means_rate_limited_until_a_later_time(budget: CountingBudget) -> None:
    fake = FakeStrava(read_rate_limit=(1, 1000))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as limited:
        http = await strava_http(fake, limited, budget)
        stored = await fake.put_activity(ATHLETE, strava_activity(ATHLETE))
        await API.fetch(http, notification(stored["id"]))

        with pytest.raises(RateLimited) as refused:
            await API.fetch(http, notification(stored["id"]))

    assert refused.value.retry_at > datetime.now(UTC)
    assert budget.statuses == [200, 429]


async def test_a_429_is_tried_again_when_the_shared_budget_reopens(
    fake: FakeStrava, client: httpx.AsyncClient
) -> None:
    reopens = datetime.now(UTC) + timedelta(seconds=2)

    class ClosedByA429(CountingBudget):
        async def observe(self, provider: str, response: httpx.Response) -> datetime | None:
            await super().observe(provider, response)
            return reopens if response.status_code == 429 else None

    http = await strava_http(fake, client, ClosedByA429())
    stored = await fake.put_activity(ATHLETE, strava_activity(ATHLETE))
    await fake.fail_next("rate_limited", endpoint="api")

    with pytest.raises(RateLimited) as refused:
        await API.fetch(http, notification(stored["id"]))

    assert refused.value.retry_at == reopens  # not the next quarter of an hour: the budget's windows


async def test_a_strava_server_error_means_unavailable(
    fake: FakeStrava, client: httpx.AsyncClient, budget: CountingBudget
) -> None:
    http = await strava_http(fake, client, budget)
    stored = await fake.put_activity(ATHLETE, strava_activity(ATHLETE))
    await fake.fail_next("server_error", endpoint="api")

    with pytest.raises(ProviderUnavailable):
        await API.fetch(http, notification(stored["id"]))


async def test_strava_down_during_a_listing_means_unavailable(
    fake: FakeStrava, client: httpx.AsyncClient, budget: CountingBudget
) -> None:
    http = await strava_http(fake, client, budget)
    await fake.fail_next("down", endpoint="api")

    with pytest.raises(ProviderUnavailable):
        await API.list_activities(
            http, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), None
        )


async def test_450_activities_come_in_three_pages_of_up_to_200_oldest_first(
    fake: FakeStrava, client: httpx.AsyncClient, budget: CountingBudget
) -> None:
    http = await strava_http(fake, client, budget, priority="backfill")
    end = datetime(2026, 1, 15, tzinfo=UTC)
    ids = await fake.add_history(ATHLETE, 450, end=end, seed=3)
    held = await fake.activities(ATHLETE)
    since = min(datetime.fromisoformat(a["start_date"]) for a in held)

    pages, cursors, cursor = [], [], None
    while True:
        page = await API.list_activities(http, since, end, cursor)
        pages.append(page)
        cursor = page.cursor
        cursors.append(cursor)
        if cursor is None:
            break

    assert [len(p.activities) for p in pages] == [200, 200, 50]
    assert cursors == [{"page": 2}, {"page": 3}, None]
    assert all(p.expected_total is None for p in pages)
    listed = [a for p in pages for a in p.activities]
    assert [a.external_id for a in listed] == [str(i) for i in ids]
    starts = [a.start_time for a in listed]
    assert starts == sorted(starts)
    assert len(budget.acquired) == 3
    assert {kind for _, kind, priority in budget.acquired if priority == "backfill"} == {"read"}
    requests = await fake.received("/api/v3/athlete/activities")
    assert [r.query["page"] for r in requests] == ["1", "2", "3"]
    assert {r.query["per_page"] for r in requests} == {"200"}


async def test_a_listing_keeps_to_its_period_its_start_included_and_its_end_excluded(
    fake: FakeStrava, client: httpx.AsyncClient, budget: CountingBudget
) -> None:
    http = await strava_http(fake, client, budget)
    since, until = datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 8, tzinfo=UTC)
    for day, hour in ((31, 23), (1, 0), (4, 6), (7, 23), (8, 0)):
        month = 5 if day == 31 else 6
        await fake.put_activity(
            ATHLETE, strava_activity(ATHLETE, start=datetime(2025, month, day, hour, tzinfo=UTC))
        )

    page = await API.list_activities(http, since, until, None)

    assert [a.start_time for a in page.activities] == [
        datetime(2025, 6, 1, 0, tzinfo=UTC),
        datetime(2025, 6, 4, 6, tzinfo=UTC),
        datetime(2025, 6, 7, 23, tzinfo=UTC),
    ]
    assert page.cursor is None
    [request] = await fake.received("/api/v3/athlete/activities")
    assert int(request.query["after"]) < since.timestamp()
    assert int(request.query["before"]) >= until.timestamp()


async def test_a_listing_resumes_from_its_cursor(
    fake: FakeStrava, client: httpx.AsyncClient, budget: CountingBudget
) -> None:
    http = await strava_http(fake, client, budget)
    end = datetime(2026, 1, 15, tzinfo=UTC)
    ids = await fake.add_history(ATHLETE, 230, end=end, seed=5)

    page = await API.list_activities(http, end - timedelta(days=3650), end, {"page": 2})

    assert [a.external_id for a in page.activities] == [str(i) for i in ids[200:]]
    assert page.cursor is None
