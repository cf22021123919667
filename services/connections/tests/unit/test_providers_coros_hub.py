"""Linking COROS Training Hub with the athlete's email and password, against the fake Training Hub
(relay_testing.fakes.providers): the password is sent once, as the MD5 the hub expects, and nowhere
else."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx
import pytest
from pydantic import SecretStr

from connections.providers.base import AuthorizationRefused, ProviderUnavailable
from connections.providers.coros_hub import CorosTrainingHub
from relay_platform.http import create_http_client

from .logs import captured_logs

if TYPE_CHECKING:
    from relay_testing.fakes.providers import FakeProviders

EMAIL = "lea.brun@example.org"
PASSWORD = "Rh0ne-Alpes-2026!"
PASSWORD_MD5 = hashlib.md5(PASSWORD.encode(), usedforsecurity=False).hexdigest()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with create_http_client(timeout=2.0, retries=0) as client:
        yield client


@pytest.fixture
def hub(fake_providers: FakeProviders, http: httpx.AsyncClient) -> CorosTrainingHub:
    return CorosTrainingHub(http, f"{fake_providers.url}/coros-hub")


async def test_an_email_and_password_link_the_training_hub_account(
    hub: CorosTrainingHub, fake_providers: FakeProviders
) -> None:
    registered = await fake_providers.add_coros_account(EMAIL, PASSWORD, nickname="Lea B", country="FR")

    account = await hub.login(email=EMAIL, password=SecretStr(PASSWORD))

    assert account.provider_user_id == registered.user_id
    assert account.username == "Lea B"
    assert account.profile["country"] == "FR" and account.profile["email"] == EMAIL
    assert account.tokens.access_token.get_secret_value() in await fake_providers.issued_tokens()
    assert account.tokens.refresh_token is None and account.tokens.expires_at is None


async def test_the_login_sends_the_md5_of_the_password_and_then_asks_who_the_token_belongs_to(
    hub: CorosTrainingHub, fake_providers: FakeProviders
) -> None:
    await fake_providers.add_coros_account(EMAIL, PASSWORD)

    account = await hub.login(email=EMAIL, password=SecretStr(PASSWORD))

    login, query = await fake_providers.received("coros-hub")
    assert (login.method, login.path) == ("POST", "/coros-hub/account/login")
    # Recorded as text; the hub refuses any accountType but the number 2, so the login proves it was.
    assert login.fields == {"account": EMAIL, "accountType": "2", "pwd": PASSWORD_MD5}
    assert (query.method, query.path) == ("GET", "/coros-hub/account/query")
    headers = {name.lower(): value for name, value in query.headers.items()}
    assert headers["accesstoken"] == account.tokens.access_token.get_secret_value()


async def test_the_password_itself_is_in_no_request_and_no_log_line(
    hub: CorosTrainingHub, fake_providers: FakeProviders
) -> None:
    await fake_providers.add_coros_account(EMAIL, PASSWORD)

    with captured_logs() as logs:
        await hub.login(email=EMAIL, password=SecretStr(PASSWORD))
        with pytest.raises(AuthorizationRefused):
            await hub.login(email=EMAIL, password=SecretStr(f"{PASSWORD}x"))

    for request in await fake_providers.received("coros-hub"):
        assert PASSWORD not in repr(request)
        assert f"{PASSWORD}x" not in repr(request)
    assert PASSWORD not in repr(logs) and PASSWORD_MD5 not in repr(logs)
    assert [(line["endpoint"], line["status"]) for line in logs if line["event"] == "provider_call"] == [
        ("login", 200),
        ("account_query", 200),
        ("login", 200),
    ]


@pytest.mark.parametrize(("email", "password"), [(EMAIL, "wrong-password"), ("nobody@example.org", PASSWORD)])
async def test_a_wrong_email_or_password_is_refused_without_quoting_either(
    hub: CorosTrainingHub, fake_providers: FakeProviders, email: str, password: str
) -> None:
    await fake_providers.add_coros_account(EMAIL, PASSWORD)

    with pytest.raises(AuthorizationRefused, match="wrong email or password") as refused:
        await hub.login(email=email, password=SecretStr(password))
    assert password not in str(refused.value)


@pytest.mark.parametrize(
    ("mode", "status"),
    [("server_error", None), ("down", 503), ("rate_limited", 429)],  # result 5000 comes with HTTP 200
)
async def test_the_training_hub_failing_is_unavailable(
    hub: CorosTrainingHub, fake_providers: FakeProviders, mode: str, status: int | None
) -> None:
    await fake_providers.add_coros_account(EMAIL, PASSWORD)
    await fake_providers.fail_next("coros-hub", mode)  # type: ignore[arg-type]

    with pytest.raises(ProviderUnavailable) as failed:
        await hub.login(email=EMAIL, password=SecretStr(PASSWORD))
    assert failed.value.status == status
    if mode == "server_error":
        assert "result 5000" in str(failed.value)


async def test_the_training_hub_dropping_the_connection_is_unavailable(
    hub: CorosTrainingHub, fake_providers: FakeProviders
) -> None:
    await fake_providers.add_coros_account(EMAIL, PASSWORD)
    await fake_providers.fail_next("coros-hub", "disconnect")

    with pytest.raises(ProviderUnavailable):
        await hub.login(email=EMAIL, password=SecretStr(PASSWORD))


async def test_a_token_the_training_hub_refuses_right_after_issuing_it_is_its_failure(
    hub: CorosTrainingHub, fake_providers: FakeProviders
) -> None:
    await fake_providers.add_coros_account(EMAIL, PASSWORD)
    await fake_providers.fail_next("coros-hub", "server_error", "/account/query")

    with pytest.raises(ProviderUnavailable, match="account_query"):
        await hub.login(email=EMAIL, password=SecretStr(PASSWORD))
