"""The fake Strava keeps Strava's OAuth contract: redirects, token answers, errors and rate limits."""

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from relay_testing.fakes.strava import FakeStrava, FakeStravaClient, StravaAthlete, serve_fake_strava

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
