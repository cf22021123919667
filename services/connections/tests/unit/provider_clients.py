"""What the provider clients' tests share: the clients built from settings that point at the local fake
of the providers, and the values a link flow carries."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
from pydantic import SecretStr

from connections.config import ProviderApp, Settings
from connections.providers import Providers, build_providers
from connections.providers.base import OAuthProvider

if TYPE_CHECKING:
    from relay_testing.fakes.providers import FakeProviders, Provider

OAUTH: tuple[Provider, ...] = ("garmin", "coros", "polar", "oura", "whoop", "fitbit", "wahoo")
REDIRECT_URI = "http://localhost:8080/api/providers/callback"
STATE = "st_5b0e9a7c31d24f68"
USER_ID = "usr_01HZX3"


def providers_on(fake: FakeProviders, http: httpx.AsyncClient, **apps: ProviderApp) -> Providers:
    """Every OAuth provider's client against `fake`; `apps` overrides some providers' settings."""
    configured = {
        key: ProviderApp(
            client_id=fake.client_id, client_secret=SecretStr(fake.client_secret), **fake.urls(key)
        )
        for key in OAUTH
    } | apps
    settings = Settings(
        database_url="postgresql+asyncpg://c:Vq93kd-long@db/c",
        identity_internal_token="internal-7f3a9c",
        token_keys="k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        internal_callers="ingestion:Zq81mX-long",
        **configured,  # type: ignore[arg-type]
    )
    return build_providers(settings, http)


def client(providers: Providers, key: Provider) -> OAuthProvider:
    found = providers.oauth(key)
    assert found is not None
    return found
