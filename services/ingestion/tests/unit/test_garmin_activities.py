"""Garmin's activities in Relay's model: summaries read from a push as they are, a ping followed to its
callback on Garmin's own origin, and a period read a day of uploads at a time, against the fake Garmin."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ingestion.providers import garmin
from ingestion.providers.base import (
    Notification,
    ProviderHttp,
    ProviderUnavailable,
    RateLimited,
    Sport,
    SubSport,
    TokenRejected,
)
from relay_testing.fakes.providers import FakeProviders
from relay_testing.fakes.providers.api.garmin import garmin_activity, garmin_ping

from .reading_fakes import CountingBudget, api_url, linked_athlete, notification_of, provider_http

USER = "7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10"
# 2024-06-01 06:00:00 UTC, 08:00 in Lyon.
MORNING = 1717221600


@pytest.fixture
def http(fake: FakeProviders, client: httpx.AsyncClient, budget: CountingBudget) -> ProviderHttp:
    """Garmin's API on the fake, for an athlete who linked their account."""
    user_id, token = linked_athlete(fake, "garmin", USER)
    return provider_http("garmin", client, user_id, token, budget=budget, priority="backfill")


def notification(payload: dict[str, Any], aspect_type: str = "create") -> Notification:
    object_id = str(payload.get("summaryId", ""))
    return notification_of("garmin", USER, object_id, payload, aspect_type=aspect_type)  # type: ignore[arg-type]


async def store(fake: FakeProviders, *summaries: dict[str, Any]) -> None:
    for summary in summaries:
        await fake.put_activity("garmin", USER, summary["summaryId"], summary)


# Reading a summary.


def test_a_run_keeps_garmins_local_offset_and_si_units() -> None:
    summary = garmin_activity(
        USER, activityId=15532106822, activityName="Lyon Running", startTimeInSeconds=MORNING
    )

    activity = garmin.normalize(summary)

    assert activity is not None
    assert (activity.provider, activity.external_id, activity.provider_user_id) == (
        "garmin",
        "15532106822",
        USER,
    )
    assert (activity.sport, activity.sub_sport, activity.sport_type) == ("run", None, "RUNNING")
    assert activity.start_time == datetime(2024, 6, 1, 6, 0, tzinfo=UTC)
    assert (activity.utc_offset_seconds, activity.timezone) == (7200, None)
    assert activity.elapsed_time_s == 3012
    assert activity.distance_m == 10012.3
    assert (activity.average_speed_mps, activity.max_speed_mps) == (3.324, 4.31)
    assert (activity.average_heartrate, activity.max_heartrate) == (148, 171)
    assert activity.average_cadence == 172.0
    assert activity.elevation_gain_m == 86.0
    assert activity.calories == 648
    assert (activity.device_name, activity.name, activity.is_manual) == (
        "Forerunner 965",
        "Lyon Running",
        False,
    )
    assert activity.raw == summary


@pytest.mark.parametrize(
    ("activity_type", "sport", "sub_sport"),
    [
        ("RUNNING", "run", None),
        ("TRAIL_RUNNING", "run", "trail"),
        ("TREADMILL_RUNNING", "run", "treadmill"),
        ("INDOOR_RUNNING", "run", "indoor"),
        ("TRACK_RUNNING", "run", "track"),
        ("VIRTUAL_RUN", "run", "virtual"),
        ("CYCLING", "bike", None),
        ("ROAD_BIKING", "bike", "road"),
        ("INDOOR_CYCLING", "bike", "indoor"),
        ("VIRTUAL_RIDE", "bike", "virtual"),
        ("MOUNTAIN_BIKING", "bike", "mountain"),
        ("GRAVEL_CYCLING", "bike", "gravel"),
        ("E_BIKE_FITNESS", "bike", "e_bike"),
        ("LAP_SWIMMING", "swim", "pool"),
        ("OPEN_WATER_SWIMMING", "swim", "open_water"),
        ("WALKING", "walk", None),
        ("HIKING", "hike", None),
        ("INDOOR_ROWING", "row", "indoor"),
        ("ROWING_V2", "row", None),
        ("CROSS_COUNTRY_SKIING_WS", "ski", None),
        ("STRENGTH_TRAINING", "strength", None),
        ("YOGA", "yoga", None),
        ("HIIT", "cardio", None),
        ("TENNIS_V2", "other", None),
        ("A_TYPE_GARMIN_ADDS_LATER", "other", None),
    ],
)
def test_every_garmin_activity_type_has_a_sport(
    activity_type: str, sport: Sport, sub_sport: SubSport | None
) -> None:
    activity = garmin.normalize(garmin_activity(USER, activityType=activity_type))

    assert activity is not None
    assert (activity.sport, activity.sub_sport, activity.sport_type) == (sport, sub_sport, activity_type)


def test_rides_and_swims_take_their_own_cadence() -> None:
    ride = garmin.normalize(garmin_activity(USER, activityType="VIRTUAL_RIDE", averagePowerInWatts=212.0))
    swim = garmin.normalize(garmin_activity(USER, activityType="LAP_SWIMMING"))

    assert ride is not None and swim is not None
    assert (ride.average_cadence, ride.average_power_w, ride.distance_m) == (87.0, 212.0, 42195.4)
    assert (swim.average_cadence, swim.distance_m) == (28.0, 2000.0)


def test_a_gym_session_has_no_distance_rather_than_zero() -> None:
    activity = garmin.normalize(garmin_activity(USER, activityType="STRENGTH_TRAINING"))

    assert activity is not None
    assert (activity.distance_m, activity.average_speed_mps, activity.average_cadence) == (None, None, None)


def test_a_manual_entry_west_of_greenwich_is_marked_manual_with_a_negative_offset() -> None:
    activity = garmin.normalize(garmin_activity(USER, manual=True, startTimeOffsetInSeconds=-18000))

    assert activity is not None
    assert (activity.is_manual, activity.utc_offset_seconds) == (True, -18000)


def test_a_multisport_parent_is_not_an_activity_of_its_own() -> None:
    parent = garmin_activity(USER, activityType="MULTI_SPORT", isParent=True)
    leg = garmin_activity(USER, activityType="OPEN_WATER_SWIMMING", parentSummaryId=parent["summaryId"])

    assert garmin.normalize(parent) is None
    assert garmin.normalize(leg) is not None


def test_the_athletes_oauth1_token_in_a_push_is_not_kept() -> None:
    activity = garmin.normalize(garmin_activity(USER, userAccessToken="8f57a6f1-legacy-token"))

    assert activity is not None
    assert "userAccessToken" not in activity.raw


# Notifications.


async def test_a_pushed_summary_is_read_without_calling_garmin(
    http: ProviderHttp, budget: CountingBudget
) -> None:
    summary = garmin_activity(USER, activityType="INDOOR_CYCLING")

    fetched = await garmin.API.fetch(http, notification(summary))

    assert [(a.external_id, a.sub_sport) for a in fetched.activities] == [(summary["summaryId"], "indoor")]
    assert budget.requests == 0


async def test_a_ping_is_followed_to_the_summaries_uploaded_in_its_range(
    fake: FakeProviders, http: ProviderHttp, budget: CountingBudget
) -> None:
    run = garmin_activity(USER, startTimeInSeconds=MORNING, durationInSeconds=3000)
    swim = garmin_activity(USER, activityType="OPEN_WATER_SWIMMING", startTimeInSeconds=MORNING + 3600)
    earlier = garmin_activity(USER, startTimeInSeconds=MORNING - 86400)
    await store(fake, run, swim, earlier)
    ping = garmin_ping(USER, MORNING, MORNING + 7200, api_url=api_url("garmin"))

    fetched = await garmin.API.fetch(http, notification(ping))

    assert {a.external_id for a in fetched.activities} == {run["summaryId"], swim["summaryId"]}
    assert budget.requests == 1
    [received] = await fake.received("garmin", "/wellness-api/rest/activities")
    assert received.query["token"] == httpx.URL(ping["callbackURL"]).params["token"]
    assert received.auth_scheme == "Bearer"


async def test_a_ping_pointing_outside_garmins_api_is_not_followed(
    http: ProviderHttp, budget: CountingBudget
) -> None:
    ping = garmin_ping(USER, MORNING, MORNING + 60, api_url="https://collector.example.com")

    with pytest.raises(ProviderUnavailable):
        await garmin.API.fetch(http, notification(ping))
    assert budget.requests == 0


async def test_a_deletion_names_the_summary_without_a_call(
    http: ProviderHttp, budget: CountingBudget
) -> None:
    fetched = await garmin.API.fetch(http, notification({"summaryId": "15532106822"}, "delete"))

    assert (fetched.activities, fetched.deleted, budget.requests) == ([], ["15532106822"], 0)


# A period, a day of uploads at a time.


async def test_a_period_is_read_a_day_of_uploads_per_call(
    fake: FakeProviders, http: ProviderHttp, budget: CountingBudget
) -> None:
    since = datetime.fromtimestamp(MORNING, UTC)
    until = since + timedelta(days=2, hours=12)
    first = garmin_activity(USER, startTimeInSeconds=MORNING + 600)
    second = garmin_activity(USER, activityType="LAP_SWIMMING", startTimeInSeconds=MORNING + 86400 + 3600)
    third = garmin_activity(USER, activityType="VIRTUAL_RIDE", startTimeInSeconds=MORNING + 2 * 86400)
    before = garmin_activity(
        USER, startTimeInSeconds=MORNING - 1200
    )  # uploaded in the period, started before
    await store(fake, first, second, third, before)

    pages, cursor = [], None
    while True:
        page = await garmin.API.list_activities(http, since, until, cursor)
        pages.append([a.external_id for a in page.activities])
        cursor = page.cursor
        if cursor is None:
            break

    assert pages == [[first["summaryId"]], [second["summaryId"]], [third["summaryId"]]]
    ranges = [
        (int(r.query["uploadStartTimeInSeconds"]), int(r.query["uploadEndTimeInSeconds"]))
        for r in await fake.received("garmin", "/wellness-api/rest/activities")
    ]
    assert ranges == [
        (MORNING, MORNING + 86400),
        (MORNING + 86400, MORNING + 2 * 86400),
        (MORNING + 2 * 86400, int(until.timestamp())),
    ]
    assert budget.requests == 3


async def test_a_revoked_token_is_refused(fake: FakeProviders, http: ProviderHttp) -> None:
    await fake.revoke_grants("garmin", USER)
    since = datetime.fromtimestamp(MORNING, UTC)

    with pytest.raises(TokenRejected):
        await garmin.API.list_activities(http, since, since + timedelta(hours=1), None)


async def test_a_garmin_outage_is_worth_retrying(fake: FakeProviders, http: ProviderHttp) -> None:
    await fake.fail_next("garmin", "server_error", "/wellness-api/rest/activities")
    since = datetime.fromtimestamp(MORNING, UTC)

    with pytest.raises(ProviderUnavailable):
        await garmin.API.list_activities(http, since, since + timedelta(hours=1), None)


async def test_a_429_says_when_to_come_back(fake: FakeProviders, http: ProviderHttp) -> None:
    await fake.fail_next("garmin", "rate_limited", "/wellness-api/rest/activities")
    since = datetime.fromtimestamp(MORNING, UTC)

    with pytest.raises(RateLimited) as limited:
        await garmin.API.list_activities(http, since, since + timedelta(hours=1), None)
    wait = (limited.value.retry_at - datetime.now(UTC)).total_seconds()
    assert 55 <= wait <= 60
