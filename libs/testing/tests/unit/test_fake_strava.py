"""The fake Strava keeps Strava's contract: OAuth redirects, token answers, the activities of the data API,
errors and rate limits."""

import asyncio
import os
import re
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from relay_testing.fakes.strava import (
    FakeStrava,
    FakeStravaClient,
    StravaAthlete,
    serve_fake_strava,
    strava_activity,
    strava_history,
    summary_of,
)

CALLBACK = "http://127.0.0.1:8101/auth/strava/callback"


@pytest.fixture
async def http(fake_strava: FakeStrava) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake_strava.url, timeout=5.0) as client:
        yield client


async def authorize(
    http: httpx.AsyncClient, fake: FakeStrava, *, scope: str = "read,activity:read_all", **params: str
) -> httpx.Response:
    query = {
        "client_id": fake.client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "approval_prompt": "auto",
        "scope": scope,
        "state": "st-4f1c",
        **params,
    }
    return await http.get("/oauth/authorize", params=query)


def redirect_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


async def code_for(http: httpx.AsyncClient, fake: FakeStrava) -> str:
    return redirect_query(await authorize(http, fake))["code"]


async def exchange(http: httpx.AsyncClient, fake: FakeStrava, code: str, **overrides: str) -> httpx.Response:
    form = {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "code": code,
        "grant_type": "authorization_code",
        **overrides,
    }
    return await http.post("/oauth/token", data=form)


async def refresh(http: httpx.AsyncClient, fake: FakeStrava, refresh_token: str) -> httpx.Response:
    form = {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "refresh_token": refresh_token,
        "grant_type": "refresh_token",
    }
    return await http.post("/oauth/token", data=form)


def strava_error(message: str, resource: str, field: str, code: str = "invalid") -> dict[str, Any]:
    return {"message": message, "errors": [{"resource": resource, "field": field, "code": code}]}


async def test_authorizing_redirects_back_with_the_state_a_code_and_the_scopes_granted(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    response = await authorize(http, fake_strava)

    location = response.headers["location"]
    assert location.startswith(f"{CALLBACK}?state=st-4f1c&code=")
    assert location.endswith("&scope=read,activity:read_all")  # commas as Strava writes them
    assert len(redirect_query(response)["code"]) == 40


async def test_the_athlete_may_untick_scopes_and_the_redirect_tells_which_were_kept(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    await fake_strava.queue_athlete(id=98765, firstname="Lea", lastname="Brun", scopes=["read"])

    query = redirect_query(await authorize(http, fake_strava, scope="read,activity:read_all"))
    answer = (await exchange(http, fake_strava, query["code"])).json()

    assert query["scope"] == "read"
    assert answer["athlete"]["id"] == 98765
    assert answer["athlete"]["firstname"] == "Lea"


async def test_a_refusal_redirects_back_with_access_denied_and_no_code(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    await fake_strava.deny_next()

    query = redirect_query(await authorize(http, fake_strava))

    assert query == {"state": "st-4f1c", "error": "access_denied"}
    assert "code" in redirect_query(await authorize(http, fake_strava))  # only the next one


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"client_id": "1"}, "client_id"),
        ({"redirect_uri": "not a url"}, "redirect_uri"),
        ({"response_type": "token"}, "response_type"),
    ],
)
async def test_an_authorization_for_another_app_or_a_bad_redirect_is_refused_without_redirecting(
    http: httpx.AsyncClient, fake_strava: FakeStrava, params: dict[str, str], field: str
) -> None:
    response = await authorize(http, fake_strava, **params)
    assert response.status_code == 400
    assert response.json() == strava_error("Bad Request", "Application", field)


async def test_an_unknown_scope_is_refused(http: httpx.AsyncClient, fake_strava: FakeStrava) -> None:
    response = await authorize(http, fake_strava, scope="read,activity:everything")
    assert response.status_code == 400
    assert response.json() == strava_error("Bad Request", "Authorize", "scope")


async def test_a_code_exchange_answers_tokens_and_the_summary_athlete(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    response = await exchange(http, fake_strava, await code_for(http, fake_strava))

    assert response.status_code == 200
    body = response.json()
    assert list(body) == [
        "token_type",
        "expires_at",
        "expires_in",
        "refresh_token",
        "access_token",
        "athlete",
    ]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 21600
    assert abs(body["expires_at"] - (fake_strava.state.now() + 21600)) < 5
    assert body["access_token"] != body["refresh_token"]
    athlete = body["athlete"]
    assert athlete["resource_state"] == 2
    assert {"id", "username", "firstname", "lastname", "profile", "profile_medium", "sex"} <= set(athlete)
    assert athlete["profile"].startswith("https://")
    assert athlete["friend"] is None
    assert athlete["premium"] is False


async def test_a_code_exchange_sent_as_json_is_accepted_too(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    code = await code_for(http, fake_strava)
    response = await http.post(
        "/oauth/token",
        json={
            "client_id": int(fake_strava.client_id),
            "client_secret": fake_strava.client_secret,
            "code": code,
            "grant_type": "authorization_code",
        },
    )
    assert response.status_code == 200


async def test_a_code_works_once(http: httpx.AsyncClient, fake_strava: FakeStrava) -> None:
    code = await code_for(http, fake_strava)
    assert (await exchange(http, fake_strava, code)).status_code == 200

    again = await exchange(http, fake_strava, code)

    assert again.status_code == 400
    assert again.json() == strava_error("Bad Request", "AuthorizationCode", "code")


async def test_a_code_expires_after_ten_minutes(http: httpx.AsyncClient, fake_strava: FakeStrava) -> None:
    code = await code_for(http, fake_strava)
    await fake_strava.advance_clock(601)

    response = await exchange(http, fake_strava, code)

    assert response.status_code == 400
    assert response.json() == strava_error("Bad Request", "AuthorizationCode", "code")


async def test_a_wrong_client_secret_is_an_authorization_error(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    response = await exchange(http, fake_strava, await code_for(http, fake_strava), client_secret="nope")
    assert response.status_code == 401
    assert response.json() == strava_error("Authorization Error", "Application", "client_secret")


async def test_an_unknown_client_id_is_a_bad_request(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    response = await exchange(http, fake_strava, await code_for(http, fake_strava), client_id="7")
    assert response.status_code == 400
    assert response.json() == strava_error("Bad Request", "Application", "client_id")


async def test_a_refresh_replaces_the_refresh_token_and_the_old_one_stops_working(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    first = (await exchange(http, fake_strava, await code_for(http, fake_strava))).json()

    refreshed = await refresh(http, fake_strava, first["refresh_token"])
    replayed = await refresh(http, fake_strava, first["refresh_token"])

    assert refreshed.status_code == 200
    body = refreshed.json()
    assert list(body) == ["token_type", "access_token", "expires_at", "expires_in", "refresh_token"]
    assert body["refresh_token"] != first["refresh_token"]
    assert replayed.status_code == 400
    assert replayed.json() == strava_error("Bad Request", "RefreshToken", "refresh_token")


async def test_a_refresh_gives_a_new_access_token_only_when_the_current_one_expires_within_the_hour(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    first = (await exchange(http, fake_strava, await code_for(http, fake_strava))).json()

    early = (await refresh(http, fake_strava, first["refresh_token"])).json()
    await fake_strava.advance_clock(5 * 3600 + 1)
    late = (await refresh(http, fake_strava, early["refresh_token"])).json()

    assert early["access_token"] == first["access_token"]
    assert early["expires_at"] == first["expires_at"]
    assert late["access_token"] != first["access_token"]
    assert late["expires_in"] == 21600


async def test_the_athlete_endpoint_answers_the_token_owner_and_refuses_anyone_else(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    await fake_strava.queue_athlete(
        StravaAthlete(id=5551, firstname="Ines", profile="https://p.example/l.jpg")
    )
    tokens = (await exchange(http, fake_strava, await code_for(http, fake_strava))).json()

    mine = await http.get("/api/v3/athlete", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    forged = await http.get("/api/v3/athlete", headers={"Authorization": "Bearer 0123abcd"})

    assert mine.status_code == 200
    assert mine.json()["id"] == 5551
    assert mine.json()["resource_state"] == 3
    assert forged.status_code == 401
    assert forged.json() == strava_error("Authorization Error", "Athlete", "access_token")


async def test_an_access_token_stops_working_when_it_expires(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant()
    await fake_strava.advance_clock(21601)
    response = await http.get(
        "/api/v3/athlete", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 401


async def test_deauthorizing_revokes_every_token_of_the_athlete(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant(StravaAthlete(id=42))
    assert [g.athlete_id for g in await fake_strava.grants()] == [42]

    response = await http.post("/oauth/deauthorize", data={"access_token": tokens["access_token"]})

    assert response.status_code == 200
    assert response.json() == {"access_token": tokens["access_token"]}
    assert await fake_strava.grants() == []
    assert (await refresh(http, fake_strava, tokens["refresh_token"])).status_code == 400
    again = await http.post("/oauth/deauthorize", data={"access_token": tokens["access_token"]})
    assert again.status_code == 401


async def test_once_deauthorized_the_athletes_access_token_answers_401_and_their_refresh_is_refused(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant(StravaAthlete(id=42))
    other = await fake_strava.issue_grant(StravaAthlete(id=43))
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await http.get("/api/v3/athlete", headers=bearer)).status_code == 200

    await http.post("/oauth/deauthorize", data={"access_token": tokens["access_token"]})

    refused = await http.get("/api/v3/athlete", headers=bearer)
    assert (refused.status_code, refused.json()) == (
        401,
        strava_error("Authorization Error", "Athlete", "access_token"),
    )
    assert (await refresh(http, fake_strava, tokens["refresh_token"])).status_code == 400
    still = await http.get("/api/v3/athlete", headers={"Authorization": f"Bearer {other['access_token']}"})
    assert still.status_code == 200


@pytest.mark.parametrize("served_elsewhere", [False, True])
async def test_an_athlete_removing_the_application_at_strava_ends_their_tokens_as_a_deauthorization_does(
    http: httpx.AsyncClient, fake_strava: FakeStrava, served_elsewhere: bool
) -> None:
    control = (
        FakeStravaClient(
            fake_strava.url, client_id=fake_strava.client_id, client_secret=fake_strava.client_secret
        )
        if served_elsewhere
        else fake_strava
    )
    tokens = await fake_strava.issue_grant(StravaAthlete(id=42))

    assert await control.revoke_grant(42) is True

    answer = await http.get("/api/v3/athlete", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert answer.status_code == 401
    assert (await refresh(http, fake_strava, tokens["refresh_token"])).status_code == 400
    assert await fake_strava.grants() == []
    assert await control.revoke_grant(42) is False


async def test_every_answer_carries_the_rate_limit_headers_with_the_usage_so_far(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    await http.post("/oauth/token", data={})
    response = await http.post("/oauth/token", data={})

    assert response.headers["X-RateLimit-Limit"] == "200,2000"
    assert response.headers["X-RateLimit-Usage"] == "2,2"
    assert response.headers["X-ReadRateLimit-Limit"] == "100,1000"
    assert response.headers["X-ReadRateLimit-Usage"] == "2,2"


async def test_beyond_the_limit_strava_answers_429_until_the_quarter_hour_passes() -> None:
    async with (
        serve_fake_strava(read_rate_limit=(2, 1000)) as fake,
        httpx.AsyncClient(base_url=fake.url) as http,
    ):
        tokens = await fake.issue_grant()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert [(await http.get("/api/v3/athlete", headers=headers)).status_code for _ in range(2)] == [
            200,
            200,
        ]

        refused = await http.get("/api/v3/athlete", headers=headers)
        await fake.advance_clock(15 * 60)
        later = await http.get("/api/v3/athlete", headers=headers)

    assert refused.status_code == 429
    assert refused.json() == strava_error("Rate Limit Exceeded", "Application", "rate limit", "exceeded")
    assert refused.headers["X-ReadRateLimit-Usage"] == "3,3"
    assert later.status_code == 200
    assert later.headers["X-ReadRateLimit-Usage"] == "1,4"  # the daily count goes on


@pytest.mark.parametrize(("mode", "status"), [("down", 503), ("server_error", 500), ("rate_limited", 429)])
async def test_an_injected_failure_answers_in_place_of_the_next_token_calls_only(
    http: httpx.AsyncClient, fake_strava: FakeStrava, mode: Any, status: int
) -> None:
    await fake_strava.fail_next(mode, times=2)
    code = await code_for(http, fake_strava)  # another endpoint: not affected

    statuses = [(await exchange(http, fake_strava, code)).status_code for _ in range(3)]

    assert statuses == [status, status, 200]


async def test_a_dropped_connection_fails_the_call_at_the_transport(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    await fake_strava.fail_next("disconnect")
    with pytest.raises(httpx.TransportError):
        await exchange(http, fake_strava, await code_for(http, fake_strava))


async def test_a_slow_strava_answers_late(http: httpx.AsyncClient, fake_strava: FakeStrava) -> None:
    await fake_strava.fail_next("slow", seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        await http.post("/oauth/token", data={}, timeout=0.3)
    await fake_strava.fail_next("slow", seconds=0.3)
    started = asyncio.get_running_loop().time()
    response = await http.post("/oauth/token", data={})
    assert asyncio.get_running_loop().time() - started >= 0.3
    assert response.status_code == 400


async def test_the_fake_tells_what_the_token_endpoint_received(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    query = redirect_query(await authorize(http, fake_strava, code_challenge="abc"))
    await exchange(http, fake_strava, query["code"])

    sent = await fake_strava.last_token_request()
    [authorization] = await fake_strava.received("/oauth/authorize")

    assert sent is not None
    assert sent["client_secret"] == fake_strava.client_secret
    assert sent["grant_type"] == "authorization_code"
    assert "code_verifier" not in sent
    assert authorization.query["approval_prompt"] == "auto"


async def test_reset_forgets_tokens_and_queued_athletes(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant()
    await fake_strava.queue_athlete(id=777)

    await fake_strava.reset()

    assert await fake_strava.grants() == []
    assert await fake_strava.received() == []
    code = await code_for(http, fake_strava)
    assert (await exchange(http, fake_strava, code)).json()["athlete"]["id"] == 134815
    assert (await refresh(http, fake_strava, tokens["refresh_token"])).status_code == 400


async def test_the_http_controls_drive_a_fake_strava_served_elsewhere(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    control = FakeStravaClient(
        fake_strava.url, client_id=fake_strava.client_id, client_secret=fake_strava.client_secret
    )
    await control.queue_athlete(id=31337, lastname="Durand")
    await control.fail_next("server_error")

    code = await code_for(http, fake_strava)
    assert (await exchange(http, fake_strava, code)).status_code == 500
    await control.advance_clock(60)
    tokens = (await exchange(http, fake_strava, await code_for(http, fake_strava))).json()

    assert tokens["athlete"]["id"] == 134815  # the queued athlete went with the first code
    assert (await control.last_token_request() or {})["client_id"] == fake_strava.client_id
    assert {g.athlete_id for g in await control.grants()} == {134815}
    issued = await control.issue_grant(StravaAthlete(id=8), scopes=["read"])
    assert issued["athlete"]["id"] == 8
    await control.reset()
    assert await control.received() == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_the_fake_runs_as_its_own_process() -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "relay_testing.fakes.strava", "--port", str(port), "--client-id", "900"),
        env={**os.environ, "FAKE_STRAVA_CLIENT_SECRET": "s3cr3t-for-the-process"},
    )
    control = FakeStravaClient(
        f"http://127.0.0.1:{port}", client_id="900", client_secret="s3cr3t-for-the-process"
    )
    try:
        async with httpx.AsyncClient(base_url=control.url, timeout=5.0) as http:
            for _ in range(100):
                try:
                    if (await http.get("/_fake/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            tokens = await control.issue_grant()
            response = await http.post(
                "/oauth/token",
                data={
                    "client_id": "900",
                    "client_secret": "s3cr3t-for-the-process",
                    "grant_type": "refresh_token",
                    "refresh_token": tokens["refresh_token"],
                },
            )
        assert response.status_code == 200
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)


# The data API: activities.

HISTORY_END = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
TIMEZONE_LABEL = re.compile(r"^\(GMT[+-]\d{2}:\d{2}\) [A-Za-z_]+/[A-Za-z_]+$")


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def put_runs(fake: FakeStrava, athlete_id: int, *days: int) -> list[dict[str, Any]]:
    """Runs of the athlete at 06:00 UTC on these days of June 2025."""
    return [
        await fake.put_activity(
            athlete_id, strava_activity(athlete_id, start=datetime(2025, 6, day, 6, tzinfo=UTC))
        )
        for day in days
    ]


async def test_the_activity_list_gives_the_token_owners_summaries_newest_first(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant(StravaAthlete(id=42))
    runs = await put_runs(fake_strava, 42, 3, 1, 2)
    await put_runs(fake_strava, 7, 4)  # another athlete's

    response = await http.get("/api/v3/athlete/activities", headers=bearer(tokens))

    assert response.status_code == 200
    listed = response.json()
    assert [a["id"] for a in listed] == [runs[0]["id"], runs[2]["id"], runs[1]["id"]]
    first = listed[0]
    assert first["resource_state"] == 2
    assert first["athlete"] == {"id": 42, "resource_state": 1}
    assert first["start_date"] == "2025-06-03T06:00:00Z"
    assert first["start_date_local"] == "2025-06-03T08:00:00Z"
    assert first["timezone"] == "(GMT+01:00) Europe/Paris"
    assert first["utc_offset"] == 7200.0
    assert (first["type"], first["sport_type"]) == ("Run", "Run")
    assert set(first["map"]) == {"id", "summary_polyline", "resource_state"}
    assert not {"calories", "device_name", "segment_efforts", "description"} & set(first)
    assert {"distance", "moving_time", "elapsed_time", "average_speed", "external_id", "upload_id"} <= set(
        first
    )


async def test_with_after_the_list_is_oldest_first_and_both_bounds_are_exclusive(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant(StravaAthlete(id=42))
    runs = await put_runs(fake_strava, 42, 1, 2, 3, 4, 5)
    day = 86_400
    after = int(datetime(2025, 6, 2, 6, tzinfo=UTC).timestamp())  # exactly the second run's start

    response = await http.get(
        "/api/v3/athlete/activities",
        params={"after": after, "before": after + 3 * day},  # exactly the fifth run's start
        headers=bearer(tokens),
    )

    assert [a["id"] for a in response.json()] == [runs[2]["id"], runs[3]["id"]]


async def test_the_list_gives_30_per_page_by_default_and_200_at_most(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant(StravaAthlete(id=42))
    ids = await fake_strava.add_history(42, 450, end=HISTORY_END, seed=1)

    async def page(**params: int) -> list[int]:
        response = await http.get("/api/v3/athlete/activities", params=params, headers=bearer(tokens))
        return [a["id"] for a in response.json()]

    assert await page() == ids[::-1][:30]
    assert await page(page=2) == ids[::-1][30:60]
    assert len(await page(per_page=500)) == 200
    assert await page(after=0, page=3, per_page=200) == ids[400:]
    assert await page(after=0, page=4, per_page=200) == []


async def test_an_activity_is_given_in_detail(http: httpx.AsyncClient, fake_strava: FakeStrava) -> None:
    tokens = await fake_strava.issue_grant(StravaAthlete(id=42))
    ride = await fake_strava.put_activity(42, strava_activity(42, sport_type="VirtualRide"))

    response = await http.get(f"/api/v3/activities/{ride['id']}", headers=bearer(tokens))

    assert response.status_code == 200
    detail = response.json()
    assert detail == ride
    assert detail["resource_state"] == 3
    assert (detail["type"], detail["trainer"], detail["device_name"]) == ("VirtualRide", True, "Zwift")
    assert detail["name"].startswith("Zwift - ")
    assert detail["external_id"].startswith("zwift-activity-")
    assert detail["device_watts"] is True
    assert detail["weighted_average_watts"] >= detail["average_watts"] * 0.99
    assert detail["kilojoules"] == pytest.approx(detail["average_watts"] * detail["moving_time"] / 1000, 0.01)
    assert detail["calories"] > 0
    assert detail["map"]["polyline"]


async def test_an_unknown_activity_or_another_athletes_private_one_is_not_found(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant(StravaAthlete(id=42))
    hidden = await fake_strava.put_activity(7, strava_activity(7, private=True))
    shown = await fake_strava.put_activity(7, strava_activity(7))

    responses = [
        await http.get(f"/api/v3/activities/{activity_id}", headers=bearer(tokens))
        for activity_id in (123, "not-an-id", hidden["id"], shown["id"])
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 200]
    assert responses[0].json() == strava_error("Record Not Found", "Activity", "id")
    assert hidden["visibility"] == "only_me"


async def test_private_activities_need_the_activity_read_all_scope(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant(StravaAthlete(id=42), scopes=["read", "activity:read"])
    public, private = await put_runs(fake_strava, 42, 1, 2)
    await fake_strava.put_activity(42, {"id": private["id"], "private": True})

    listed = await http.get("/api/v3/athlete/activities", headers=bearer(tokens))
    detail = await http.get(f"/api/v3/activities/{private['id']}", headers=bearer(tokens))

    assert [a["id"] for a in listed.json()] == [public["id"]]
    assert detail.status_code == 404


async def test_without_an_activity_scope_the_data_api_refuses_the_token(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant(StravaAthlete(id=42), scopes=["read"])

    response = await http.get("/api/v3/athlete/activities", headers=bearer(tokens))

    assert response.status_code == 401
    assert response.json() == strava_error(
        "Authorization Error", "AccessToken", "activity:read_permission", "missing"
    )


@pytest.mark.parametrize("path", ["/api/v3/athlete/activities", "/api/v3/activities/20000000001"])
async def test_the_data_api_refuses_a_missing_forged_or_revoked_token(
    http: httpx.AsyncClient, fake_strava: FakeStrava, path: str
) -> None:
    tokens = await fake_strava.issue_grant(StravaAthlete(id=42))
    await http.post("/oauth/deauthorize", data={"access_token": tokens["access_token"]})

    for headers in ({}, {"Authorization": "Bearer 0123abcd"}, bearer(tokens)):
        response = await http.get(path, headers=headers)
        assert response.status_code == 401
        assert response.json() == strava_error("Authorization Error", "Athlete", "access_token")


async def test_data_api_answers_carry_the_rate_limit_headers_and_count_as_reads() -> None:
    async with (
        serve_fake_strava(read_rate_limit=(3, 1000)) as fake,
        httpx.AsyncClient(base_url=fake.url) as http,
    ):
        tokens = await fake.issue_grant()
        [run] = await put_runs(fake, tokens["athlete"]["id"], 1)
        answers = [
            await http.get("/api/v3/athlete/activities", headers=bearer(tokens)),
            await http.get(f"/api/v3/activities/{run['id']}", headers=bearer(tokens)),
            await http.get("/api/v3/athlete/activities", headers={}),
            await http.get(f"/api/v3/activities/{run['id']}", headers=bearer(tokens)),
        ]

    assert [a.status_code for a in answers] == [200, 200, 401, 429]
    assert [a.headers["X-ReadRateLimit-Usage"] for a in answers] == ["1,1", "2,2", "3,3", "4,4"]
    assert all(a.headers["X-RateLimit-Limit"] == "200,2000" for a in answers)
    assert answers[3].json() == strava_error("Rate Limit Exceeded", "Application", "rate limit", "exceeded")
    served = [r for r in await fake.received() if r.path.startswith("/api/v3/")]
    assert len(served) == 4


async def test_an_edit_shows_in_the_data_api_and_a_removal_makes_the_activity_not_found(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant(StravaAthlete(id=42))
    [run] = await put_runs(fake_strava, 42, 1)

    edited = await fake_strava.put_activity(
        42, {"id": run["id"], "name": "Tempo 3x10'", "sport_type": "TrailRun"}
    )
    renamed = (await http.get(f"/api/v3/activities/{run['id']}", headers=bearer(tokens))).json()
    removed = await fake_strava.remove_activity(run["id"])
    gone = await http.get(f"/api/v3/activities/{run['id']}", headers=bearer(tokens))

    assert renamed == edited
    assert (renamed["name"], renamed["sport_type"], renamed["distance"]) == (
        "Tempo 3x10'",
        "TrailRun",
        run["distance"],
    )
    assert removed is True
    assert await fake_strava.remove_activity(run["id"]) is False
    assert gone.status_code == 404
    assert await fake_strava.activities(42) == []


async def test_an_activity_id_belongs_to_one_athlete(fake_strava: FakeStrava) -> None:
    [run] = await put_runs(fake_strava, 42, 1)
    with pytest.raises(ValueError, match="belongs to athlete 42"):
        await fake_strava.put_activity(7, {**run})


def test_the_payload_factory_gives_a_detail_or_a_summary_with_the_legacy_type() -> None:
    trail = strava_activity(42, sport_type="TrailRun")
    pilates = strava_activity(42, sport_type="Pilates", resource_state=2)
    swim = strava_activity(42, sport_type="Swim")

    assert (trail["type"], trail["resource_state"]) == ("Run", 3)
    assert {"calories", "device_name"} <= set(trail)
    assert (pilates["type"], pilates["resource_state"], pilates["distance"]) == ("Workout", 2, 0.0)
    assert "calories" not in pilates
    assert pilates == summary_of(strava_activity(42, id=pilates["id"], sport_type="Pilates"))
    assert (swim["start_latlng"], swim["map"]["summary_polyline"], swim["trainer"]) == ([], "", False)
    assert trail["id"] != swim["id"]


def test_a_history_is_a_triathletes_years_the_same_for_the_same_seed() -> None:
    history = strava_history(42, 2000, end=HISTORY_END, seed=7)

    assert history == strava_history(42, 2000, end=HISTORY_END, seed=7)
    assert history != strava_history(42, 2000, end=HISTORY_END, seed=8)
    starts = [datetime.fromisoformat(a["start_date"]) for a in history]
    assert starts == sorted(starts)
    assert starts[-1] < HISTORY_END
    assert len({a["id"] for a in history}) == 2000
    sports = Counter(a["sport_type"] for a in history)
    assert {"Run", "TrailRun", "Ride", "VirtualRide", "Swim", "Walk", "WeightTraining"} <= set(sports)
    assert sports["Run"] + sports["Ride"] + sports["VirtualRide"] + sports["Swim"] > 1400
    for activity in history:
        assert TIMEZONE_LABEL.match(activity["timezone"])
        local = datetime.fromisoformat(activity["start_date_local"]).replace(tzinfo=None)
        utc = datetime.fromisoformat(activity["start_date"]).replace(tzinfo=None)
        assert (local - utc).total_seconds() == activity["utc_offset"]
        assert activity["athlete"] == {"id": 42, "resource_state": 1}
        assert activity["moving_time"] <= activity["elapsed_time"]
        if activity["manual"]:
            assert activity["external_id"] is None and activity["device_name"] is None
    zwift = [a for a in history if a["sport_type"] == "VirtualRide"]
    assert all(a["trainer"] and a["device_name"] == "Zwift" and a["device_watts"] for a in zwift)
    swims = [a for a in history if a["sport_type"] == "Swim"]
    assert any(a["start_latlng"] for a in swims) and any(not a["start_latlng"] for a in swims)


async def test_five_thousand_activities_are_generated_and_stored_in_well_under_a_second(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    tokens = await fake_strava.issue_grant(StravaAthlete(id=42))
    started = time.thread_time()  # the processor's time: other processes on the machine do not count
    ids = await fake_strava.add_history(42, 5000, seed=2)
    elapsed = time.thread_time() - started

    newest = (await http.get("/api/v3/athlete/activities", headers=bearer(tokens))).json()

    assert elapsed < 1.0
    assert len(ids) == 5000
    assert newest[0]["id"] == ids[-1]
    assert datetime.fromisoformat(newest[0]["start_date"]).timestamp() < fake_strava.state.now()


async def test_the_http_controls_store_edit_and_remove_activities(
    http: httpx.AsyncClient, fake_strava: FakeStrava
) -> None:
    control = FakeStravaClient(
        fake_strava.url, client_id=fake_strava.client_id, client_secret=fake_strava.client_secret
    )

    ids = await control.add_history(42, 5000, end=HISTORY_END, seed=4)
    run = await control.put_activity(42, {"name": "Parkrun", "start_date": "2026-01-17T09:00:00Z"})
    edited = await control.put_activity(42, {"id": run["id"], "private": True})
    removed = await control.remove_activity(ids[0])
    held = await control.activities(42)

    assert ids == [a["id"] for a in strava_history(42, 5000, end=HISTORY_END, seed=4)]
    assert (run["name"], run["athlete"]["id"], run["sport_type"]) == ("Parkrun", 42, "Run")
    assert (run["start_date_local"], run["utc_offset"]) == ("2026-01-17T10:00:00Z", 3600.0)
    assert (edited["private"], edited["visibility"]) == (True, "only_me")
    assert removed is True
    assert [a["id"] for a in held] == [*ids[1:], run["id"]]
    with pytest.raises(httpx.HTTPStatusError):
        await control.put_activity(7, {"id": run["id"]})
