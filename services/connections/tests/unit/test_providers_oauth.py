"""The OAuth 2.0 links of Garmin, COROS, Polar, Oura, WHOOP, Fitbit and Wahoo, against the fake
providers (relay_testing.fakes.providers), which speak each provider's documented contract."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import httpx
import pytest
from pydantic import SecretStr

from connections.config import ProviderApp
from connections.providers import Providers
from connections.providers.base import (
    AuthorizationRefused,
    LinkedAccount,
    OAuthProvider,
    ProviderUnavailable,
)
from connections.providers.oauth2 import pkce_pair

from .provider_clients import OAUTH, REDIRECT_URI, STATE, USER_ID, client, providers_on

if TYPE_CHECKING:
    from relay_testing.fakes.providers import FakeProviders, Provider

PKCE: tuple[Provider, ...] = ("garmin", "fitbit")
ID_FROM_PROFILE: tuple[Provider, ...] = ("garmin", "oura", "whoop", "wahoo")


async def authorize(fake: FakeProviders, provider: OAuthProvider) -> tuple[str, str | None]:
    """Plays the athlete's browser through the consent page: the code and the PKCE verifier."""
    verifier, challenge = pkce_pair() if provider.uses_pkce else (None, None)
    url = provider.authorization_url(redirect_uri=REDIRECT_URI, state=STATE, code_challenge=challenge)
    back = await fake.authorize(cast("Provider", provider.key), url)
    assert back.params["state"] == STATE
    return back.params["code"], verifier


async def link(fake: FakeProviders, provider: OAuthProvider, *, user_id: str = USER_ID) -> LinkedAccount:
    code, verifier = await authorize(fake, provider)
    return await provider.exchange_code(
        code=code, redirect_uri=REDIRECT_URI, code_verifier=verifier, user_id=user_id
    )


def secret(value: SecretStr | None) -> str:
    assert value is not None
    return value.get_secret_value()


# The authorization URL.


@pytest.mark.parametrize("key", OAUTH)
def test_the_authorization_url_names_relay_the_callback_and_the_state(
    providers: Providers, fake_providers: FakeProviders, key: Provider
) -> None:
    provider = client(providers, key)
    challenge = pkce_pair()[1] if provider.uses_pkce else None

    url = httpx.URL(
        provider.authorization_url(redirect_uri=REDIRECT_URI, state=STATE, code_challenge=challenge)
    )

    assert str(url).startswith(fake_providers.urls(key)["authorize_url"] + "?")
    assert url.params["client_id"] == fake_providers.client_id
    assert url.params["redirect_uri"] == REDIRECT_URI
    assert url.params["state"] == STATE
    assert url.params["response_type"] == "code"


@pytest.mark.parametrize("key", PKCE)
def test_pkce_providers_are_sent_the_s256_challenge(providers: Providers, key: Provider) -> None:
    provider = client(providers, key)
    _, challenge = pkce_pair()

    url = httpx.URL(
        provider.authorization_url(redirect_uri=REDIRECT_URI, state=STATE, code_challenge=challenge)
    )

    assert provider.uses_pkce
    assert (url.params["code_challenge"], url.params["code_challenge_method"]) == (challenge, "S256")
    with pytest.raises(ValueError, match="challenge"):
        provider.authorization_url(redirect_uri=REDIRECT_URI, state=STATE, code_challenge=None)


@pytest.mark.parametrize("key", sorted(set(OAUTH) - set(PKCE)))
def test_providers_without_pkce_are_sent_no_challenge(providers: Providers, key: Provider) -> None:
    url = httpx.URL(
        client(providers, key).authorization_url(redirect_uri=REDIRECT_URI, state=STATE, code_challenge=None)
    )
    assert "code_challenge" not in url.params


@pytest.mark.parametrize(
    ("key", "scope"),
    [
        ("garmin", None),
        ("coros", None),
        ("polar", "accesslink.read_all"),
        ("oura", "email personal daily heartrate workout session spo2"),
        (
            "whoop",
            "offline read:profile read:workout read:recovery read:sleep read:cycles read:body_measurement",
        ),
        ("fitbit", "activity heartrate profile sleep"),
        ("wahoo", "user_read workouts_read plans_read plans_write offline_data"),
    ],
)
def test_scopes_are_asked_space_separated_where_the_provider_takes_them(
    providers: Providers, key: Provider, scope: str | None
) -> None:
    provider = client(providers, key)
    challenge = pkce_pair()[1] if provider.uses_pkce else None
    url = httpx.URL(
        provider.authorization_url(redirect_uri=REDIRECT_URI, state=STATE, code_challenge=challenge)
    )
    assert url.params.get("scope") == scope
    assert "%20" in str(url) or scope is None or " " not in scope


# The code exchange.


@pytest.mark.parametrize("key", OAUTH)
async def test_a_code_links_the_athlete_the_provider_names(
    providers: Providers, fake_providers: FakeProviders, key: Provider
) -> None:
    user = await fake_providers.queue_user(key, first_name="Lea", last_name="Brun")

    account = await link(fake_providers, client(providers, key))

    assert account.provider_user_id == user.user_id
    assert secret(account.tokens.access_token) in await fake_providers.issued_tokens()
    assert account.tokens.expires_at is not None
    assert (account.tokens.refresh_token is None) == (key == "polar")


@pytest.mark.parametrize(
    ("key", "profile"),
    [
        ("polar", {"first_name": "Lea", "last_name": "Brun"}),
        ("oura", {"email": "lea@example.org"}),
        ("whoop", {"first_name": "Lea", "last_name": "Brun", "email": "lea@example.org"}),
        ("wahoo", {"first_name": "Lea", "last_name": "Brun", "email": "lea@example.org"}),
    ],
)
async def test_the_athletes_display_fields_come_with_the_link(
    providers: Providers, fake_providers: FakeProviders, key: Provider, profile: dict[str, Any]
) -> None:
    await fake_providers.queue_user(key, first_name="Lea", last_name="Brun", email="lea@example.org")
    account = await link(fake_providers, client(providers, key))
    assert account.profile.items() >= profile.items()


async def test_a_fitbit_link_is_named_by_the_athletes_display_name(
    providers: Providers, fake_providers: FakeProviders
) -> None:
    await fake_providers.queue_user("fitbit", first_name="Lea", last_name="Brun")
    account = await link(fake_providers, client(providers, "fitbit"))
    assert account.username is not None
    assert account.profile["display_name"] == account.username


@pytest.mark.parametrize("key", OAUTH)
async def test_a_code_the_provider_never_issued_is_refused(providers: Providers, key: Provider) -> None:
    provider = client(providers, key)
    verifier = pkce_pair()[0] if provider.uses_pkce else None

    with pytest.raises(AuthorizationRefused) as refused:
        await provider.exchange_code(
            code="c0ffee-not-issued", redirect_uri=REDIRECT_URI, code_verifier=verifier, user_id=USER_ID
        )
    assert refused.value.status == 400
    assert "c0ffee-not-issued" not in str(refused.value)


@pytest.mark.parametrize("key", OAUTH)
async def test_a_code_used_twice_is_refused(
    providers: Providers, fake_providers: FakeProviders, key: Provider
) -> None:
    provider = client(providers, key)
    code, verifier = await authorize(fake_providers, provider)
    await provider.exchange_code(
        code=code, redirect_uri=REDIRECT_URI, code_verifier=verifier, user_id=USER_ID
    )

    with pytest.raises(AuthorizationRefused):
        await provider.exchange_code(
            code=code, redirect_uri=REDIRECT_URI, code_verifier=verifier, user_id=USER_ID
        )


@pytest.mark.parametrize("key", PKCE)
async def test_a_code_with_another_pkce_verifier_is_refused(
    providers: Providers, fake_providers: FakeProviders, key: Provider
) -> None:
    provider = client(providers, key)
    code, _ = await authorize(fake_providers, provider)

    with pytest.raises(AuthorizationRefused):
        await provider.exchange_code(
            code=code, redirect_uri=REDIRECT_URI, code_verifier=pkce_pair()[0], user_id=USER_ID
        )


@pytest.mark.parametrize("key", ["garmin", "oura"])
async def test_a_code_exchanged_for_another_callback_is_refused(
    providers: Providers, fake_providers: FakeProviders, key: Provider
) -> None:
    provider = client(providers, key)
    code, verifier = await authorize(fake_providers, provider)

    with pytest.raises(AuthorizationRefused):
        await provider.exchange_code(
            code=code, redirect_uri=f"{REDIRECT_URI}/elsewhere", code_verifier=verifier, user_id=USER_ID
        )


@pytest.mark.parametrize("key", OAUTH)
async def test_a_wrong_client_secret_is_relays_configuration_not_the_athletes_fault(
    fake_providers: FakeProviders, http: httpx.AsyncClient, key: Provider
) -> None:
    wrong = ProviderApp(
        client_id=fake_providers.client_id,
        client_secret=SecretStr("not-the-secret"),
        **fake_providers.urls(key),
    )
    provider = client(providers_on(fake_providers, http, **{key: wrong}), key)
    code, verifier = await authorize(fake_providers, provider)

    with pytest.raises(ProviderUnavailable, match="client credentials") as failed:
        await provider.exchange_code(
            code=code, redirect_uri=REDIRECT_URI, code_verifier=verifier, user_id=USER_ID
        )
    assert failed.value.status == 401
    assert "not-the-secret" not in str(failed.value)


async def test_polar_and_fitbit_authenticate_relay_with_http_basic(
    providers: Providers, fake_providers: FakeProviders
) -> None:
    for key in ("polar", "fitbit"):
        await link(fake_providers, client(providers, key))
        token_path = httpx.URL(fake_providers.urls(key)["token_url"]).path
        [exchange] = await fake_providers.received(key, token_path)
        assert (exchange.auth_scheme, exchange.basic_client_id) == ("Basic", fake_providers.client_id)
        assert "client_secret" not in exchange.fields
    [fitbit] = await fake_providers.received("fitbit", "/oauth2/token")
    assert fitbit.fields["client_id"] == fake_providers.client_id and fitbit.fields["code_verifier"]


PROFILE_PATHS = {
    "garmin": "/wellness-api/rest/user/id",
    "oura": "/v2/usercollection/personal_info",
    "whoop": "/developer/v2/user/profile/basic",
    "wahoo": "/v1/user",
}


@pytest.mark.parametrize("key", ID_FROM_PROFILE)
async def test_a_link_whose_profile_call_fails_is_unavailable(
    providers: Providers, fake_providers: FakeProviders, key: Provider
) -> None:
    provider = client(providers, key)
    code, verifier = await authorize(fake_providers, provider)
    await fake_providers.fail_next(key, "server_error", PROFILE_PATHS[key])

    with pytest.raises(ProviderUnavailable) as failed:
        await provider.exchange_code(
            code=code, redirect_uri=REDIRECT_URI, code_verifier=verifier, user_id=USER_ID
        )
    assert failed.value.status == 500


async def test_a_fitbit_link_survives_its_profile_call_failing_without_its_display_fields(
    providers: Providers, fake_providers: FakeProviders
) -> None:
    user = await fake_providers.queue_user("fitbit")
    provider = client(providers, "fitbit")
    code, verifier = await authorize(fake_providers, provider)
    await fake_providers.fail_next("fitbit", "server_error", "/1/user/-/profile.json")

    account = await provider.exchange_code(
        code=code, redirect_uri=REDIRECT_URI, code_verifier=verifier, user_id=USER_ID
    )

    assert account.provider_user_id == user.user_id
    assert account.profile == {}


async def test_a_garmin_link_keeps_the_permissions_the_athlete_granted_as_its_scopes(
    providers: Providers, fake_providers: FakeProviders
) -> None:
    account = await link(fake_providers, client(providers, "garmin"))
    assert account.tokens.scopes == ["ACTIVITY_EXPORT", "WORKOUT_IMPORT", "HEALTH_EXPORT"]


async def test_polar_registers_the_athlete_under_relays_user_id(
    providers: Providers, fake_providers: FakeProviders
) -> None:
    user = await fake_providers.queue_user("polar", first_name="Lea", last_name="Brun")

    account = await link(fake_providers, client(providers, "polar"))

    [registration] = await fake_providers.received("polar", "/v3/users")
    assert registration.method == "POST"
    assert registration.fields["member-id"] == USER_ID
    assert registration.auth_scheme == "Bearer"
    assert account.provider_user_id == user.user_id


async def test_polar_relinking_an_athlete_already_registered_is_fine(
    providers: Providers, fake_providers: FakeProviders
) -> None:
    polar = client(providers, "polar")
    user = await fake_providers.queue_user("polar")
    first = await link(fake_providers, polar)
    await fake_providers.queue_user("polar", user_id=user.user_id)

    again = await link(fake_providers, polar)

    assert again.provider_user_id == first.provider_user_id == user.user_id
    assert len(await fake_providers.received("polar", "/v3/users")) == 2


def test_whoop_is_never_sent_a_state_its_consent_page_would_refuse(providers: Providers) -> None:
    with pytest.raises(ValueError, match="state"):
        client(providers, "whoop").authorization_url(
            redirect_uri=REDIRECT_URI, state="short", code_challenge=None
        )
