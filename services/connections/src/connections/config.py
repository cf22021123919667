"""Settings of the connections service, read from `CONNECTIONS_*` environment variables.

Each provider's application is a nested setting: `CONNECTIONS_GARMIN__CLIENT_ID`,
`CONNECTIONS_GARMIN__TOKEN_URL`, ... Every URL defaults to the provider's real one and can point
elsewhere (a local fake in development and tests). A provider without a client id is not offered."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from relay_platform.config import ServiceSettings


class ProviderApp(BaseModel):
    """Relay's application at one provider: its credentials and the provider's URLs."""

    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    authorize_url: str = ""
    token_url: str = ""
    api_url: str = ""
    """Base of the provider's REST API (profile, registration, revocation)."""
    revoke_url: str = ""
    """Where the provider revokes a grant when it is not under `api_url` (Strava, Fitbit, COROS)."""
    refresh_url: str = ""
    """Where tokens are refreshed when it is not `token_url` (COROS)."""
    scopes: str = ""
    """Scopes asked for, in the provider's own separator; empty for the registry's default."""

    @property
    def configured(self) -> bool:
        return bool(self.client_id)


PROVIDER_URLS: dict[str, dict[str, str]] = {
    "strava": {
        "authorize_url": "https://www.strava.com/oauth/authorize",
        "token_url": "https://www.strava.com/oauth/token",
        "revoke_url": "https://www.strava.com/oauth/deauthorize",
        "api_url": "https://www.strava.com/api/v3",
    },
    "garmin": {
        "authorize_url": "https://connect.garmin.com/oauth2Confirm",
        "token_url": "https://diauth.garmin.com/di-oauth2-service/oauth/token",
        "api_url": "https://apis.garmin.com",
    },
    "coros": {
        "authorize_url": "https://open.coros.com/oauth2/authorize",
        "token_url": "https://open.coros.com/oauth2/accesstoken",
        "refresh_url": "https://open.coros.com/oauth2/refresh-token",
        "revoke_url": "https://open.coros.com/oauth2/deauthorize",
        "api_url": "https://open.coros.com",
    },
    "polar": {
        "authorize_url": "https://flow.polar.com/oauth2/authorization",
        "token_url": "https://polarremote.com/v2/oauth2/token",
        "api_url": "https://www.polaraccesslink.com",
    },
    "oura": {
        "authorize_url": "https://cloud.ouraring.com/oauth/authorize",
        "token_url": "https://api.ouraring.com/oauth/token",
        "api_url": "https://api.ouraring.com",
    },
    "whoop": {
        "authorize_url": "https://api.prod.whoop.com/oauth/oauth2/auth",
        "token_url": "https://api.prod.whoop.com/oauth/oauth2/token",
        "api_url": "https://api.prod.whoop.com",
    },
    "fitbit": {
        "authorize_url": "https://www.fitbit.com/oauth2/authorize",
        "token_url": "https://api.fitbit.com/oauth2/token",
        "revoke_url": "https://api.fitbit.com/oauth2/revoke",
        "api_url": "https://api.fitbit.com",
    },
    "wahoo": {
        "authorize_url": "https://api.wahooligan.com/oauth/authorize",
        "token_url": "https://api.wahooligan.com/oauth/token",
        "api_url": "https://api.wahooligan.com",
    },
}
"""The providers' real URLs, used for every URL a setting leaves empty."""


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONNECTIONS_", env_nested_delimiter="__", extra="ignore")

    http_port: int = 8102
    identity_url: str = Field(
        default="http://127.0.0.1:8101",
        description="The identity service, whose internal endpoint hands over a sign-in's Strava tokens.",
    )
    identity_internal_token: SecretStr = Field(
        description="Bearer token identity expects from this service when it claims Strava grants."
    )
    identity_timeout_seconds: float = 5.0
    token_keys: SecretStr = Field(
        description="Keyring sealing providers' tokens at rest: `kid:base64(32 bytes)[,...]`; the first key "
        "seals, all open. Parsed when the service starts (a malformed keyring stops it)."
    )
    internal_callers: SecretStr = Field(
        description="Services allowed to obtain athletes' access tokens, as `name:bearer-token[,...]` "
        "(e.g. `ingestion:...,export:...`). Each handout is audited with the caller's name."
    )
    public_url: str = Field(
        default="http://localhost:8080",
        description="Relay's public base URL: providers send the athlete back to "
        "`<public_url>/api/providers/<provider>/callback`, which must be registered with each provider.",
    )
    app_redirect_uri_prefixes: list[str] = Field(
        default=["relay://"],
        description="Where a link flow may send the athlete back when it ends (the app's deep links). "
        "Anything else is refused.",
    )
    provider_timeout_seconds: float = 10.0
    link_ttl_seconds: int = 600
    refresh_cron: str = Field(
        default="* * * * *",
        description="When the refresh job looks for access tokens about to expire (cron, UTC).",
    )
    refresh_ahead_seconds: int = Field(
        default=1800, description="Tokens expiring within this many seconds are refreshed."
    )
    warnings_cron: str = Field(
        default="0 * * * *",
        description="When connections about to break and subscriptions about to expire are looked for "
        "(cron, UTC).",
    )
    unused_after_days: int = Field(
        default=60, description="A link without notification nor token use for this long is reported unused."
    )
    warn_ahead_days: int = Field(
        default=14, description="Warn this many days before a credential or a subscription expires."
    )
    garmin_oauth1_retirement: str = Field(
        default="2026-12-31", description="When Garmin stops honouring OAuth 1.0a tokens (ISO date)."
    )

    strava: ProviderApp = ProviderApp()
    garmin: ProviderApp = ProviderApp()
    coros: ProviderApp = ProviderApp()
    polar: ProviderApp = ProviderApp()
    oura: ProviderApp = ProviderApp()
    whoop: ProviderApp = ProviderApp()
    fitbit: ProviderApp = ProviderApp()
    wahoo: ProviderApp = ProviderApp()
    coros_training_hub_url: str = Field(
        default="https://teamapi.coros.com",
        description="COROS Training Hub's unofficial API (email and password login), seed 000.",
    )
    coros_training_hub_enabled: bool = True

    def provider_app(self, provider: str) -> ProviderApp:
        """The provider's application, its URLs defaulting to the provider's real ones."""
        app: ProviderApp = getattr(self, provider)
        defaults = PROVIDER_URLS[provider]
        return app.model_copy(update={name: url for name, url in defaults.items() if not getattr(app, name)})
