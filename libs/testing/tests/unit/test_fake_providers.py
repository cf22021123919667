"""The fake providers keep each provider's OAuth contract: consent redirects, token answers and their
checks, refresh rotation, the API calls that link and unlink an athlete, errors in each provider's shape,
and the failures tests inject. Driven with plain httpx, as Relay's provider clients call them."""

import asyncio
import base64
import hashlib
import os
import re
import secrets
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import ANY

import httpx
import pytest

from relay_testing.fakes.providers import PROVIDERS, FakeProviders, FakeProvidersClient, Provider

PKCE = {"garmin", "fitbit"}
BASIC_AUTH = {"polar", "fitbit"}
ROTATING: list[Provider] = ["garmin", "oura", "whoop", "fitbit", "wahoo"]
WITH_PROFILE: list[Provider] = ["garmin", "oura", "whoop", "fitbit", "wahoo"]
SCOPES = {
    "polar": "accesslink.read_all",
    "oura": "email personal daily heartrate workout session spo2",
    "whoop": "offline read:profile read:workout read:recovery read:sleep read:cycles read:body_measurement",
    "fitbit": "activity heartrate profile sleep",
    "wahoo": "user_read workouts_read plans_read plans_write offline_data",
}
PROFILE_PATHS = {
    "garmin": "/wellness-api/rest/user/id",
    "oura": "/v2/usercollection/personal_info",
    "whoop": "/developer/v2/user/profile/basic",
    "fitbit": "/1/user/-/profile.json",
    "wahoo": "/v1/user",
}
TOKEN_ANSWERS: dict[str, tuple[list[str], int]] = {
    "garmin": (
        [
            "access_token",
            "token_type",
            "refresh_token",
            "expires_in",
            "scope",
            "jti",
            "refresh_token_expires_in",
        ],
        86399,
    ),
    "coros": (["access_token", "refresh_token", "expires_in", "openId"], 2592000),
    "polar": (["access_token", "token_type", "expires_in", "x_user_id"], 315359999),
    "oura": (["access_token", "token_type", "expires_in", "refresh_token", "scope"], 86400),
    "whoop": (["access_token", "expires_in", "refresh_token", "scope", "token_type"], 3600),
    "fitbit": (["access_token", "expires_in", "refresh_token", "scope", "token_type", "user_id"], 28800),
    "wahoo": (["access_token", "token_type", "expires_in", "refresh_token", "scope", "created_at"], 7200),
}
USER_IDS = {
    "garmin": r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}",
    "coros": r"[0-9a-f]{32}",
    "polar": r"[1-9][0-9]{4,7}",
    "oura": r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}",
    "whoop": r"[1-9][0-9]{4,7}",
    "fitbit": r"[0-9A-Z]{6}",
    "wahoo": r"[1-9][0-9]{4,7}",
}
FIXED_USER_IDS = {
    "garmin": "7c3e1a52-0d5b-4c4e-9a51-2f7d7e1b9c10",
    "coros": "4a1f0c9e8b7d6a5f4e3d2c1b0a998877",
    "polar": "10091",
    "oura": "8f9a5221-639e-4a6c-b6b4-6cd2a1d0c6f0",
    "whoop": "10129",
    "fitbit": "GGNJL9",
    "wahoo": "60462",
}


def invalid_grant(provider: str) -> Any:
    """The provider's 400 body for a refused code or refresh token, as the contract writes it."""
    if provider == "coros":
        return {"result": "1008", "message": "authorization code invalid"}
    if provider == "polar":
        return {"error": "invalid_grant"}
    if provider == "fitbit":
        return {"errors": [{"errorType": "invalid_grant", "message": ANY}], "success": False}
    return {"error": "invalid_grant", "error_description": ANY}


def invalid_client(provider: str) -> Any:
    """The provider's 401 body for bad client credentials."""
    if provider == "coros":
        return {"result": "1007", "message": "client invalid"}
    if provider == "fitbit":
        return {"errors": [{"errorType": "invalid_client", "message": ANY}], "success": False}
    if provider == "garmin":
        return {"error": "invalid_client", "error_description": ANY}
    return {"error": "invalid_client"}


def callback(provider: str) -> str:
    return f"http://localhost:8080/api/providers/{provider}/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorization_url(
    fake: FakeProviders, provider: Provider, challenge: str = "", **overrides: str | None
) -> str:
    params: dict[str, str | None] = {
        "client_id": fake.client_id,
        "response_type": "code",
        "redirect_uri": callback(provider),
        "state": "st-4f1c9a2e",
    }
    if provider in PKCE:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    if provider in SCOPES:
        params["scope"] = SCOPES[provider]
    query = {k: v for k, v in (params | overrides).items() if v is not None}
    return str(httpx.URL(fake.urls(provider)["authorize_url"], params=query))


async def consent(fake: FakeProviders, provider: Provider, **overrides: str | None) -> tuple[str, str]:
    """The athlete approves: the code on the redirect, and the PKCE verifier that goes with it."""
    verifier, challenge = pkce_pair()
    location = await fake.authorize(provider, authorization_url(fake, provider, challenge, **overrides))
    return location.params["code"], verifier


async def token_call(
    http: httpx.AsyncClient, fake: FakeProviders, provider: Provider, form: dict[str, str], secret: str = ""
) -> httpx.Response:
    secret = secret or fake.client_secret
    url = fake.urls(provider)["token_url"]
    if provider in BASIC_AUTH:
        body = {"client_id": fake.client_id, **form} if provider == "fitbit" else form
        headers = {"Accept": "application/json"}
        return await http.post(url, data=body, auth=(fake.client_id, secret), headers=headers)
    return await http.post(url, data={"client_id": fake.client_id, "client_secret": secret, **form})


async def exchange(
    http: httpx.AsyncClient,
    fake: FakeProviders,
    provider: Provider,
    code: str,
    verifier: str,
    *,
    redirect_uri: str = "",
    secret: str = "",
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri or callback(provider),
    }
    if provider in PKCE:
        form["code_verifier"] = verifier
    return await token_call(http, fake, provider, form, secret)


async def refresh(
    http: httpx.AsyncClient, fake: FakeProviders, provider: Provider, token: str
) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": token}
    if provider == "coros":
        credentials = {"client_id": fake.client_id, "client_secret": fake.client_secret}
        return await http.post(fake.urls("coros")["refresh_url"], data={**credentials, **form})
    if provider == "whoop":
        form["scope"] = "offline"
    return await token_call(http, fake, provider, form)


async def link(http: httpx.AsyncClient, fake: FakeProviders, provider: Provider) -> dict[str, Any]:
    code, verifier = await consent(fake, provider)
    response = await exchange(http, fake, provider, code, verifier)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def profile(
    http: httpx.AsyncClient, fake: FakeProviders, provider: Provider, token: str
) -> httpx.Response:
    url = f"{fake.urls(provider)['api_url']}{PROFILE_PATHS[provider]}"
    return await http.get(url, headers={"Authorization": f"Bearer {token}"})


async def provider_user_id(
    http: httpx.AsyncClient, fake: FakeProviders, provider: Provider, tokens: dict[str, Any]
) -> str:
    """Where each provider tells who consented: in the token answer or from its API."""
    if provider in {"coros", "polar", "fitbit"}:
        return str(tokens[{"coros": "openId", "polar": "x_user_id", "fitbit": "user_id"}[provider]])
    body = (await profile(http, fake, provider, tokens["access_token"])).json()
    return str({"garmin": body.get("userId"), "whoop": body.get("user_id")}.get(provider, body.get("id")))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_consent_redirects_back_with_a_code_and_the_state(
    fake_providers: FakeProviders, provider: Provider
) -> None:
    _, challenge = pkce_pair()
    location = await fake_providers.authorize(
        provider, authorization_url(fake_providers, provider, challenge)
    )

    assert str(location).startswith(f"{callback(provider)}?code=")
    assert list(location.params) == ["code", "state"]
    assert location.params["state"] == "st-4f1c9a2e"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_code_exchange_answers_tokens_in_the_providers_shape_for_a_new_user(
    http: httpx.AsyncClient, fake_providers: FakeProviders, provider: Provider
) -> None:
    tokens = await link(http, fake_providers, provider)

    keys, expires_in = TOKEN_ANSWERS[provider]
    assert list(tokens) == keys
    assert tokens["expires_in"] == expires_in
    assert re.fullmatch(USER_IDS[provider], await provider_user_id(http, fake_providers, provider, tokens))
    assert tokens["access_token"] in await fake_providers.issued_tokens()
    if "scope" in tokens:
        assert tokens["scope"] == SCOPES.get(
            provider, "PARTNER_WRITE PARTNER_READ CONNECT_READ CONNECT_WRITE"
        )


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_queued_user_consents_with_the_id_and_names_the_test_chose(
    http: httpx.AsyncClient, fake_providers: FakeProviders, provider: Provider
) -> None:
    queued = await fake_providers.queue_user(provider, user_id=FIXED_USER_IDS[provider], first_name="Ines")

    tokens = await link(http, fake_providers, provider)

    assert queued.user_id == FIXED_USER_IDS[provider]
    assert await provider_user_id(http, fake_providers, provider, tokens) == FIXED_USER_IDS[provider]
    other = await link(http, fake_providers, provider)  # the queue held one consent: a new user now
    assert await provider_user_id(http, fake_providers, provider, other) != FIXED_USER_IDS[provider]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_refusal_redirects_back_with_access_denied_and_the_state(
    fake_providers: FakeProviders, provider: Provider
) -> None:
    await fake_providers.deny_next(provider)

    location = await fake_providers.authorize(provider, authorization_url(fake_providers, provider, "c" * 43))

    assert str(location) == f"{callback(provider)}?error=access_denied&state=st-4f1c9a2e"
    assert (
        "code"
        in (await fake_providers.authorize(provider, authorization_url(fake_providers, provider, "c"))).params
    )


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_code_works_once(
    http: httpx.AsyncClient, fake_providers: FakeProviders, provider: Provider
) -> None:
    code, verifier = await consent(fake_providers, provider)
    assert (await exchange(http, fake_providers, provider, code, verifier)).status_code == 200

    again = await exchange(http, fake_providers, provider, code, verifier)

    assert again.status_code == 400
    assert again.json() == invalid_grant(provider)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_unknown_code_or_one_older_than_ten_minutes_is_refused(
    http: httpx.AsyncClient, fake_providers: FakeProviders, provider: Provider
) -> None:
    code, verifier = await consent(fake_providers, provider)
    await fake_providers.advance_clock(601)

    expired = await exchange(http, fake_providers, provider, code, verifier)
    forged = await exchange(http, fake_providers, provider, "0123abcd", verifier)

    assert (expired.status_code, expired.json()) == (400, invalid_grant(provider))
    assert (forged.status_code, forged.json()) == (400, invalid_grant(provider))


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_token_call_must_name_the_redirect_uri_the_athlete_was_sent_back_to(
    http: httpx.AsyncClient, fake_providers: FakeProviders, provider: Provider
) -> None:
    code, verifier = await consent(fake_providers, provider)

    response = await exchange(
        http, fake_providers, provider, code, verifier, redirect_uri="https://evil.example/cb"
    )

    assert (response.status_code, response.json()) == (400, invalid_grant(provider))


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_wrong_client_secret_is_refused_with_invalid_client(
    http: httpx.AsyncClient, fake_providers: FakeProviders, provider: Provider
) -> None:
    code, verifier = await consent(fake_providers, provider)

    response = await exchange(http, fake_providers, provider, code, verifier, secret="not-the-secret")

    assert (response.status_code, response.json()) == (401, invalid_client(provider))
    assert (await exchange(http, fake_providers, provider, code, verifier)).status_code == 200  # not spent


@pytest.mark.parametrize("provider", ["polar", "fitbit"])
async def test_basic_auth_providers_refuse_credentials_sent_in_the_form(
    http: httpx.AsyncClient, fake_providers: FakeProviders, provider: Provider
) -> None:
    code, verifier = await consent(fake_providers, provider)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": callback(provider),
        "client_id": fake_providers.client_id,
        "client_secret": fake_providers.client_secret,
    }

    response = await http.post(fake_providers.urls(provider)["token_url"], data=form)

    assert (response.status_code, response.json()) == (401, invalid_client(provider))


@pytest.mark.parametrize("provider", ["garmin", "fitbit"])
async def test_pkce_providers_refuse_a_wrong_verifier_and_an_authorization_without_challenge(
    http: httpx.AsyncClient, fake_providers: FakeProviders, provider: Provider
) -> None:
    code, _ = await consent(fake_providers, provider)

    wrong = await exchange(http, fake_providers, provider, code, pkce_pair()[0])
    without = await http.get(authorization_url(fake_providers, provider, code_challenge=None))

    assert (wrong.status_code, wrong.json()) == (400, invalid_grant(provider))
    assert without.status_code == 400
    with pytest.raises(httpx.HTTPStatusError):
        await fake_providers.authorize(
            provider, authorization_url(fake_providers, provider, code_challenge_method="plain")
        )


async def test_an_authorization_for_another_client_is_refused_without_redirecting(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    response = await http.get(authorization_url(fake_providers, "oura", client_id="someone-else"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


async def test_whoop_refuses_a_state_shorter_than_eight_characters(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    response = await http.get(authorization_url(fake_providers, "whoop", state="short"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_state"


@pytest.mark.parametrize("provider", ROTATING)
async def test_a_refresh_rotates_the_refresh_token_and_the_old_one_is_refused(
    http: httpx.AsyncClient, fake_providers: FakeProviders, provider: Provider
) -> None:
    first = await link(http, fake_providers, provider)

    refreshed = await refresh(http, fake_providers, provider, first["refresh_token"])
    replayed = await refresh(http, fake_providers, provider, first["refresh_token"])

    assert refreshed.status_code == 200
    body = refreshed.json()
    assert list(body) == TOKEN_ANSWERS[provider][0]
    assert body["refresh_token"] != first["refresh_token"]
    assert (replayed.status_code, replayed.json()) == (400, invalid_grant(provider))
    assert (await profile(http, fake_providers, provider, first["access_token"])).status_code == 401
    assert (await profile(http, fake_providers, provider, body["access_token"])).status_code == 200


@pytest.mark.parametrize("provider", [*ROTATING, "coros"])
async def test_expired_refresh_tokens_are_refused_with_invalid_grant(
    http: httpx.AsyncClient, fake_providers: FakeProviders, provider: Provider
) -> None:
    tokens = await link(http, fake_providers, provider)

    await fake_providers.expire_refresh_tokens(provider)
    response = await refresh(http, fake_providers, provider, tokens["refresh_token"])

    assert (response.status_code, response.json()) == (400, invalid_grant(provider))


async def test_garmin_refresh_tokens_expire_after_ninety_days(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    tokens = await link(http, fake_providers, "garmin")
    await fake_providers.advance_clock(7775999)
    assert (await refresh(http, fake_providers, "garmin", tokens["refresh_token"])).status_code == 400


@pytest.mark.parametrize("provider", WITH_PROFILE)
async def test_revoked_grants_refuse_the_refresh_token_and_the_access_token(
    http: httpx.AsyncClient, fake_providers: FakeProviders, provider: Provider
) -> None:
    tokens = await link(http, fake_providers, provider)
    user_id = await provider_user_id(http, fake_providers, provider, tokens)
    kept = await link(http, fake_providers, provider)  # another athlete's grant stays

    await fake_providers.revoke_grants(provider, user_id)

    assert (await refresh(http, fake_providers, provider, tokens["refresh_token"])).json() == invalid_grant(
        provider
    )
    assert (await profile(http, fake_providers, provider, tokens["access_token"])).status_code == 401
    assert (await profile(http, fake_providers, provider, kept["access_token"])).status_code == 200


@pytest.mark.parametrize("provider", WITH_PROFILE)
async def test_access_tokens_work_on_the_api_until_they_expire(
    http: httpx.AsyncClient, fake_providers: FakeProviders, provider: Provider
) -> None:
    tokens = await link(http, fake_providers, provider)
    assert (await profile(http, fake_providers, provider, tokens["access_token"])).status_code == 200

    await fake_providers.advance_clock(tokens["expires_in"])
    expired = await profile(http, fake_providers, provider, tokens["access_token"])

    assert expired.status_code == 401
    if provider == "garmin":
        assert expired.json() == {"errorMessage": "Unauthorized"}
    if provider == "fitbit":
        assert expired.json()["errors"][0]["errorType"] == "expired_token"


async def test_the_same_user_authorizing_again_keeps_their_account_and_replaces_the_previous_tokens(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    await fake_providers.queue_user("wahoo", user_id=60462, first_name="Maja", email="maja@example.com")
    first = await link(http, fake_providers, "wahoo")
    again = await fake_providers.queue_user("wahoo", user_id=60462)
    second = await link(http, fake_providers, "wahoo")

    assert (await profile(http, fake_providers, "wahoo", first["access_token"])).status_code == 401
    assert (await refresh(http, fake_providers, "wahoo", first["refresh_token"])).status_code == 400
    body = (await profile(http, fake_providers, "wahoo", second["access_token"])).json()
    assert (body["id"], body["first"], body["email"]) == (60462, "Maja", "maja@example.com")
    assert again.first_name == "Maja"


async def test_garmin_tells_the_user_id_and_permissions_and_deregistration_revokes_the_token(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    tokens = await link(http, fake_providers, "garmin")
    api, bearer = (
        fake_providers.urls("garmin")["api_url"],
        {"Authorization": f"Bearer {tokens['access_token']}"},
    )

    permissions = await http.get(f"{api}/wellness-api/rest/user/permissions", headers=bearer)
    deregistered = await http.delete(f"{api}/wellness-api/rest/user/registration", headers=bearer)

    assert permissions.json() == ["ACTIVITY_EXPORT", "WORKOUT_IMPORT", "HEALTH_EXPORT"]
    assert deregistered.status_code == 204
    assert (await profile(http, fake_providers, "garmin", tokens["access_token"])).status_code == 401


async def test_a_coros_refresh_extends_the_same_access_token_by_thirty_days(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    tokens = await link(http, fake_providers, "coros")
    await fake_providers.advance_clock(29 * 86400)

    response = await refresh(http, fake_providers, "coros", tokens["refresh_token"])
    again = await refresh(http, fake_providers, "coros", tokens["refresh_token"])  # no rotation

    assert response.json() == {"result": "0000", "message": "OK"}
    assert again.status_code == 200
    grant = fake_providers.state.grant_by_access("coros", tokens["access_token"])
    assert grant is not None
    assert grant.access_expires_at - fake_providers.state.now() == pytest.approx(30 * 86400, abs=5)


async def test_coros_deauthorization_ends_the_grant(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    tokens = await link(http, fake_providers, "coros")

    response = await http.post(
        fake_providers.urls("coros")["revoke_url"], params={"token": tokens["access_token"]}
    )

    assert response.json() == {"result": "0000", "message": "OK"}
    assert (await refresh(http, fake_providers, "coros", tokens["refresh_token"])).status_code == 400


async def test_polar_gives_no_refresh_token_and_registers_a_user_once(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    await fake_providers.queue_user("polar", user_id=10091, first_name="Lea", last_name="Brun")
    tokens = await link(http, fake_providers, "polar")
    users, bearer = (
        f"{fake_providers.urls('polar')['api_url']}/v3/users",
        {"Authorization": f"Bearer {tokens['access_token']}"},
    )

    registered = await http.post(users, json={"member-id": "relay-user-1"}, headers=bearer)
    again = await http.post(users, json={"member-id": "relay-user-1"}, headers=bearer)
    refreshed = await refresh(http, fake_providers, "polar", tokens["access_token"])

    assert tokens["x_user_id"] == 10091
    assert registered.status_code == 200
    body = registered.json()
    assert body["polar-user-id"] == 10091
    assert (body["member-id"], body["first-name"], body["last-name"], body["extra-info"]) == (
        "relay-user-1",
        "Lea",
        "Brun",
        [],
    )
    assert {"registration-date", "birthdate", "gender", "weight", "height"} <= set(body)
    assert again.status_code == 409
    assert (refreshed.status_code, refreshed.json()) == (400, {"error": "unsupported_grant_type"})


async def test_polar_deregistration_revokes_the_access_token(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    tokens = await link(http, fake_providers, "polar")
    users, bearer = (
        f"{fake_providers.urls('polar')['api_url']}/v3/users",
        {"Authorization": f"Bearer {tokens['access_token']}"},
    )
    await http.post(users, json={"member-id": "relay-user-2"}, headers=bearer)

    deleted = await http.delete(f"{users}/{tokens['x_user_id']}", headers=bearer)
    after = await http.post(users, json={"member-id": "relay-user-2"}, headers=bearer)

    assert deleted.status_code == 204
    assert after.status_code == 401
    assert after.json()["status"] == 401  # AccessLink's error schema


async def test_oura_describes_the_token_owner_and_revocation_ends_the_grant(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    await fake_providers.queue_user("oura", email="lea@example.com", birthdate="1990-01-01", gender="FEMALE")
    tokens = await link(http, fake_providers, "oura")

    body = (await profile(http, fake_providers, "oura", tokens["access_token"])).json()
    revoked = await http.get(
        f"{fake_providers.urls('oura')['api_url']}/oauth/revoke",
        params={"access_token": tokens["access_token"]},
    )

    assert list(body) == ["id", "age", "weight", "height", "biological_sex", "email"]
    assert (body["email"], body["biological_sex"]) == ("lea@example.com", "female")
    assert revoked.status_code == 200
    assert (await profile(http, fake_providers, "oura", tokens["access_token"])).status_code == 401


async def test_oura_webhook_subscriptions_are_listed_and_renewed_for_the_application_only(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    soon = datetime.now(UTC) + timedelta(days=3)
    subscription = await fake_providers.add_oura_subscription(
        callback_url="https://relay.example/webhooks/oura",
        event_type="create",
        data_type="workout",
        expiration_time=soon,
    )
    base = f"{fake_providers.urls('oura')['api_url']}/v2/webhook/subscription"
    app = {"x-client-id": fake_providers.client_id, "x-client-secret": fake_providers.client_secret}

    listed = await http.get(base, headers=app)
    renewed = await http.put(f"{base}/renew/{subscription.id}", headers=app)
    unknown = await http.put(f"{base}/renew/0000", headers=app)
    stranger = await http.get(base, headers={**app, "x-client-secret": "guess"})

    assert listed.json() == [
        {
            "id": subscription.id,
            "callback_url": "https://relay.example/webhooks/oura",
            "event_type": "create",
            "data_type": "workout",
            "expiration_time": ANY,
        }
    ]
    expires = datetime.fromisoformat(renewed.json()["expiration_time"])
    assert expires - datetime.now(UTC) > timedelta(days=89)
    assert (await fake_providers.oura_subscriptions())[0].expiration_time == expires
    assert unknown.status_code == 404
    assert stranger.status_code == 403


async def test_whoop_gives_a_refresh_token_only_when_offline_is_granted(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    code, verifier = await consent(fake_providers, "whoop", scope="read:profile read:workout")
    tokens = (await exchange(http, fake_providers, "whoop", code, verifier)).json()

    body = (await profile(http, fake_providers, "whoop", tokens["access_token"])).json()
    revoked = await http.delete(
        f"{fake_providers.urls('whoop')['api_url']}/developer/v2/user/access",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )

    assert list(tokens) == ["access_token", "expires_in", "scope", "token_type"]
    assert list(body) == ["user_id", "email", "first_name", "last_name"]
    assert isinstance(body["user_id"], int)
    assert revoked.status_code == 204


async def test_fitbit_keeps_only_the_scopes_the_athlete_leaves_ticked_and_revokes_by_either_token(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    await fake_providers.queue_user(
        "fitbit", scopes=["activity", "profile"], first_name="Kofi", last_name="Haddad"
    )
    tokens = await link(http, fake_providers, "fitbit")

    user = (await profile(http, fake_providers, "fitbit", tokens["access_token"])).json()["user"]
    revoke_url = fake_providers.urls("fitbit")["revoke_url"]
    refused = await http.post(revoke_url, data={"token": tokens["refresh_token"]})
    revoked = await http.post(
        revoke_url,
        data={"token": tokens["refresh_token"]},
        auth=(fake_providers.client_id, fake_providers.client_secret),
    )

    assert tokens["scope"] == "activity profile"
    assert (user["encodedId"], user["fullName"], user["displayName"]) == (
        tokens["user_id"],
        "Kofi Haddad",
        "Kofi H.",
    )
    assert user["avatar"].startswith("https://")
    assert refused.status_code == 401
    assert (revoked.status_code, revoked.json()) == (200, {})
    assert (await profile(http, fake_providers, "fitbit", tokens["access_token"])).status_code == 401


async def test_wahoo_describes_the_token_owner_and_removing_permissions_ends_the_grant(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    tokens = await link(http, fake_providers, "wahoo")
    api, bearer = (
        fake_providers.urls("wahoo")["api_url"],
        {"Authorization": f"Bearer {tokens['access_token']}"},
    )

    body = (await http.get(f"{api}/v1/user", headers=bearer)).json()
    removed = await http.delete(f"{api}/v1/permissions", headers=bearer)

    assert {"id", "email", "first", "last"} <= set(body)
    assert abs(tokens["created_at"] - fake_providers.state.now()) < 5
    assert removed.json() == {"success": True}
    assert (await http.get(f"{api}/v1/user", headers=bearer)).status_code == 401


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_injected_server_error_answers_500_in_the_providers_shape_once(
    http: httpx.AsyncClient, fake_providers: FakeProviders, provider: Provider
) -> None:
    code, verifier = await consent(fake_providers, provider)
    await fake_providers.fail_next(provider, "server_error")

    failed = await exchange(http, fake_providers, provider, code, verifier)
    then = await exchange(http, fake_providers, provider, code, verifier)

    assert failed.status_code == 500
    body = failed.json()
    shape = {"coros": "result", "fitbit": "errors"}.get(provider, "error")
    assert shape in body
    assert then.status_code == 200  # the failure came before the code was spent


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_injected_rate_limit_answers_429_with_retry_after(
    http: httpx.AsyncClient, fake_providers: FakeProviders, provider: Provider
) -> None:
    await fake_providers.fail_next(
        provider, "rate_limited", httpx.URL(fake_providers.urls(provider)["token_url"]).path
    )

    code, verifier = await consent(fake_providers, provider)  # the consent page is not the named path
    response = await exchange(http, fake_providers, provider, code, verifier)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"


async def test_a_failure_named_by_path_spares_the_providers_other_endpoints(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    tokens = await link(http, fake_providers, "garmin")
    await fake_providers.fail_next("garmin", "server_error", "/wellness-api/rest/user/id", times=2)

    token_call_ok = await refresh(http, fake_providers, "garmin", tokens["refresh_token"])
    fresh = token_call_ok.json()["access_token"]
    statuses = [(await profile(http, fake_providers, "garmin", fresh)).status_code for _ in range(3)]

    assert token_call_ok.status_code == 200
    assert statuses == [500, 500, 200]
    assert (await profile(http, fake_providers, "garmin", "x")).json() == {"errorMessage": "Unauthorized"}


async def test_a_dropped_connection_and_a_slow_provider_fail_the_call_at_the_transport(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    await fake_providers.fail_next("oura", "disconnect")
    with pytest.raises(httpx.TransportError):
        await link(http, fake_providers, "oura")
    await fake_providers.fail_next("oura", "slow", seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        await http.post(fake_providers.urls("oura")["token_url"], data={}, timeout=0.3)
    await fake_providers.fail_next("oura", "down")
    down = await http.post(fake_providers.urls("oura")["token_url"], data={})
    assert (down.status_code, down.headers["content-type"].split(";")[0]) == (503, "text/plain")


async def test_coros_training_hub_logs_in_with_the_md5_of_the_password(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    account = await fake_providers.add_coros_account("lea@example.com", "s3cret!", nickname="Lea B")
    hub = fake_providers.settings_env()["CONNECTIONS_COROS_TRAINING_HUB_URL"]
    pwd = hashlib.md5(b"s3cret!").hexdigest()  # noqa: S324 - the hub's own scheme

    login = await http.post(
        f"{hub}/account/login", json={"account": "lea@example.com", "accountType": 2, "pwd": pwd}
    )
    data = login.json()["data"]
    query = await http.get(f"{hub}/account/query", headers={"accessToken": data["accessToken"]})

    assert (login.status_code, login.json()["result"], login.json()["message"]) == (200, "0000", "success")
    assert data == {"accessToken": ANY, "userId": account.user_id, "email": "lea@example.com"}
    assert query.json()["result"] == "0000"
    assert query.json()["data"] == {
        "userId": account.user_id,
        "email": "lea@example.com",
        "nickname": "Lea B",
        "avatar": ANY,
        "country": "FR",
    }
    assert data["accessToken"] in await fake_providers.issued_tokens()


@pytest.mark.parametrize(
    "body",
    [
        {"account": "lea@example.com", "accountType": 2, "pwd": hashlib.md5(b"wrong").hexdigest()},  # noqa: S324
        {"account": "lea@example.com", "accountType": 2, "pwd": "s3cret!"},  # the password itself, unhashed
        {"account": "lea@example.com", "accountType": 1, "pwd": hashlib.md5(b"s3cret!").hexdigest()},  # noqa: S324
        {"account": "nobody@example.com", "accountType": 2, "pwd": hashlib.md5(b"s3cret!").hexdigest()},  # noqa: S324
        {"accountType": 2},
    ],
)
async def test_coros_training_hub_refuses_bad_credentials_inside_an_http_200(
    http: httpx.AsyncClient, fake_providers: FakeProviders, body: dict[str, Any]
) -> None:
    await fake_providers.add_coros_account("lea@example.com", "s3cret!")
    hub = fake_providers.settings_env()["CONNECTIONS_COROS_TRAINING_HUB_URL"]

    response = await http.post(f"{hub}/account/login", json=body)

    assert (response.status_code, response.json()) == (
        200,
        {"result": "1001", "message": "Invalid credentials", "data": None},
    )


async def test_coros_training_hub_tokens_expire_and_unknown_ones_are_invalid(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    await fake_providers.add_coros_account("lea@example.com", "s3cret!")
    hub = fake_providers.settings_env()["CONNECTIONS_COROS_TRAINING_HUB_URL"]
    pwd = hashlib.md5(b"s3cret!").hexdigest()  # noqa: S324
    login = await http.post(
        f"{hub}/account/login", json={"account": "lea@example.com", "accountType": 2, "pwd": pwd}
    )
    token = login.json()["data"]["accessToken"]

    await fake_providers.expire_coros_tokens()
    expired = await http.get(f"{hub}/account/query", headers={"accessToken": token})
    unknown = await http.get(f"{hub}/account/query", headers={"accessToken": "forged"})
    await fake_providers.fail_next("coros-hub", "server_error")
    failing = await http.post(
        f"{hub}/account/login", json={"account": "lea@example.com", "accountType": 2, "pwd": pwd}
    )

    assert (expired.json()["result"], expired.json()["message"]) == ("1002", "Token expired")
    assert (unknown.json()["result"], unknown.json()["message"]) == ("1003", "Token invalid")
    assert (failing.status_code, failing.json()["result"]) == (200, "5000")


async def test_settings_env_points_every_provider_url_at_the_fake(fake_providers: FakeProviders) -> None:
    env = fake_providers.settings_env(client_secret="other-secret")

    for provider in PROVIDERS:
        key = f"CONNECTIONS_{provider.upper()}__"
        assert env[f"{key}CLIENT_ID"] == "relay-test-client"
        assert env[f"{key}CLIENT_SECRET"] == "other-secret"
        assert env[f"{key}API_URL"] == f"{fake_providers.url}/{provider}"
        for name in ("AUTHORIZE_URL", "TOKEN_URL", "REVOKE_URL", "REFRESH_URL"):
            assert env[f"{key}{name}"] == "" or env[f"{key}{name}"].startswith(
                f"{fake_providers.url}/{provider}/"
            )
    assert (
        env["CONNECTIONS_GARMIN__TOKEN_URL"] == f"{fake_providers.url}/garmin/di-oauth2-service/oauth/token"
    )
    assert env["CONNECTIONS_COROS__REFRESH_URL"] == f"{fake_providers.url}/coros/oauth2/refresh-token"
    assert env["CONNECTIONS_COROS_TRAINING_HUB_URL"] == f"{fake_providers.url}/coros-hub"
    assert len(env) == 7 * 7 + 1


async def test_the_fake_tells_what_it_received_without_the_authorization_header(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    await link(http, fake_providers, "fitbit")

    [token_call_received] = await fake_providers.received("fitbit", "/oauth2/token")
    [authorization] = await fake_providers.received("fitbit", "/fitbit/oauth2/authorize")

    assert token_call_received.auth_scheme == "Basic"
    assert token_call_received.basic_client_id == "relay-test-client"
    assert "authorization" not in token_call_received.headers
    assert token_call_received.fields["grant_type"] == "authorization_code"
    assert authorization.query["code_challenge_method"] == "S256"
    assert await fake_providers.received("garmin") == []


async def test_the_browser_helper_refuses_a_url_that_is_not_the_providers_consent_page(
    fake_providers: FakeProviders,
) -> None:
    with pytest.raises(ValueError, match="authorization page"):
        await fake_providers.authorize("garmin", authorization_url(fake_providers, "fitbit", "c"))


async def test_reset_forgets_users_tokens_and_requests(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    tokens = await link(http, fake_providers, "oura")
    await fake_providers.queue_user("oura", email="queued@example.com")

    await fake_providers.reset()

    assert await fake_providers.issued_tokens() == []
    assert await fake_providers.received("oura") == []
    assert (await refresh(http, fake_providers, "oura", tokens["refresh_token"])).status_code == 400
    fresh = await link(http, fake_providers, "oura")
    assert (await profile(http, fake_providers, "oura", fresh["access_token"])).json()[
        "email"
    ] != "queued@example.com"


async def test_the_http_controls_drive_fake_providers_served_elsewhere(
    http: httpx.AsyncClient, fake_providers: FakeProviders
) -> None:
    control = FakeProvidersClient(
        fake_providers.url, client_id=fake_providers.client_id, client_secret=fake_providers.client_secret
    )
    assert control.settings_env() == fake_providers.settings_env()
    queued = await control.queue_user("whoop", user_id=10129, last_name="Durand")
    await control.deny_next("garmin")
    await control.fail_next("whoop", "server_error", "/whoop/oauth/oauth2/token")

    denied = await control.authorize("garmin", authorization_url(fake_providers, "garmin", "c" * 43))
    code, verifier = await consent(fake_providers, "whoop")
    assert (await exchange(http, fake_providers, "whoop", code, verifier)).status_code == 500
    tokens = (await exchange(http, fake_providers, "whoop", code, verifier)).json()
    await control.revoke_grants("whoop", 10129)
    await control.expire_refresh_tokens("oura")
    account = await control.add_coros_account("kofi@example.com", "pw", nickname="Kofi")
    await control.expire_coros_tokens()
    subscription = await control.add_oura_subscription(
        callback_url="https://r.example/o", event_type="update", data_type="sleep"
    )

    assert queued.user_id == "10129"
    with pytest.raises(httpx.HTTPStatusError):
        await control.queue_user("polar", user_id="not-a-number")
    assert denied.params["error"] == "access_denied"
    assert (await profile(http, fake_providers, "whoop", tokens["access_token"])).status_code == 401
    assert account.nickname == "Kofi"
    assert [s.id for s in await control.oura_subscriptions()] == [subscription.id]
    assert tokens["access_token"] in await control.issued_tokens()
    assert len(await control.received("whoop", "/oauth/oauth2/token")) == 2
    assert await control.advance_clock(60) > datetime.now(UTC).timestamp() + 50
    await control.reset()
    assert await control.received("whoop") == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_the_fake_runs_as_its_own_process() -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *(
            sys.executable,
            "-m",
            "relay_testing.fakes.providers",
            "--port",
            str(port),
            "--client-id",
            "relay-dev",
        ),
        env={**os.environ, "FAKE_PROVIDERS_CLIENT_SECRET": "s3cr3t-for-the-process"},
    )
    control = FakeProvidersClient(
        f"http://127.0.0.1:{port}", client_id="relay-dev", client_secret="s3cr3t-for-the-process"
    )
    try:
        async with httpx.AsyncClient(base_url=control.url, timeout=5.0) as http:
            for _ in range(100):
                try:
                    if (await http.get("/_fake/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            url = control.urls("oura")["authorize_url"]
            params = {
                "client_id": "relay-dev",
                "response_type": "code",
                "redirect_uri": callback("oura"),
                "state": "s",
            }
            location = await control.authorize("oura", str(httpx.URL(url, params=params)))
            form = {
                "grant_type": "authorization_code",
                "code": location.params["code"],
                "redirect_uri": callback("oura"),
                "client_id": "relay-dev",
                "client_secret": "s3cr3t-for-the-process",
            }
            response = await http.post(control.urls("oura")["token_url"], data=form)
        assert response.status_code == 200
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)
