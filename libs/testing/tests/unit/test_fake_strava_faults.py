"""Faults a test plays on the fake Strava: failures that last a while whatever the number of calls (and
strike their number of calls even when none came in time), failures of refresh grants only, several
failures of the same calls in the order they were added, and the application's limits changed while
the fake runs."""

from collections.abc import AsyncIterator

import httpx
import pytest

from relay_testing.fakes.strava import FakeStrava, FakeStravaClient, serve_fake_strava


@pytest.fixture
async def http(fake_strava: FakeStrava) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake_strava.url, timeout=5.0) as client:
        yield client


async def read_athlete(http: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await http.get("/api/v3/athlete", headers={"Authorization": f"Bearer {access_token}"})


async def refresh(http: httpx.AsyncClient, fake: FakeStrava, refresh_token: str) -> httpx.Response:
    form = {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "refresh_token": refresh_token,
        "grant_type": "refresh_token",
    }
    return await http.post("/oauth/token", data=form)


async def test_a_failure_for_a_while_strikes_every_call_until_the_fakes_clock_has_moved_past_it(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant()
    await fake_strava.fail_next("rate_limited", endpoint="api", for_seconds=30)

    during = [await read_athlete(http, tokens["access_token"]) for _ in range(5)]
    await fake_strava.advance_clock(31)
    after = await read_athlete(http, tokens["access_token"])

    assert [answer.status_code for answer in during] == [429] * 5
    assert {answer.headers["X-RateLimit-Usage"] for answer in during} == {"1,1", "2,2", "3,3", "4,4", "5,5"}
    assert after.status_code == 200


async def test_a_failure_for_a_while_still_strikes_its_number_of_calls_when_none_came_in_time(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant()
    await fake_strava.fail_next("server_error", endpoint="api", times=2, for_seconds=30)

    await fake_strava.advance_clock(31)
    statuses = [(await read_athlete(http, tokens["access_token"])).status_code for _ in range(3)]

    assert statuses == [500, 500, 200]


async def test_a_failure_of_refresh_grants_spares_the_code_exchange_and_other_endpoints(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant()
    await fake_strava.fail_next("server_error", endpoint="refresh")

    spared = await http.post(
        "/oauth/token",
        data={"client_id": fake_strava.client_id, "client_secret": fake_strava.client_secret},
    )
    athlete = await read_athlete(http, tokens["access_token"])
    failed = await refresh(http, fake_strava, tokens["refresh_token"])
    refreshed = await refresh(http, fake_strava, tokens["refresh_token"])

    assert spared.status_code == 400  # answered by Strava itself: a grant type is missing
    assert athlete.status_code == 200
    assert failed.status_code == 500
    assert refreshed.status_code == 200, "a refresh that failed did not use the refresh token up"


async def test_failures_of_the_same_calls_strike_in_the_order_they_were_added(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant()
    await fake_strava.fail_next("rate_limited", endpoint="refresh")
    await fake_strava.fail_next("down", endpoint="token", times=2)

    statuses = [(await refresh(http, fake_strava, tokens["refresh_token"])).status_code for _ in range(4)]

    assert statuses == [429, 503, 503, 200]


async def test_a_slow_spell_answers_every_call_late_while_it_lasts(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant()
    await fake_strava.fail_next("slow", seconds=1.0, endpoint="api", for_seconds=30)

    for _ in range(2):
        with pytest.raises(httpx.ReadTimeout):
            await http.get(
                "/api/v3/athlete", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=0.2
            )
    await fake_strava.advance_clock(31)

    assert (await read_athlete(http, tokens["access_token"])).status_code == 200


async def test_the_limits_change_while_the_fake_runs_and_the_requests_counted_stay_until_forgotten() -> None:
    async with (
        serve_fake_strava(read_rate_limit=(2, 1000)) as fake,
        httpx.AsyncClient(base_url=fake.url) as http,
    ):
        tokens = await fake.issue_grant()
        statuses = [(await read_athlete(http, tokens["access_token"])).status_code for _ in range(3)]
        previous = await fake.set_rate_limits((300, 3000), (10, 1000))
        raised = await read_athlete(http, tokens["access_token"])
        await fake.reset_usage()
        forgotten = await read_athlete(http, tokens["access_token"])

    assert statuses == [200, 200, 429]
    assert (previous.rate_limit, previous.read_rate_limit) == ((200, 2000), (2, 1000))
    assert raised.status_code == 200
    assert raised.headers["X-RateLimit-Limit"] == "300,3000"
    assert raised.headers["X-ReadRateLimit-Limit"] == "10,1000"
    assert raised.headers["X-ReadRateLimit-Usage"] == "4,4"
    assert forgotten.headers["X-ReadRateLimit-Usage"] == "1,1"


async def test_the_http_controls_play_the_same_faults_on_a_fake_served_elsewhere(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    control = FakeStravaClient(
        fake_strava.url, client_id=fake_strava.client_id, client_secret=fake_strava.client_secret
    )
    tokens = await fake_strava.issue_grant()
    await control.fail_next("server_error", endpoint="api", for_seconds=30)
    await control.fail_next("rate_limited", endpoint="refresh")

    during = await read_athlete(http, tokens["access_token"])
    limited = await refresh(http, fake_strava, tokens["refresh_token"])
    await control.advance_clock(31)
    after = await read_athlete(http, tokens["access_token"])
    previous = await control.set_rate_limits((1000, 10000), (500, 5000))
    await control.reset_usage()
    headers = (await read_athlete(http, tokens["access_token"])).headers

    assert (during.status_code, limited.status_code, after.status_code) == (500, 429, 200)
    assert (previous.rate_limit, previous.read_rate_limit) == ((200, 2000), (100, 1000))
    assert (headers["X-ReadRateLimit-Limit"], headers["X-ReadRateLimit-Usage"]) == ("500,5000", "1,1")
