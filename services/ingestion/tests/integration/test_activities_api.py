"""The app's reading of an athlete's activities against the real database: seed 001's Strava list, stats
and onboarding analysis, and `/api/activities` over every provider. Activities are stored as the worker
stores them; each athlete calls with their own access token."""

from __future__ import annotations

import calendar
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion.config import Settings
from ingestion.endpoints.activities import router
from ingestion.models import Activity
from relay_platform.service import create_service_app
from relay_testing.identity import FakeIdentity
from relay_testing.plugin import Infrastructure

pytestmark = pytest.mark.integration

PARIS_SUMMER = 7200
PARIS_WINTER = 3600


@dataclass
class AppUnderTest:
    client: httpx.AsyncClient
    identity: FakeIdentity
    sessionmaker: async_sessionmaker[AsyncSession]

    async def get(self, user_id: str, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.identity.bearer(user_id))

    async def store(self, *activities: Activity) -> None:
        # One commit each: a duplicate refers to the activity it was merged into.
        for activity in activities:
            async with self.sessionmaker() as session:
                session.add(activity)
                await session.commit()


@pytest.fixture
async def app(
    fresh_database: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    infrastructure: Infrastructure,
    topic_prefix: str,
) -> AsyncIterator[AppUnderTest]:
    """The service's read API with its lifespan, on the real database, Kafka and Redis; athletes' tokens
    are signed by a fake identity whose public keys the service reads."""
    identity = FakeIdentity()

    settings = Settings(
        database_url=fresh_database,
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        redis_url=infrastructure.redis_url,
        strava_verify_token="verify-token-of-the-tests",
        connections_token="connections-token-of-the-tests",
        rate_limit_enabled=False,
        worker_enabled=False,
    )
    service = create_service_app(
        service="ingestion", settings=settings, routers=[router], key_source=identity.key_source()
    )
    async with service.router.lifespan_context(service):
        transport = httpx.ASGITransport(app=service)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingestion") as client:
            yield AppUnderTest(client=client, identity=identity, sessionmaker=sessionmaker)


# -- Activities as providers describe them -------------------------------------------------------------

STRAVA_SPORTS = {
    "Run": "run",
    "TrailRun": "run",
    "Ride": "bike",
    "VirtualRide": "bike",
    "Swim": "swim",
    "WeightTraining": "strength",
}


def strava(
    user_id: str,
    strava_id: int,
    sport_type: str,
    start: datetime,
    *,
    name: str,
    distance: float | None,
    moving_time: int,
    offset: int = PARIS_SUMMER,
    average_heartrate: float | None = None,
    max_heartrate: float | None = None,
    average_watts: float | None = None,
    matched_session_id: str | None = None,
    duplicate_of: uuid.UUID | None = None,
) -> Activity:
    """A Strava activity as stored from its SummaryActivity (`GET /athlete/activities`)."""
    local = start + timedelta(seconds=offset)
    payload: dict[str, Any] = {
        "resource_state": 2,
        "athlete": {"id": 134815, "resource_state": 1},
        "id": strava_id,
        "name": name,
        "distance": distance or 0.0,
        "moving_time": moving_time,
        "elapsed_time": moving_time + 240,
        "total_elevation_gain": 42.0,
        "type": "Run" if sport_type == "TrailRun" else sport_type,
        "sport_type": sport_type,
        "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "start_date_local": local.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": "(GMT+01:00) Europe/Paris",
        "utc_offset": float(offset),
        "trainer": sport_type == "VirtualRide",
        "manual": False,
        "average_speed": round((distance or 0.0) / moving_time, 3),
        "has_heartrate": average_heartrate is not None,
        **({"average_heartrate": average_heartrate} if average_heartrate is not None else {}),
        **({"max_heartrate": max_heartrate} if max_heartrate is not None else {}),
        **({"average_watts": average_watts, "device_watts": True} if average_watts is not None else {}),
    }
    return Activity(
        user_id=user_id,
        provider="strava",
        external_id=str(strava_id),
        provider_user_id="134815",
        sport=STRAVA_SPORTS[sport_type],
        sub_sport="trail" if sport_type == "TrailRun" else "virtual" if sport_type == "VirtualRide" else None,
        sport_type=sport_type,
        name=name,
        start_time=start,
        timezone="Europe/Paris",
        utc_offset_seconds=offset,
        elapsed_time_s=moving_time + 240,
        moving_time_s=moving_time,
        distance_m=distance,
        elevation_gain_m=42.0,
        average_heartrate=average_heartrate,
        max_heartrate=max_heartrate,
        average_power_w=average_watts,
        average_speed_mps=payload["average_speed"] or None,
        raw=payload,
        matched_session_id=matched_session_id,
        duplicate_of=duplicate_of,
    )


def garmin_run(
    user_id: str,
    activity_id: int,
    start: datetime,
    *,
    distance: float,
    duration: int,
    offset: int = PARIS_SUMMER,
) -> Activity:
    """A Garmin run as stored from the Activity API's push (`activities` summaries)."""
    payload = {
        "userId": "4aacafe82427c251df9c9592d0c06768",
        "summaryId": f"{activity_id}",
        "activityId": activity_id,
        "activityName": "Paris Running",
        "activityType": "RUNNING",
        "startTimeInSeconds": int(start.timestamp()),
        "startTimeOffsetInSeconds": offset,
        "durationInSeconds": duration,
        "distanceInMeters": distance,
        "averageHeartRateInBeatsPerMinute": 151,
        "maxHeartRateInBeatsPerMinute": 176,
        "activeKilocalories": 612,
        "deviceName": "forerunner965",
    }
    return Activity(
        user_id=user_id,
        provider="garmin",
        external_id=str(activity_id),
        provider_user_id="4aacafe82427c251df9c9592d0c06768",
        sport="run",
        sub_sport="road",
        sport_type="RUNNING",
        name="Paris Running",
        start_time=start,
        utc_offset_seconds=offset,
        elapsed_time_s=duration,
        moving_time_s=duration,
        distance_m=distance,
        average_heartrate=151.0,
        max_heartrate=176.0,
        calories=612.0,
        device_name="forerunner965",
        raw=payload,
    )


def at(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


ALICE, BOB = "user-alice", "user-bob"

SEED_ACTIVITY_FIELDS = {
    "id",
    "strava_id",
    "sport_type",
    "name",
    "start_date",
    "distance",
    "moving_time",
    "average_heartrate",
    "matched_session_id",
}


async def a_week_of_alice(app: AppUnderTest) -> dict[str, Activity]:
    week = {
        "swim": strava(
            ALICE,
            12940041001,
            "Swim",
            at("2025-06-02", 5, 30),
            name="Natation",
            distance=2200,
            moving_time=2580,
        ),
        "intervals": strava(
            ALICE,
            12940041002,
            "Run",
            at("2025-06-03", 16, 30),
            name="Fractionné 6x1000",
            distance=10_400,
            moving_time=3050,
            average_heartrate=158.4,
            max_heartrate=181,
            matched_session_id="sess_003",
        ),
        "zwift": strava(
            ALICE,
            12940041003,
            "VirtualRide",
            at("2025-06-04", 17, 0),
            name="Zwift - Watopia",
            distance=36_800,
            moving_time=3600,
            average_watts=212,
        ),
        "trail": strava(
            ALICE,
            12940041004,
            "TrailRun",
            at("2025-06-07", 6, 0),
            name="Trail",
            distance=18_300,
            moving_time=7400,
        ),
        "ride": strava(
            ALICE,
            12940041005,
            "Ride",
            at("2025-06-08", 7, 0),
            name="Sortie longue",
            distance=92_500,
            moving_time=11_200,
            average_watts=188,
            matched_session_id="sess_007",
        ),
    }
    await app.store(*week.values())
    return week


# -- /api/strava/activities ---------------------------------------------------------------------------


async def test_the_strava_list_has_the_seeds_fields_newest_first(app: AppUnderTest) -> None:
    week = await a_week_of_alice(app)

    response = await app.get(ALICE, "/api/strava/activities")

    assert response.status_code == 200, response.text
    body = response.json()
    assert [a["name"] for a in body["activities"]] == [
        "Sortie longue",
        "Trail",
        "Zwift - Watopia",
        "Fractionné 6x1000",
        "Natation",
    ]
    intervals = body["activities"][3]
    assert intervals.keys() >= SEED_ACTIVITY_FIELDS
    assert intervals == {
        "id": str(week["intervals"].id),
        "strava_id": "12940041002",
        "sport": "run",
        "sport_type": "Run",
        "name": "Fractionné 6x1000",
        "start_date": "2025-06-03T16:30:00Z",
        "distance": 10400.0,
        "moving_time": 3050,
        "average_heartrate": 158.4,
        "matched_session_id": "sess_003",
    }
    assert body["pagination"] == {"total": 5, "limit": 50, "offset": 0, "has_more": False}


async def test_the_strava_list_has_only_strava_activities_even_those_shown_from_another_provider(
    app: AppUnderTest,
) -> None:
    await merged_run(app)

    body = (await app.get(ALICE, "/api/strava/activities")).json()

    assert [(a["strava_id"], a["name"]) for a in body["activities"]] == [("12940041010", "Footing")]


async def test_sport_filters_by_relays_sport_or_by_stravas_own_type(app: AppUnderTest) -> None:
    await a_week_of_alice(app)

    runs = (await app.get(ALICE, "/api/strava/activities", sport="run")).json()
    trails = (await app.get(ALICE, "/api/strava/activities", sport="TrailRun")).json()
    rides = (await app.get(ALICE, "/api/strava/activities", sport="bike")).json()
    rowing = (await app.get(ALICE, "/api/strava/activities", sport="Rowing")).json()

    assert [a["sport_type"] for a in runs["activities"]] == ["TrailRun", "Run"]
    assert [a["name"] for a in trails["activities"]] == ["Trail"]
    assert [a["sport_type"] for a in rides["activities"]] == ["Ride", "VirtualRide"]
    assert rowing == {
        "activities": [],
        "pagination": {"total": 0, "limit": 50, "offset": 0, "has_more": False},
    }


async def test_since_and_until_are_days_of_the_athletes_calendar(app: AppUnderTest) -> None:
    await app.store(
        # 23:30 UTC on 4 June is 01:30 on 5 June in Paris.
        strava(ALICE, 1, "Run", at("2025-06-04", 23, 30), name="Nocturne", distance=8000, moving_time=2600),
        strava(
            ALICE, 2, "Run", at("2025-06-05", 17, 0), name="Après le travail", distance=9000, moving_time=2900
        ),
        strava(ALICE, 3, "Run", at("2025-06-06", 6, 0), name="Matinale", distance=7000, moving_time=2300),
    )

    fifth = await app.get(ALICE, "/api/strava/activities", since="2025-06-05", until="2025-06-05")
    from_instant = await app.get(ALICE, "/api/strava/activities", since="2025-06-05T12:00:00Z")
    until_fourth = await app.get(ALICE, "/api/strava/activities", until="2025-06-04")

    assert [a["name"] for a in fifth.json()["activities"]] == ["Après le travail", "Nocturne"]
    assert [a["name"] for a in from_instant.json()["activities"]] == ["Matinale", "Après le travail"]
    assert until_fourth.json()["activities"] == []


async def test_matched_separates_the_activities_that_completed_a_planned_session(app: AppUnderTest) -> None:
    await a_week_of_alice(app)

    matched = (await app.get(ALICE, "/api/strava/activities", matched="true")).json()
    unmatched = (await app.get(ALICE, "/api/strava/activities", matched="false")).json()

    assert [a["matched_session_id"] for a in matched["activities"]] == ["sess_007", "sess_003"]
    assert [a["name"] for a in unmatched["activities"]] == ["Trail", "Zwift - Watopia", "Natation"]


async def test_pages_say_whether_more_activities_follow(app: AppUnderTest) -> None:
    await a_week_of_alice(app)

    first = (await app.get(ALICE, "/api/strava/activities", limit=2)).json()
    second = (await app.get(ALICE, "/api/strava/activities", limit=2, offset=2)).json()
    last = (await app.get(ALICE, "/api/strava/activities", limit=2, offset=4)).json()

    assert [a["name"] for a in first["activities"] + second["activities"] + last["activities"]] == [
        "Sortie longue",
        "Trail",
        "Zwift - Watopia",
        "Fractionné 6x1000",
        "Natation",
    ]
    assert first["pagination"] == {"total": 5, "limit": 2, "offset": 0, "has_more": True}
    assert second["pagination"] == {"total": 5, "limit": 2, "offset": 2, "has_more": True}
    assert last["pagination"] == {"total": 5, "limit": 2, "offset": 4, "has_more": False}


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/strava/activities", {"limit": 201}, "limit"),
        ("/api/strava/activities", {"limit": 0}, "limit"),
        ("/api/strava/activities", {"offset": -1}, "offset"),
        ("/api/strava/activities", {"matched": "perhaps"}, "matched"),
        ("/api/strava/activities", {"since": "last week"}, "since"),
        ("/api/strava/activities", {"since": "2025-06-10", "until": "2025-06-01"}, "since"),
        ("/api/strava/stats", {"period": "decade"}, "period"),
        ("/api/activities", {"provider": "Garmin Connect"}, "provider"),
        ("/api/activities/stats", {"period": "day"}, "period"),
        ("/api/activities/not-an-id", {}, "activity_id"),
    ],
)
async def test_invalid_parameters_are_refused_in_the_error_envelope(
    app: AppUnderTest, path: str, params: dict[str, Any], field: str
) -> None:
    response = await app.get(ALICE, path, **params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["field"] == field
    assert error["message"]


@pytest.mark.parametrize(
    "path",
    ["/api/strava/activities", "/api/strava/stats", "/api/onboarding/strava-analysis", "/api/activities"],
)
async def test_a_request_without_a_token_is_refused(app: AppUnderTest, path: str) -> None:
    response = await app.client.get(path)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


# -- Isolation ----------------------------------------------------------------------------------------


async def test_an_athlete_never_sees_another_athletes_activities(app: AppUnderTest) -> None:
    week = await a_week_of_alice(app)

    strava_list = (await app.get(BOB, "/api/strava/activities")).json()
    every_list = (await app.get(BOB, "/api/activities")).json()
    alices_ride = await app.get(BOB, f"/api/activities/{week['ride'].id}")
    stats = (await app.get(BOB, "/api/strava/stats", period="all")).json()
    analysis = (await app.get(BOB, "/api/onboarding/strava-analysis")).json()

    assert strava_list["activities"] == [] and strava_list["pagination"]["total"] == 0
    assert every_list["activities"] == [] and every_list["pagination"]["total"] == 0
    assert alices_ride.status_code == 404
    assert alices_ride.json()["error"]["code"] == "not_found"
    assert stats["stats"]["totals"] == {"activities": 0, "hours": 0.0, "distance_km": 0.0}
    assert analysis["analysis"]["totals"] == {"activities": 0, "hours": 0.0}
    assert (await app.get(ALICE, f"/api/activities/{week['ride'].id}")).status_code == 200


# -- /api/activities ----------------------------------------------------------------------------------


async def merged_run(app: AppUnderTest) -> tuple[Activity, Activity]:
    """The same run recorded by Alice's watch (Garmin, shown) and uploaded to Strava (merged into it)."""
    garmin = garmin_run(ALICE, 19384756201, at("2025-06-10", 5, 0), distance=12_020, duration=3600)
    await app.store(garmin)
    copy = strava(
        ALICE,
        12940041010,
        "Run",
        at("2025-06-10", 5, 0),
        name="Footing",
        distance=12_000,
        moving_time=3590,
        duplicate_of=garmin.id,
    )
    await app.store(copy)
    return garmin, copy


async def test_every_provider_shows_each_workout_once_with_the_providers_merged_into_it(
    app: AppUnderTest,
) -> None:
    await a_week_of_alice(app)
    garmin, _ = await merged_run(app)

    body = (await app.get(ALICE, "/api/activities")).json()

    assert body["pagination"] == {"total": 6, "limit": 50, "offset": 0, "has_more": False}
    newest = body["activities"][0]
    assert (newest["id"], newest["provider"], newest["external_id"]) == (
        str(garmin.id),
        "garmin",
        "19384756201",
    )
    assert newest["also_from"] == ["strava"]
    assert [a["also_from"] for a in body["activities"][1:]] == [[]] * 5


async def test_the_provider_filter_finds_the_workouts_that_provider_recorded(app: AppUnderTest) -> None:
    await a_week_of_alice(app)
    garmin, _ = await merged_run(app)

    from_garmin = (await app.get(ALICE, "/api/activities", provider="garmin")).json()
    from_strava = (await app.get(ALICE, "/api/activities", provider="strava")).json()
    from_polar = (await app.get(ALICE, "/api/activities", provider="polar")).json()

    assert [a["id"] for a in from_garmin["activities"]] == [str(garmin.id)]
    assert len(from_strava["activities"]) == 6  # Alice's Strava week and the run Strava also recorded
    assert from_strava["activities"][0]["id"] == str(garmin.id)
    assert from_polar["activities"] == []


async def test_an_activity_is_given_in_full(app: AppUnderTest) -> None:
    garmin, _ = await merged_run(app)

    response = await app.get(ALICE, f"/api/activities/{garmin.id}")

    assert response.status_code == 200
    assert response.json() == {
        "id": str(garmin.id),
        "provider": "garmin",
        "external_id": "19384756201",
        "also_from": ["strava"],
        "sport": "run",
        "sub_sport": "road",
        "sport_type": "RUNNING",
        "name": "Paris Running",
        "start_time": "2025-06-10T05:00:00Z",
        "start_local": "2025-06-10T07:00:00+02:00",
        "timezone": None,
        "utc_offset_seconds": 7200,
        "elapsed_time_s": 3600,
        "moving_time_s": 3600,
        "distance_m": 12020.0,
        "elevation_gain_m": None,
        "average_heartrate": 151.0,
        "max_heartrate": 176.0,
        "average_power_w": None,
        "max_power_w": None,
        "normalized_power_w": None,
        "average_speed_mps": None,
        "max_speed_mps": None,
        "average_cadence": None,
        "calories": 612.0,
        "device_name": "forerunner965",
        "is_manual": False,
        "matched_session_id": None,
        "updated_at": response.json()["updated_at"],
    }
    assert response.json()["updated_at"] is not None


async def test_a_copy_merged_into_another_activity_is_not_found_and_says_where_it_went(
    app: AppUnderTest,
) -> None:
    garmin, copy = await merged_run(app)

    merged = await app.get(ALICE, f"/api/activities/{copy.id}")
    unknown = await app.get(ALICE, f"/api/activities/{uuid.uuid4()}")

    assert merged.status_code == 404
    assert merged.json()["error"]["details"]["merged_into"] == str(garmin.id)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"


# -- Stats --------------------------------------------------------------------------------------------


def previous_month_start(today: date) -> date:
    last_day_before = today.replace(day=1) - timedelta(days=1)
    return last_day_before.replace(day=1)


async def test_strava_stats_give_the_months_totals_by_sport_and_the_trend(app: AppUnderTest) -> None:
    today = datetime.now(UTC).date()
    this_month, last_month = today.replace(day=1), previous_month_start(today)
    long_ago = previous_month_start(last_month)

    def on(day: date, hour: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)

    await app.store(
        strava(
            ALICE, 21, "Swim", on(this_month, 6), name="Natation", distance=2500, moving_time=3000, offset=0
        ),
        strava(
            ALICE, 22, "Ride", on(this_month, 8), name="Vélo", distance=61_400, moving_time=7740, offset=0
        ),
        strava(
            ALICE, 23, "Run", on(this_month, 18), name="Footing", distance=10_250, moving_time=3180, offset=0
        ),
        strava(
            ALICE,
            24,
            "WeightTraining",
            on(this_month, 19),
            name="Gainage",
            distance=None,
            moving_time=1800,
            offset=0,
        ),
        strava(
            ALICE, 25, "Run", on(last_month, 7), name="Footing", distance=8000, moving_time=2700, offset=0
        ),
        strava(ALICE, 26, "Run", on(long_ago, 7), name="Footing", distance=8000, moving_time=2700, offset=0),
    )
    garmin = garmin_run(ALICE, 19384756299, on(this_month, 12), distance=5000, duration=1500, offset=0)
    await app.store(garmin)

    response = await app.get(ALICE, "/api/strava/stats")  # the month, by default

    assert response.status_code == 200
    body = response.json()
    assert body["period"] == "month"
    assert body["dates"]["start"] == this_month.isoformat()
    # 15 720 s of Strava activities this month (not the Garmin run); 2700 s on the 1st of last month.
    assert body["stats"] == {
        "totals": {"activities": 4, "hours": 4.4, "distance_km": 74.2},
        "by_sport": {
            "swim": {"count": 1, "distance_m": 2500, "hours": 0.8},
            "bike": {"count": 1, "distance_km": 61.4, "hours": 2.2},
            "run": {"count": 1, "distance_km": 10.3, "hours": 0.9},
            "strength": {"count": 1, "distance_km": 0.0, "hours": 0.5},
        },
        "trends": {"vs_previous_period": {"hours": 3.6, "activities": 3}},
    }
    everything = (await app.get(ALICE, "/api/strava/stats", period="all")).json()
    assert everything["dates"] is None
    assert everything["stats"]["totals"]["activities"] == 6
    assert everything["stats"]["trends"] == {"vs_previous_period": None}


async def test_stats_of_every_provider_count_a_merged_workout_once(app: AppUnderTest) -> None:
    today = datetime.now(UTC).date()
    start = datetime(today.year, 1, 1, 7, tzinfo=UTC)
    garmin = garmin_run(ALICE, 19384756201, start, distance=12_020, duration=3600, offset=0)
    await app.store(garmin)
    await app.store(
        strava(
            ALICE,
            12940041010,
            "Run",
            start,
            name="Footing",
            distance=12_000,
            moving_time=3590,
            offset=0,
            duplicate_of=garmin.id,
        ),
        strava(
            ALICE,
            12940041011,
            "Swim",
            start + timedelta(hours=10),
            name="Natation",
            distance=1800,
            moving_time=2400,
            offset=0,
        ),
    )

    body = (await app.get(ALICE, "/api/activities/stats", period="year")).json()

    assert body["period"] == "year"
    assert body["dates"] == {"start": f"{today.year}-01-01", "end": f"{today.year}-12-31"}
    assert body["stats"]["totals"] == {"activities": 2, "hours": 1.7, "distance_km": 13.8}
    assert body["stats"]["by_sport"]["run"] == {"count": 1, "distance_km": 12.0, "hours": 1.0}
    assert body["stats"]["by_sport"]["swim"] == {"count": 1, "distance_m": 1800, "hours": 0.7}


# -- /api/onboarding/strava-analysis ------------------------------------------------------------------


TRAINING_WEEK: list[tuple[int, str, str, dict[str, Any]]] = [
    # (day of the week, Strava's type, name, measures): 7.8 h, as an Olympic-distance age-grouper trains.
    (0, "Swim", "Natation", {"distance": 2000, "moving_time": 2280, "max_heartrate": 150}),
    (
        1,
        "Run",
        "Fractionné",
        {"distance": 10_000, "moving_time": 3000, "average_heartrate": 156, "max_heartrate": 184},
    ),
    (
        2,
        "Ride",
        "Home trainer",
        {"distance": 40_000, "moving_time": 5400, "average_watts": 205, "max_heartrate": 171},
    ),
    (3, "Swim", "Natation", {"distance": 2000, "moving_time": 2280}),
    (4, "Run", "Footing", {"distance": 8000, "moving_time": 2640, "max_heartrate": 162}),
    (5, "Ride", "Sortie longue", {"distance": 60_000, "moving_time": 7200, "average_watts": 185}),
    (6, "Run", "Sortie longue", {"distance": 15_000, "moving_time": 5400, "max_heartrate": 188}),
]


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def six_months_before(today: date) -> date:
    year, month = (today.year, today.month - 6) if today.month > 6 else (today.year - 1, today.month + 6)
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


async def test_the_onboarding_analysis_reads_six_months_of_strava(app: AppUnderTest) -> None:
    today = datetime.now(UTC).date()
    rows = [
        strava(
            ALICE,
            13_000_000_000 + 10 * week + day,
            sport_type,
            midnight(today - timedelta(days=7 * week + 6 - day)) + timedelta(hours=6),
            name=name,
            offset=0,
            **measures,
        )
        for week in range(26)
        for day, sport_type, name, measures in TRAINING_WEEK
    ]
    # A strap's static on one ride, a run seven months ago, and a Garmin run: none of them counts.
    rows[2].max_heartrate = 241.0
    rows.append(
        strava(
            ALICE,
            1,
            "Run",
            midnight(today - timedelta(days=214)),
            name="Vieux",
            distance=10_000,
            moving_time=3000,
            max_heartrate=199,
        )
    )
    rows.append(
        garmin_run(
            ALICE,
            19384756201,
            midnight(today),
            distance=9000,
            duration=2700,
        )
    )
    await app.store(*rows)

    response = await app.get(ALICE, "/api/onboarding/strava-analysis")

    assert response.status_code == 200, response.text
    analysis = response.json()["analysis"]
    assert analysis.keys() >= {
        "period",
        "totals",
        "by_sport",
        "weekly_avg",
        "zones_detected",
        "estimated_level",
    }
    start = six_months_before(today)
    assert analysis["period"] == {"start": start.isoformat(), "end": today.isoformat()}
    assert analysis["totals"] == {"activities": 182, "hours": 203.7}
    assert analysis["by_sport"] == {
        "swim": {"count": 52, "distance_m": 104_000, "duration_min": 1976, "avg_pace_100m": 114},
        "bike": {
            "count": 52,
            "distance_km": 2600.0,
            "duration_min": 5460,
            "avg_speed_kmh": 28.6,
            "avg_power_w": 194,
        },
        "run": {"count": 78, "distance_km": 858.0, "duration_min": 4784, "avg_pace_min_km": 5.58},
    }
    weeks = ((today - start).days + 1) / 7
    assert analysis["weekly_avg"] == {
        "hours": round(733_200 / 3600 / weeks, 1),
        "sessions": round(182 / weeks, 1),
    }
    assert analysis["zones_detected"] == {
        "hr_zones": [
            {"zone": 1, "name": "recovery", "min_bpm": 94, "max_bpm": 112},
            {"zone": 2, "name": "endurance", "min_bpm": 113, "max_bpm": 131},
            {"zone": 3, "name": "tempo", "min_bpm": 132, "max_bpm": 149},
            {"zone": 4, "name": "threshold", "min_bpm": 150, "max_bpm": 168},
            {"zone": 5, "name": "vo2max", "min_bpm": 169, "max_bpm": 188},
        ],
        "max_heartrate": 188,
        "source": "strava",
    }
    assert analysis["estimated_level"] == "intermediate"  # about 7.7 h a week, every week
