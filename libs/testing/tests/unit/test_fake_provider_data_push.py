"""The fake providers' data APIs for Garmin, COROS and Wahoo, and the pushes their factories write: each
serves the activities a test stored, in the provider's shape, to the token's owner only, and refuses
what the provider refuses (bad tokens, Garmin's ranges over a day) in the provider's error shape."""

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from relay_testing.fakes.providers import FakeProviders, Provider, s256
from relay_testing.fakes.providers.api import coros as coros_api
from relay_testing.fakes.providers.api import garmin as garmin_api
from relay_testing.fakes.providers.api import wahoo as wahoo_api
from relay_testing.fakes.providers.api.coros import coros_push, coros_workout
from relay_testing.fakes.providers.api.garmin import garmin_activity, garmin_ping, garmin_push
from relay_testing.fakes.providers.api.wahoo import wahoo_webhook, wahoo_workout
from relay_testing.fakes.providers.oauth import OAuthServer

REDIRECT_URI = "http://localhost:8080/api/providers/callback"
GARMIN_USER = "7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10"
COROS_OPEN_ID = "4a1f0c9e8b7d6a5f4e3d2c1b0a998877"
WAHOO_USER = "60462"
# 2024-06-01 06:00:00 UTC
MORNING = 1717221600


@pytest.fixture
async def fake(fake_providers: FakeProviders) -> FakeProviders:
    """The served fake with the Garmin, COROS and Wahoo data routes (added here unless already there)."""
    served = {getattr(route, "path", "") for route in fake_providers.app.routes}
    oauth = OAuthServer(fake_providers.state)
    for module, path in (
        (garmin_api, "/garmin/wellness-api/rest/activities"),
        (coros_api, "/coros/v2/coros/sport/list"),
        (wahoo_api, "/wahoo/v1/workouts"),
    ):
        if path not in served:
            module.add_routes(fake_providers.app, fake_providers.state, oauth)
    return fake_providers


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


async def access_token(http: httpx.AsyncClient, fake: FakeProviders, provider: Provider, user_id: str) -> str:
    """The athlete `user_id` consents and the application exchanges the code: their access token."""
    await fake.queue_user(provider, user_id=user_id)
    verifier = secrets.token_urlsafe(48)
    params = {
        "client_id": fake.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "state": "st-1",
    }
    if provider == "garmin":
        params |= {"code_challenge": s256(verifier), "code_challenge_method": "S256"}
    authorize_url = str(httpx.URL(fake.urls(provider)["authorize_url"], params=params))
    code = (await fake.authorize(provider, authorize_url)).params["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
    }
    if provider == "garmin":
        form["code_verifier"] = verifier
    response = await http.post(fake.urls(provider)["token_url"], data=form)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Garmin


async def test_garmin_serves_the_summaries_uploaded_in_the_range_to_their_athlete_only(
    http: httpx.AsyncClient, fake: FakeProviders
) -> None:
    token = await access_token(http, fake, "garmin", GARMIN_USER)
    run = garmin_activity(GARMIN_USER, activityId=21001, startTimeInSeconds=MORNING, durationInSeconds=3000)
    ride = garmin_activity(
        GARMIN_USER, activityId=21002, activityType="VIRTUAL_RIDE", startTimeInSeconds=MORNING
    )
    late = garmin_activity(GARMIN_USER, activityId=21003, startTimeInSeconds=MORNING + 86400)
    for summary in (run, ride, late):
        await fake.put_activity("garmin", GARMIN_USER, summary["summaryId"], summary)
    await fake.put_activity(
        "garmin", "someone-else", "31001", garmin_activity("someone-else", activityId=31001)
    )

    url = f"{fake.urls('garmin')['api_url']}/wellness-api/rest/activities"
    window = {"uploadStartTimeInSeconds": MORNING, "uploadEndTimeInSeconds": MORNING + 86400}
    response = await http.get(url, params=window, headers=bearer(token))

    assert response.status_code == 200
    assert [s["summaryId"] for s in response.json()] == ["21001", "21002"]
    assert response.json()[1]["activityType"] == "VIRTUAL_RIDE"
    assert response.json()[1]["averageBikeCadenceInRoundsPerMinute"] == 87.0


async def test_garmin_refuses_a_range_over_a_day_and_a_bad_token_in_its_error_shape(
    http: httpx.AsyncClient, fake: FakeProviders
) -> None:
    token = await access_token(http, fake, "garmin", GARMIN_USER)
    url = f"{fake.urls('garmin')['api_url']}/wellness-api/rest/activities"
    too_long = {"uploadStartTimeInSeconds": MORNING, "uploadEndTimeInSeconds": MORNING + 86401}

    refused = await http.get(url, params=too_long, headers=bearer(token))
    unknown = await http.get(
        url, params={**too_long, "uploadEndTimeInSeconds": MORNING + 60}, headers=bearer("x")
    )

    assert refused.status_code == 400
    assert set(refused.json()) == {"errorMessage"}
    assert (unknown.status_code, unknown.json()) == (401, {"errorMessage": "Unauthorized"})


async def test_a_garmin_ping_points_at_the_summaries_uploaded_in_its_range(
    http: httpx.AsyncClient, fake: FakeProviders
) -> None:
    token = await access_token(http, fake, "garmin", GARMIN_USER)
    swim = garmin_activity(GARMIN_USER, activityType="LAP_SWIMMING", startTimeInSeconds=MORNING)
    await fake.put_activity("garmin", GARMIN_USER, swim["summaryId"], swim)
    uploaded = MORNING + swim["durationInSeconds"]

    ping = garmin_ping(GARMIN_USER, uploaded - 60, uploaded + 60, api_url=fake.urls("garmin")["api_url"])
    response = await http.get(ping["callbackURL"], headers=bearer(token))

    assert set(ping) == {"userId", "uploadStartTimeInSeconds", "uploadEndTimeInSeconds", "callbackURL"}
    assert httpx.URL(ping["callbackURL"]).params["token"]
    assert response.json() == [swim]
    assert swim["numberOfActiveLengths"] == 80


def test_a_garmin_push_carries_the_summaries_themselves() -> None:
    strength = garmin_activity(GARMIN_USER, activityType="STRENGTH_TRAINING")
    run = garmin_activity(GARMIN_USER, activityType="TRAIL_RUNNING", startTimeOffsetInSeconds=-14400)

    assert garmin_push(strength, run) == {"activities": [strength, run]}
    assert "distanceInMeters" not in strength
    assert run["startTimeOffsetInSeconds"] == -14400
    assert run["summaryId"] == str(run["activityId"])


# COROS


async def test_coros_lists_by_the_athletes_local_dates_with_the_token_in_the_query(
    http: httpx.AsyncClient, fake: FakeProviders
) -> None:
    token = await access_token(http, fake, "coros", COROS_OPEN_ID)
    # 23:30 UTC on 31 May is 1 June in UTC+8 (32 quarters of an hour).
    late_evening = coros_workout(
        COROS_OPEN_ID, labelId="1", startTime=MORNING - 6 * 3600 - 1800, startTimezone=32
    )
    ride = coros_workout(COROS_OPEN_ID, labelId="2", mode=9, subMode=2, startTime=MORNING + 3600)
    next_day = coros_workout(COROS_OPEN_ID, labelId="3", startTime=MORNING + 86400)
    for workout in (next_day, ride, late_evening):
        await fake.put_activity("coros", COROS_OPEN_ID, workout["labelId"], workout)

    params = {"token": token, "openId": COROS_OPEN_ID, "startDate": "20240601", "endDate": "20240601"}
    response = await http.get(f"{fake.urls('coros')['api_url']}/v2/coros/sport/list", params=params)

    assert response.status_code == 200
    body = response.json()
    assert (body["result"], body["message"]) == ("0000", "OK")
    assert [w["labelId"] for w in body["data"]] == ["1", "2"]
    assert body["data"][1] == {k: v for k, v in ride.items() if k != "openId"}
    assert body["data"][1]["endTime"] == ride["startTime"] + ride["duration"]


async def test_coros_refuses_an_unknown_token_and_another_athletes_open_id(
    http: httpx.AsyncClient, fake: FakeProviders
) -> None:
    token = await access_token(http, fake, "coros", COROS_OPEN_ID)
    url = f"{fake.urls('coros')['api_url']}/v2/coros/sport/list"
    dates = {"startDate": "20240601", "endDate": "20240630"}

    unknown = await http.get(url, params={"token": "nope", "openId": COROS_OPEN_ID, **dates})
    other = await http.get(url, params={"token": token, "openId": "0" * 32, **dates})

    assert unknown.status_code == 401
    assert unknown.json()["result"] == "1001"
    assert other.status_code == 403
    assert other.json()["result"] != "0000"


def test_a_coros_push_names_each_workouts_athlete() -> None:
    pool = coros_workout(COROS_OPEN_ID, mode=10, subMode=2)
    strength = coros_workout(COROS_OPEN_ID, mode=23, subMode=2)

    assert coros_push(pool, strength) == {"sportDataList": [pool, strength]}
    assert pool["openId"] == COROS_OPEN_ID
    assert pool["distance"] == 2000.0
    assert "distance" not in strength
    assert pool["fitUrl"].endswith(f"/{pool['labelId']}.fit")


# Wahoo


async def test_wahoo_pages_workouts_the_most_recent_first(
    http: httpx.AsyncClient, fake: FakeProviders
) -> None:
    token = await access_token(http, fake, "wahoo", WAHOO_USER)
    first = datetime(2024, 6, 1, 6, 0, tzinfo=UTC)
    for day in range(5):
        workout = wahoo_workout(id=1000 + day, starts=first + timedelta(days=day))
        await fake.put_activity("wahoo", WAHOO_USER, workout["id"], workout)
    url = f"{fake.urls('wahoo')['api_url']}/v1/workouts"

    pages = [
        (await http.get(url, params={"page": page, "per_page": 2}, headers=bearer(token))).json()
        for page in (1, 2, 3)
    ]

    assert [[w["id"] for w in page["workouts"]] for page in pages] == [[1004, 1003], [1002, 1001], [1000]]
    assert {(p["total"], p["per_page"], p["order"], p["sort"]) for p in pages} == {
        (5, 2, "descending", "starts")
    }
    assert pages[0]["workouts"][0]["starts"] == "2024-06-05T06:00:00.000Z"


async def test_wahoo_serves_one_workout_by_id_and_404_for_another(
    http: httpx.AsyncClient, fake: FakeProviders
) -> None:
    token = await access_token(http, fake, "wahoo", WAHOO_USER)
    run = wahoo_workout(id=2001, workout_type_id=1)
    await fake.put_activity("wahoo", WAHOO_USER, 2001, run)
    url = f"{fake.urls('wahoo')['api_url']}/v1/workouts"

    found = await http.get(f"{url}/2001", headers=bearer(token))
    missing = await http.get(f"{url}/2002", headers=bearer(token))
    refused = await http.get(f"{url}/2001", headers=bearer("x"))

    assert found.json() == run
    assert "power_avg" not in run["workout_summary"]
    assert run["workout_summary"]["distance_accum"] == "10021.37"
    assert missing.status_code == 404
    assert refused.status_code == 401


async def test_an_injected_failure_hits_the_data_api_in_the_providers_shape(
    http: httpx.AsyncClient, fake: FakeProviders
) -> None:
    token = await access_token(http, fake, "wahoo", WAHOO_USER)
    await fake.fail_next("wahoo", "server_error", "/v1/workouts")
    await fake.fail_next("coros", "rate_limited", "/v2/coros/sport/list")
    coros_params = {"token": "t", "openId": COROS_OPEN_ID, "startDate": "20240601", "endDate": "20240601"}

    failed = await http.get(f"{fake.urls('wahoo')['api_url']}/v1/workouts", headers=bearer(token))
    limited = await http.get(f"{fake.urls('coros')['api_url']}/v2/coros/sport/list", params=coros_params)

    assert (failed.status_code, set(failed.json())) == (500, {"error", "error_description"})
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "60")


def test_a_wahoo_webhook_carries_the_summary_with_its_workout_inside() -> None:
    ride = wahoo_workout(id=3001, workout_type_id=61, name="Zwift - Watopia")

    body: dict[str, Any] = wahoo_webhook(WAHOO_USER, ride, webhook_token="wh-token")

    assert (body["event_type"], body["webhook_token"], body["user"]) == (
        "workout_summary",
        "wh-token",
        {"id": 60462},
    )
    summary = body["workout_summary"]
    assert summary["power_bike_np_last"] == ride["workout_summary"]["power_bike_np_last"]
    assert summary["workout"]["id"] == 3001
    assert summary["workout"]["workout_type_id"] == 61
    assert "workout_summary" not in summary["workout"]
