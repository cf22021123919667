"""The providers an athlete can link, built once from the settings (in the service's lifespan)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from connections.config import Settings
from connections.providers.base import OAuthProvider, PasswordProvider
from connections.providers.coros_hub import CorosTrainingHub
from connections.providers.dialects import DIALECTS
from connections.providers.oauth2 import GarminOAuth, OAuth2Client, PolarOAuth
from connections.providers.registry import PROVIDERS, ProviderSpec, spec_of

__all__ = ["PROVIDERS", "ProviderSpec", "Providers", "build_providers", "spec_of"]

CLIENTS: dict[str, type[OAuth2Client]] = {"polar": PolarOAuth, "garmin": GarminOAuth}
"""Providers whose link needs more than their dialect says; the others use `OAuth2Client` as is."""


@dataclass(frozen=True)
class Providers:
    specs: Mapping[str, ProviderSpec]
    """Every provider Relay knows, offered or not."""
    oauth_clients: Mapping[str, OAuthProvider] = field(default_factory=dict)
    password_clients: Mapping[str, PasswordProvider] = field(default_factory=dict)

    def oauth(self, key: str) -> OAuthProvider | None:
        """The provider's OAuth client; None when Relay has no application there (no client id) or the
        provider is not linked by OAuth."""
        return self.oauth_clients.get(key)

    def password(self, key: str) -> PasswordProvider | None:
        return self.password_clients.get(key)

    def offered(self) -> list[ProviderSpec]:
        """What an athlete can link now, in the registry's order: OAuth providers with an application,
        password providers enabled, and the API-key bridge (served by Relay itself)."""
        return [
            spec
            for key, spec in self.specs.items()
            if key in self.oauth_clients or key in self.password_clients or spec.auth_type == "api_key"
        ]


def build_providers(settings: Settings, http: httpx.AsyncClient) -> Providers:
    """Every provider's client over one HTTP client (`relay_platform.http.create_http_client`, with
    `settings.provider_timeout_seconds`)."""
    oauth: dict[str, OAuthProvider] = {}
    for key, dialect in DIALECTS.items():
        app = settings.provider_app(key)
        if not app.configured:
            continue
        spec = spec_of(key)
        client = CLIENTS.get(key, OAuth2Client)
        oauth[key] = client(
            http, app, dialect, scopes=spec.scopes_from(app.scopes), scope_separator=spec.scope_separator
        )
    password: dict[str, PasswordProvider] = {}
    if settings.coros_training_hub_enabled:
        password["coros_training_hub"] = CorosTrainingHub(http, settings.coros_training_hub_url)
    return Providers(specs=PROVIDERS, oauth_clients=oauth, password_clients=password)
