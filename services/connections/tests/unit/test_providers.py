"""The provider registry, the providers built from the settings, and the Strava link against the fake
Strava (relay_testing.fakes.strava)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from connections.config import ProviderApp, Settings
from connections.providers import PROVIDERS, build_providers, spec_of
from connections.providers.base import (
    AuthorizationRefused,
    OAuthProvider,
    ProviderUnavailable,
    RefreshRefused,
)
from connections.providers.dialects import DIALECTS
from connections.providers.oauth2 import OAuth2Client, pkce_challenge, pkce_pair
from relay_platform.http import create_http_client

from .logs import captured_logs

if TYPE_CHECKING:
    from relay_testing.fakes.strava import FakeStrava

REDIRECT_URI = "http://localhost:8080/api/providers/strava/callback"
STATE = "st_8c1f0b2e7d4a4e19"
USER_ID = "usr_01HZX3"


def settings(**overrides: Any) -> Settings:
    return Settings(
        database_url="postgresql+asyncpg://c:Vq93kd-long@db/c",
        identity_internal_token="internal-7f3a9c",
        token_keys="k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        internal_callers="ingestion:Zq81mX-long",
        **overrides,
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with create_http_client(timeout=2.0, retries=0) as client:
        yield client


@pytest.fixture
def strava_app(fake_strava: FakeStrava) -> ProviderApp:
    return settings(
        strava=ProviderApp(
            client_id=fake_strava.client_id,
            client_secret=SecretStr(fake_strava.client_secret),
            authorize_url=f"{fake_strava.url}/oauth/authorize",
            token_url=f"{fake_strava.url}/oauth/token",
            revoke_url=f"{fake_strava.url}/oauth/deauthorize",
            api_url=f"{fake_strava.url}/api/v3",
        )
    ).provider_app("strava")


@pytest.fixture
def strava(http: httpx.AsyncClient, strava_app: ProviderApp) -> OAuthProvider:
    client = build_providers(settings(strava=strava_app), http).oauth("strava")
    assert client is not None
    return client


async def consent(strava: OAuthProvider) -> dict[str, str]:
    """Plays the athlete's browser: the consent page's redirect back to Relay, as query fields."""
    url = strava.authorization_url(redirect_uri=REDIRECT_URI, state=STATE, code_challenge=None)
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(url)
    assert answer.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


async def link(strava: OAuthProvider) -> Any:
    back = await consent(strava)
    return await strava.exchange_code(
        code=back["code"],
        redirect_uri=REDIRECT_URI,
        code_verifier=None,
        user_id=USER_ID,
        granted_scope=back.get("scope"),
    )


# The registry.


def test_every_oauth_dialect_has_a_spec_settings_and_real_urls() -> None:
    for key in DIALECTS:
        spec = spec_of(key)
        assert spec.auth_type in ("oauth2", "oauth2_pkce")
        assert (spec.auth_type == "oauth2_pkce") == DIALECTS[key].pkce
        assert settings().provider_app(key).token_url.startswith("https://")


def test_an_unknown_provider_has_no_spec() -> None:
    with pytest.raises(KeyError):
        spec_of("myspace")


def test_coros_official_api_and_training_hub_are_two_links_of_one_brand() -> None:
    official, hub = spec_of("coros"), spec_of("coros_training_hub")
    assert official.brand == hub.brand == "coros"
    assert (official.auth_type, hub.auth_type) == ("oauth2", "password")
    assert hub.unofficial and not official.unofficial
    assert hub.exports_workouts and not hub.refreshes
    assert hub.notice is not None and "never stored" in hub.notice


def test_garmin_links_with_pkce_and_warns_that_oauth1_links_retire() -> None:
    garmin = spec_of("garmin")
    assert (garmin.auth_type, garmin.legacy_auth) == ("oauth2_pkce", "oauth1")
    assert garmin.notice is not None and "2026" in garmin.notice
    assert garmin.exports_workouts


def test_only_garmin_and_the_coros_training_hub_take_workouts() -> None:
    assert {key for key, spec in PROVIDERS.items() if spec.exports_workouts} == {
        "garmin",
        "coros_training_hub",
    }


def test_polar_grants_do_not_refresh_and_the_health_bridge_is_linked_by_api_key() -> None:
    assert not spec_of("polar").refreshes
    assert spec_of("health_bridge").auth_type == "api_key"


def test_scopes_come_from_the_setting_in_the_providers_separator_else_the_defaults() -> None:
    assert spec_of("strava").scopes_from("read, activity:read_all") == ("read", "activity:read_all")
    assert spec_of("oura").scopes_from("daily  sleep") == ("daily", "sleep")
    assert spec_of("fitbit").scopes_from("") == ("activity", "heartrate", "profile", "sleep")


# Providers built from the settings.


async def test_only_providers_with_a_client_id_are_offered(http: httpx.AsyncClient) -> None:
    providers = build_providers(settings(oura=ProviderApp(client_id="oura-app")), http)

    assert providers.oauth("oura") is not None
    assert providers.oauth("whoop") is None
    assert providers.oauth("coros_training_hub") is None
    assert providers.password("coros_training_hub") is not None
    assert [spec.key for spec in providers.offered()] == ["coros_training_hub", "oura", "health_bridge"]
    assert set(providers.specs) == set(PROVIDERS)


async def test_the_coros_training_hub_can_be_switched_off(http: httpx.AsyncClient) -> None:
    providers = build_providers(settings(coros_training_hub_enabled=False), http)
    assert providers.password("coros_training_hub") is None


async def test_a_configured_provider_uses_its_real_urls_unless_told_otherwise(
    http: httpx.AsyncClient,
) -> None:
    providers = build_providers(settings(whoop=ProviderApp(client_id="whoop-app", scopes="offline")), http)
    whoop = providers.oauth("whoop")
    assert whoop is not None
    url = httpx.URL(whoop.authorization_url(redirect_uri=REDIRECT_URI, state=STATE, code_challenge=None))
    assert str(url).startswith("https://api.prod.whoop.com/oauth/oauth2/auth?")
    assert url.params["scope"] == "offline"


def test_a_pkce_challenge_is_the_unpadded_base64url_sha256_of_the_verifier() -> None:
    # RFC 7636, appendix B.
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128 and challenge == pkce_challenge(verifier)


# Strava.


async def test_the_strava_authorization_url_asks_for_comma_separated_scopes_with_the_state(
    strava: OAuthProvider, fake_strava: FakeStrava
) -> None:
    url = httpx.URL(strava.authorization_url(redirect_uri=REDIRECT_URI, state=STATE, code_challenge=None))
    assert dict(url.params) == {
        "client_id": fake_strava.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "state": STATE,
        "scope": "read,activity:read_all,profile:read_all",
        "approval_prompt": "auto",
    }
    assert not strava.uses_pkce


async def test_a_strava_code_links_the_athlete_found_in_the_token_answer(
    strava: OAuthProvider, fake_strava: FakeStrava
) -> None:
    await fake_strava.queue_athlete(id=98765, firstname="Lea", lastname="Brun", username="lea_b")

    account = await link(strava)

    assert account.provider_user_id == "98765"
    assert account.username == "lea_b"
    assert account.profile["first_name"] == "Lea" and account.profile["last_name"] == "Brun"
    assert account.tokens.refresh_token is not None and account.tokens.expires_at is not None
    assert account.tokens.scopes == ["read", "activity:read_all", "profile:read_all"]
    sent = await fake_strava.last_token_request()
    assert sent is not None
    assert sent["client_secret"] == fake_strava.client_secret and "code_verifier" not in sent


async def test_the_strava_scopes_kept_are_those_the_athlete_left_ticked(
    strava: OAuthProvider, fake_strava: FakeStrava
) -> None:
    await fake_strava.queue_athlete(scopes=["read"])
    account = await link(strava)
    assert account.tokens.scopes == ["read"]


async def test_a_strava_code_used_twice_is_refused(strava: OAuthProvider) -> None:
    back = await consent(strava)
    await strava.exchange_code(
        code=back["code"], redirect_uri=REDIRECT_URI, code_verifier=None, user_id=USER_ID
    )

    with pytest.raises(AuthorizationRefused) as refused:
        await strava.exchange_code(
            code=back["code"], redirect_uri=REDIRECT_URI, code_verifier=None, user_id=USER_ID
        )
    assert refused.value.status == 400
    assert back["code"] not in str(refused.value)


async def test_a_wrong_client_secret_is_relays_configuration_not_the_athletes_fault(
    http: httpx.AsyncClient, strava_app: ProviderApp, fake_strava: FakeStrava
) -> None:
    wrong = strava_app.model_copy(update={"client_secret": SecretStr("0" * 40)})
    strava = OAuth2Client(http, wrong, DIALECTS["strava"])
    back = await consent(strava)

    with pytest.raises(ProviderUnavailable, match="client credentials") as failed:
        await strava.exchange_code(
            code=back["code"], redirect_uri=REDIRECT_URI, code_verifier=None, user_id=USER_ID
        )
    assert failed.value.status == 401
    assert "0" * 40 not in str(failed.value)


async def test_a_strava_refresh_rotates_the_refresh_token_and_the_old_one_stops_working(
    strava: OAuthProvider, fake_strava: FakeStrava
) -> None:
    account = await link(strava)
    await fake_strava.advance_clock(5 * 3600 + 1)

    refreshed = await strava.refresh(account.tokens)

    assert refreshed.refresh_token is not None and account.tokens.refresh_token is not None
    assert refreshed.refresh_token.get_secret_value() != account.tokens.refresh_token.get_secret_value()
    assert refreshed.access_token.get_secret_value() != account.tokens.access_token.get_secret_value()
    assert refreshed.scopes == account.tokens.scopes
    with pytest.raises(RefreshRefused) as refused:
        await strava.refresh(account.tokens)
    assert refused.value.status == 400


async def test_unlinking_strava_deauthorizes_relay_and_its_tokens_stop_working(
    strava: OAuthProvider, fake_strava: FakeStrava
) -> None:
    account = await link(strava)

    assert await strava.revoke(account.tokens, account.provider_user_id) is True

    assert await fake_strava.grants() == []
    deauthorize = await fake_strava.received("/oauth/deauthorize")
    assert deauthorize[0].fields["access_token"] == account.tokens.access_token.get_secret_value()
    with pytest.raises(RefreshRefused):
        await strava.refresh(account.tokens)


async def test_strava_says_whether_it_still_honours_a_grant_with_the_athletes_own_token(
    strava: OAuthProvider, fake_strava: FakeStrava
) -> None:
    account = await link(strava)
    assert await strava.honours(account.tokens) is True
    [asked] = await fake_strava.received("/api/v3/athlete")
    assert asked.headers["authorization"] == f"Bearer {account.tokens.access_token.get_secret_value()}"

    await fake_strava.revoke_grant(int(account.provider_user_id))  # the athlete removes Relay at Strava

    assert await strava.honours(account.tokens) is False


@pytest.mark.parametrize(
    ("mode", "status"),
    [("down", 503), ("server_error", 500), ("rate_limited", 429), ("disconnect", None)],
)
async def test_strava_failing_cannot_tell_whether_it_honours_a_grant(
    strava: OAuthProvider, fake_strava: FakeStrava, mode: str, status: int | None
) -> None:
    account = await link(strava)
    await fake_strava.fail_next(mode, endpoint="api")  # type: ignore[arg-type]

    with pytest.raises(ProviderUnavailable) as failed:
        await strava.honours(account.tokens)
    assert failed.value.status == status


async def test_revoking_with_an_expired_access_token_asks_for_a_refresh_first(
    strava: OAuthProvider, fake_strava: FakeStrava
) -> None:
    account = await link(strava)
    await fake_strava.advance_clock(7 * 3600)

    with pytest.raises(AuthorizationRefused, match="refused") as refused:
        await strava.revoke(account.tokens, account.provider_user_id)
    assert refused.value.status == 401


@pytest.mark.parametrize(
    ("mode", "status"),
    [("down", 503), ("server_error", 500), ("rate_limited", 429), ("disconnect", None)],
)
async def test_strava_failing_is_unavailable_with_its_status(
    strava: OAuthProvider, fake_strava: FakeStrava, mode: str, status: int | None
) -> None:
    back = await consent(strava)
    await fake_strava.fail_next(mode, endpoint="token")  # type: ignore[arg-type]

    with pytest.raises(ProviderUnavailable) as failed:
        await strava.exchange_code(
            code=back["code"], redirect_uri=REDIRECT_URI, code_verifier=None, user_id=USER_ID
        )
    assert failed.value.status == status


async def test_strava_too_slow_to_answer_is_unavailable(
    strava_app: ProviderApp, fake_strava: FakeStrava
) -> None:
    async with create_http_client(timeout=0.2, retries=0) as slow_http:
        strava = OAuth2Client(slow_http, strava_app, DIALECTS["strava"])
        back = await consent(strava)
        await fake_strava.fail_next("slow", seconds=1.0, endpoint="token")
        with pytest.raises(ProviderUnavailable, match="timeout"):
            await strava.exchange_code(
                code=back["code"], redirect_uri=REDIRECT_URI, code_verifier=None, user_id=USER_ID
            )


async def test_a_code_exchange_strava_failed_is_not_sent_again(
    strava_app: ProviderApp, fake_strava: FakeStrava
) -> None:
    async with create_http_client() as retrying_http:  # the service's client, retries included
        strava = OAuth2Client(retrying_http, strava_app, DIALECTS["strava"])
        back = await consent(strava)
        await fake_strava.fail_next("down", endpoint="token")
        with pytest.raises(ProviderUnavailable):
            await strava.exchange_code(
                code=back["code"], redirect_uri=REDIRECT_URI, code_verifier=None, user_id=USER_ID
            )
    assert len(await fake_strava.received("/oauth/token")) == 1


async def test_each_call_is_logged_with_its_endpoint_status_and_duration_but_no_token(
    strava: OAuthProvider,
) -> None:
    with captured_logs() as logs:
        account = await link(strava)
        await strava.refresh(account.tokens)
        await strava.revoke(account.tokens, account.provider_user_id)

    calls = [line for line in logs if line["event"] == "provider_call"]
    assert [(c["provider"], c["endpoint"], c["status"]) for c in calls] == [
        ("strava", "token", 200),
        ("strava", "refresh", 200),
        ("strava", "revoke", 200),
    ]
    assert all(isinstance(c["duration_ms"], int) for c in calls)
    secrets = [account.tokens.access_token.get_secret_value()]
    assert account.tokens.refresh_token is not None
    secrets.append(account.tokens.refresh_token.get_secret_value())
    assert not any(secret in repr(logs) for secret in secrets)
