"""What happens to a provider link after it is made: refreshes (rotating, extending, none), revocation,
and the provider failing, against the fake providers (relay_testing.fakes.providers)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, cast

import pytest
from pydantic import SecretStr

from connections.providers import Providers
from connections.providers.base import (
    LinkedAccount,
    OAuthProvider,
    ProviderUnavailable,
    RefreshRefused,
)
from connections.providers.oauth2 import pkce_pair
from relay_platform.http import create_http_client

from .logs import captured_logs
from .provider_clients import OAUTH, REDIRECT_URI, STATE, USER_ID, client, providers_on

if TYPE_CHECKING:
    from relay_testing.fakes.providers import FakeProviders, Provider

ROTATING: tuple[Provider, ...] = ("garmin", "oura", "whoop", "fitbit", "wahoo")


async def link(fake: FakeProviders, provider: OAuthProvider) -> LinkedAccount:
    verifier, challenge = pkce_pair() if provider.uses_pkce else (None, None)
    url = provider.authorization_url(redirect_uri=REDIRECT_URI, state=STATE, code_challenge=challenge)
    back = await fake.authorize(cast("Provider", provider.key), url)
    return await provider.exchange_code(
        code=back.params["code"], redirect_uri=REDIRECT_URI, code_verifier=verifier, user_id=USER_ID
    )


def secret(value: SecretStr | None) -> str:
    assert value is not None
    return value.get_secret_value()


# Refresh.


@pytest.mark.parametrize("key", ROTATING)
async def test_a_refresh_rotates_the_refresh_token_and_the_old_one_stops_working(
    providers: Providers, fake_providers: FakeProviders, key: Provider
) -> None:
    provider = client(providers, key)
    account = await link(fake_providers, provider)

    refreshed = await provider.refresh(account.tokens)

    assert secret(refreshed.refresh_token) != secret(account.tokens.refresh_token)
    assert secret(refreshed.access_token) != secret(account.tokens.access_token)
    assert refreshed.scopes == account.tokens.scopes
    with pytest.raises(RefreshRefused) as refused:
        await provider.refresh(account.tokens)
    assert refused.value.status == 400
    assert secret(account.tokens.refresh_token) not in str(refused.value)
    assert (await provider.refresh(refreshed)).access_token != refreshed.access_token


@pytest.mark.parametrize("key", ROTATING)
async def test_a_refresh_after_the_athlete_removed_relay_at_the_provider_is_refused(
    providers: Providers, fake_providers: FakeProviders, key: Provider
) -> None:
    provider = client(providers, key)
    account = await link(fake_providers, provider)
    await fake_providers.revoke_grants(key, account.provider_user_id)

    with pytest.raises(RefreshRefused):
        await provider.refresh(account.tokens)


@pytest.mark.parametrize("key", [*ROTATING, "coros"])
async def test_an_expired_refresh_token_is_refused(
    providers: Providers, fake_providers: FakeProviders, key: Provider
) -> None:
    provider = client(providers, key)
    account = await link(fake_providers, provider)
    await fake_providers.expire_refresh_tokens(key)

    with pytest.raises(RefreshRefused):
        await provider.refresh(account.tokens)


async def test_a_whoop_refresh_asks_for_offline_access_again(
    providers: Providers, fake_providers: FakeProviders
) -> None:
    whoop = client(providers, "whoop")
    await whoop.refresh((await link(fake_providers, whoop)).tokens)

    token_calls = await fake_providers.received("whoop", "/oauth/oauth2/token")
    assert token_calls[-1].fields["grant_type"] == "refresh_token"
    assert token_calls[-1].fields["scope"] == "offline"


async def test_a_coros_refresh_keeps_the_same_access_token_for_thirty_days_from_now(
    providers: Providers, fake_providers: FakeProviders
) -> None:
    coros = client(providers, "coros")
    account = await link(fake_providers, coros)
    assert account.tokens.expires_at is not None

    refreshed = await coros.refresh(account.tokens)

    assert refreshed.access_token == account.tokens.access_token
    assert refreshed.refresh_token == account.tokens.refresh_token
    assert refreshed.expires_at is not None
    assert refreshed.expires_at - account.tokens.expires_at < timedelta(minutes=1)
    [call] = await fake_providers.received("coros", "/oauth2/refresh-token")
    assert call.fields["refresh_token"] == secret(account.tokens.refresh_token)
    assert call.fields["client_secret"] == fake_providers.client_secret


async def test_polar_grants_do_not_refresh_and_nothing_is_asked_of_polar(
    providers: Providers, fake_providers: FakeProviders
) -> None:
    polar = client(providers, "polar")
    account = await link(fake_providers, polar)
    calls = len(await fake_providers.received("polar"))

    with pytest.raises(RefreshRefused, match="link again"):
        await polar.refresh(account.tokens)
    assert len(await fake_providers.received("polar")) == calls


# Revocation.

REVOCATIONS = {
    "garmin": ("DELETE", "/garmin/wellness-api/rest/user/registration"),
    "coros": ("POST", "/coros/oauth2/deauthorize"),
    "polar": ("DELETE", "/polar/v3/users/{id}"),
    "oura": ("GET", "/oura/oauth/revoke"),
    "whoop": ("DELETE", "/whoop/developer/v2/user/access"),
    "fitbit": ("POST", "/fitbit/oauth2/revoke"),
    "wahoo": ("DELETE", "/wahoo/v1/permissions"),
}


@pytest.mark.parametrize("key", OAUTH)
async def test_unlinking_withdraws_relays_access_at_the_provider(
    providers: Providers, fake_providers: FakeProviders, key: Provider
) -> None:
    provider = client(providers, key)
    account = await link(fake_providers, provider)

    assert await provider.revoke(account.tokens, account.provider_user_id) is True

    method, path = REVOCATIONS[key]
    path = path.format(id=account.provider_user_id)
    calls = [r for r in await fake_providers.received(key) if r.path == path]
    assert [r.method for r in calls] == [method]
    if key in ("coros", "oura", "fitbit"):  # the token in the query or the form
        assert secret(account.tokens.access_token) in calls[0].fields.values()
    if key == "fitbit":
        assert calls[0].basic_client_id == fake_providers.client_id
    if account.tokens.refresh_token is not None and key != "coros":
        with pytest.raises(RefreshRefused):
            await provider.refresh(account.tokens)


# The provider failing.

FAILURES = [("server_error", 500), ("down", 503), ("rate_limited", 429), ("disconnect", None)]


@pytest.mark.parametrize("key", OAUTH)
@pytest.mark.parametrize(("mode", "status"), FAILURES)
async def test_a_provider_failing_the_code_exchange_is_unavailable_with_its_status(
    providers: Providers, fake_providers: FakeProviders, key: Provider, mode: str, status: int | None
) -> None:
    provider = client(providers, key)
    verifier, challenge = pkce_pair() if provider.uses_pkce else (None, None)
    url = provider.authorization_url(redirect_uri=REDIRECT_URI, state=STATE, code_challenge=challenge)
    code = (await fake_providers.authorize(key, url)).params["code"]
    await fake_providers.fail_next(key, mode)  # type: ignore[arg-type]

    with pytest.raises(ProviderUnavailable) as failed:
        await provider.exchange_code(
            code=code, redirect_uri=REDIRECT_URI, code_verifier=verifier, user_id=USER_ID
        )
    assert failed.value.status == status


@pytest.mark.parametrize("key", [*ROTATING, "coros"])
@pytest.mark.parametrize(("mode", "status"), FAILURES)
async def test_a_provider_failing_a_refresh_is_unavailable_and_the_grant_still_holds(
    providers: Providers, fake_providers: FakeProviders, key: Provider, mode: str, status: int | None
) -> None:
    provider = client(providers, key)
    account = await link(fake_providers, provider)
    await fake_providers.fail_next(key, mode)  # type: ignore[arg-type]

    with pytest.raises(ProviderUnavailable) as failed:
        await provider.refresh(account.tokens)
    assert failed.value.status == status
    if mode != "disconnect":  # a dropped answer may have come after the provider rotated
        assert (await provider.refresh(account.tokens)).access_token is not None


@pytest.mark.parametrize("key", ["garmin", "polar"])
async def test_a_provider_failing_a_revocation_is_unavailable(
    providers: Providers, fake_providers: FakeProviders, key: Provider
) -> None:
    provider = client(providers, key)
    account = await link(fake_providers, provider)
    await fake_providers.fail_next(key, "server_error")

    with pytest.raises(ProviderUnavailable) as failed:
        await provider.revoke(account.tokens, account.provider_user_id)
    assert failed.value.status == 500


async def test_a_provider_too_slow_to_answer_is_unavailable(fake_providers: FakeProviders) -> None:
    async with create_http_client(timeout=0.2, retries=0) as impatient:
        oura = client(providers_on(fake_providers, impatient), "oura")
        account = await link(fake_providers, oura)
        await fake_providers.fail_next("oura", "slow", seconds=1.0)

        with pytest.raises(ProviderUnavailable, match="timeout"):
            await oura.refresh(account.tokens)


# Logs.


@pytest.mark.parametrize("key", OAUTH)
async def test_every_call_is_logged_without_any_token_the_provider_issued(
    providers: Providers, fake_providers: FakeProviders, key: Provider
) -> None:
    provider = client(providers, key)
    with captured_logs() as logs:
        account = await link(fake_providers, provider)
        tokens = account.tokens if key == "polar" else await provider.refresh(account.tokens)
        await provider.revoke(tokens, account.provider_user_id)

    calls = [line for line in logs if line["event"] == "provider_call"]
    assert {"token", "revoke"} <= {c["endpoint"] for c in calls}
    assert all(c["provider"] == key and isinstance(c["status"], int) for c in calls)
    issued = await fake_providers.issued_tokens()
    assert issued
    assert not any(token in repr(logs) for token in issued)
    assert fake_providers.client_secret not in repr(logs)
