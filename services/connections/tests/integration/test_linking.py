"""Linking a provider through its authorization page, end to end against the fake providers: the
connection an athlete ends with, what is published, what is stored, PKCE, and the way back to the app."""

from __future__ import annotations

import base64
import hashlib
import secrets

import httpx
import pytest

from relay_testing.fakes.providers.dialects import DIALECTS
from relay_testing.services import mentions_in

from .conftest import APP_LINK, ConnectionsUnderTest

pytestmark = pytest.mark.integration

OAUTH_PROVIDERS = ("strava", "garmin", "coros", "polar", "oura", "whoop", "fitbit", "wahoo")
PKCE_PROVIDERS = ("garmin", "fitbit")
ATHLETE = "usr_lea_4f2a91"


async def queue_account(service: ConnectionsUnderTest, provider: str, account_id: str | None = None) -> str:
    """The provider account the athlete's next consent grants (a new one unless named); its id there."""
    if provider == "strava":
        athlete_id = int(account_id) if account_id else 1_000_000 + secrets.randbelow(10**8)
        return str((await service.strava.queue_athlete(id=athlete_id)).id)
    fields = {"user_id": account_id} if account_id else {}
    return (await service.providers.queue_user(provider, **fields)).user_id


async def deny_next(service: ConnectionsUnderTest, provider: str) -> None:
    if provider == "strava":
        await service.strava.deny_next()
    else:
        await service.providers.deny_next(provider)


async def tokens_of_the_grant(service: ConnectionsUnderTest, provider: str, user_id: str) -> list[str]:
    """The tokens the provider issued to Relay for this link."""
    if provider != "strava":
        return await service.providers.issued_tokens()
    # The fake Strava lists no token it issued: the access token is the one the service hands out.
    handed = await service.client.post(
        "/internal/access-tokens",
        json={"provider": "strava", "user_id": user_id, "purpose": "fetch_activities"},
        headers=service.internal(),
    )
    assert handed.status_code == 200, handed.text
    return [handed.json()["access_token"]]


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def linked_connections(service: ConnectionsUnderTest) -> list[tuple[str, str]]:
    rows = await service.rows("SELECT user_id, provider FROM provider_connections ORDER BY user_id, provider")
    return [(row["user_id"], row["provider"]) for row in rows]


@pytest.mark.parametrize("provider", OAUTH_PROVIDERS)
async def test_every_provider_links_end_to_end_publishes_the_account_and_stores_no_token_in_clear(
    connections_service: ConnectionsUnderTest, provider: str
) -> None:
    account = await queue_account(connections_service, provider)

    connection = await connections_service.link(ATHLETE, provider)

    expected_auth = "oauth2_pkce" if provider in PKCE_PROVIDERS else "oauth2"
    assert connection["provider"] == provider and connection["provider_user_id"] == account
    assert connection["status"] == "active" and connection["is_active"] and not connection["needs_reauth"]
    assert connection["auth_type"] == expected_auth
    assert "access_token" not in connection and "refresh_token" not in connection
    [linked] = await connections_service.staged_events("connections.connection.linked")
    assert linked["subject"] == ATHLETE
    assert linked["data"]["provider_user_id"] == account and linked["data"]["provider"] == provider
    assert linked["data"]["connection_id"] == connection["id"] and linked["data"]["relinked"] is False
    assert linked["data"]["auth_type"] == expected_auth
    [row] = await connections_service.rows(
        "SELECT user_id, provider_user_id, key_id, access_token_sealed FROM provider_connections"
    )
    assert (row["user_id"], row["provider_user_id"], row["key_id"]) == (ATHLETE, account, "k2026")
    assert row["access_token_sealed"]
    tokens = await tokens_of_the_grant(connections_service, provider, ATHLETE)
    assert tokens
    mentions = mentions_in(connections_service.sessionmaker)
    for token in tokens:
        assert await mentions(token) == {}, f"a {provider} token is stored in clear"


@pytest.mark.parametrize("provider", OAUTH_PROVIDERS)
async def test_the_authorization_url_carries_the_state_and_a_s256_challenge_only_where_pkce_applies(
    connections_service: ConnectionsUnderTest, provider: str
) -> None:
    started = await connections_service.start_link(ATHLETE, provider)

    params = httpx.URL(started["authorization_url"]).params
    assert params["state"] == started["state"] and len(started["state"]) >= 32
    assert params["redirect_uri"] == f"https://relay.example/api/providers/{provider}/callback"
    if provider in PKCE_PROVIDERS:
        assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    else:
        assert "code_challenge" not in params


@pytest.mark.parametrize("provider", PKCE_PROVIDERS)
async def test_a_pkce_provider_receives_the_verifier_of_its_challenge_which_is_kept_sealed(
    connections_service: ConnectionsUnderTest, provider: str
) -> None:
    started = await connections_service.start_link(ATHLETE, provider)
    challenge = httpx.URL(started["authorization_url"]).params["code_challenge"]
    back = await connections_service.consent(provider, started["authorization_url"])

    linked = await connections_service.callback(provider, back)

    assert linked.status_code == 200, linked.text
    [exchange] = await connections_service.providers.received(provider, DIALECTS[provider].token_path)  # type: ignore[index]
    verifier = exchange.fields["code_verifier"]
    assert 43 <= len(verifier) <= 128 and s256(verifier) == challenge
    assert exchange.fields["grant_type"] == "authorization_code"
    assert await mentions_in(connections_service.sessionmaker)(verifier) == {}


@pytest.mark.parametrize("provider", OAUTH_PROVIDERS)
async def test_a_denied_consent_answers_access_denied_and_links_nothing(
    connections_service: ConnectionsUnderTest, provider: str
) -> None:
    await deny_next(connections_service, provider)
    started = await connections_service.start_link(ATHLETE, provider)
    back = await connections_service.consent(provider, started["authorization_url"])

    denied = await connections_service.callback(provider, back)

    assert denied.status_code == 400
    assert denied.json()["error"]["code"] == "access_denied"
    assert denied.json()["error"]["details"] == {"provider": provider}
    assert await linked_connections(connections_service) == []
    assert await connections_service.staged_events("connections.connection.linked") == []


async def test_strava_keeps_the_scopes_the_athlete_left_ticked(
    connections_service: ConnectionsUnderTest,
) -> None:
    await connections_service.strava.queue_athlete(id=5_551_234, scopes=["read", "activity:read_all"])

    connection = await connections_service.link(ATHLETE, "strava")

    assert connection["scopes"] == ["read", "activity:read_all"]
    [linked] = await connections_service.staged_events("connections.connection.linked")
    assert linked["data"]["scopes"] == ["read", "activity:read_all"]


async def test_with_the_app_link_a_successful_link_returns_to_the_app_with_the_connection(
    connections_service: ConnectionsUnderTest,
) -> None:
    started = await connections_service.start_link(ATHLETE, "garmin", redirect_uri=APP_LINK)
    back = await connections_service.consent("garmin", started["authorization_url"])

    returned = await connections_service.callback("garmin", back)

    assert returned.status_code == 302
    location = httpx.URL(returned.headers["location"])
    assert str(location.copy_with(query=None)) == APP_LINK
    assert location.params["status"] == "linked" and location.params["provider"] == "garmin"
    [row] = await connections_service.rows("SELECT id FROM provider_connections WHERE user_id = $1", ATHLETE)
    assert location.params["connection_id"] == str(row["id"])


async def test_with_the_app_link_a_denied_consent_returns_to_the_app_with_the_error(
    connections_service: ConnectionsUnderTest,
) -> None:
    await deny_next(connections_service, "strava")
    started = await connections_service.start_link(ATHLETE, "strava", redirect_uri=APP_LINK)
    back = await connections_service.consent("strava", started["authorization_url"])

    returned = await connections_service.callback("strava", back)

    assert returned.status_code == 302
    location = httpx.URL(returned.headers["location"])
    assert str(location.copy_with(query=None)) == APP_LINK
    assert (location.params["status"], location.params["error"]) == ("error", "access_denied")
    assert "connection_id" not in location.params
    assert await linked_connections(connections_service) == []


async def test_with_the_app_link_a_refused_code_returns_to_the_app_with_invalid_code(
    connections_service: ConnectionsUnderTest,
) -> None:
    started = await connections_service.start_link(ATHLETE, "oura", redirect_uri=APP_LINK)
    back = await connections_service.consent("oura", started["authorization_url"])

    returned = await connections_service.callback("oura", back.copy_set_param("code", "f" * 40))

    assert returned.status_code == 302
    location = httpx.URL(returned.headers["location"])
    assert (location.params["status"], location.params["error"]) == ("error", "invalid_code")
    assert await linked_connections(connections_service) == []


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://evil.example/connections", "http://relay.app/connections", "javascript:alert(1)"],
)
async def test_a_redirect_uri_that_is_not_an_app_link_is_refused_before_anything_starts(
    connections_service: ConnectionsUnderTest, redirect_uri: str
) -> None:
    refused = await connections_service.client.post(
        "/api/providers/garmin/connect",
        json={"redirect_uri": redirect_uri},
        headers=connections_service.athlete(ATHLETE),
    )

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_redirect_uri"
    assert refused.json()["error"]["details"] == {"field": "redirect_uri"}
    assert await connections_service.rows("SELECT state_hash FROM link_attempts") == []


@pytest.mark.parametrize("provider", ["strava", "oura"])
async def test_linking_again_replaces_the_tokens_of_the_one_connection(
    connections_service: ConnectionsUnderTest, provider: str
) -> None:
    account = await queue_account(connections_service, provider)
    first = await connections_service.link(ATHLETE, provider)
    [before] = await connections_service.rows("SELECT access_token_sealed FROM provider_connections")
    await queue_account(connections_service, provider, account)
    started = await connections_service.start_link(ATHLETE, provider)
    back = await connections_service.consent(provider, started["authorization_url"])

    again = await connections_service.callback(provider, back)

    assert again.status_code == 200, again.text
    assert again.json()["relinked"] is True and again.json()["connection"]["id"] == first["id"]
    rows = await connections_service.rows("SELECT access_token_sealed FROM provider_connections")
    assert len(rows) == 1 and rows[0]["access_token_sealed"] != before["access_token_sealed"]
    linked = await connections_service.staged_events("connections.connection.linked")
    assert [event["data"]["relinked"] for event in linked] == [False, True]


async def test_polar_registers_the_athlete_under_their_relay_id_and_a_relink_survives_its_409(
    connections_service: ConnectionsUnderTest,
) -> None:
    account = await queue_account(connections_service, "polar")
    first_profile = (await connections_service.link(ATHLETE, "polar"))["provider_profile"]
    await queue_account(connections_service, "polar", account)

    started = await connections_service.start_link(ATHLETE, "polar")
    back = await connections_service.consent("polar", started["authorization_url"])
    again = await connections_service.callback("polar", back)

    registrations = await connections_service.providers.received("polar", "/v3/users")
    assert [(r.method, r.fields["member-id"]) for r in registrations] == [
        ("POST", ATHLETE),
        ("POST", ATHLETE),
    ]
    assert again.status_code == 200, again.text
    assert again.json()["relinked"] is True
    assert again.json()["connection"]["provider_user_id"] == account
    assert again.json()["connection"]["status"] == "active"
    assert again.json()["connection"]["provider_profile"] == first_profile != {}
