"""Settings of the ingestion service, read from `INGESTION_*` environment variables (a provider's as
`INGESTION_<PROVIDER>__<FIELD>`, e.g. `INGESTION_WHOOP__CLIENT_SECRET`)."""

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from relay_platform.config import ServiceSettings

PROVIDER_API_URLS: dict[str, str] = {
    "strava": "https://www.strava.com/api/v3",
    "garmin": "https://apis.garmin.com",
    "coros": "https://open.coros.com",
    "polar": "https://www.polaraccesslink.com",
    "oura": "https://api.ouraring.com",
    "whoop": "https://api.prod.whoop.com",
    "fitbit": "https://api.fitbit.com",
    "wahoo": "https://api.wahooligan.com",
}
"""The providers' real API base URLs, used when a setting leaves one empty."""

DEFAULT_RATE_LIMITS: dict[str, str] = {
    # Strava's documented application limits (overall, and the "non-upload" reads within them).
    "strava": "200/15m,2000/1d;read:100/15m,1000/1d",
    "oura": "5000/5m",
    "whoop": "100/1m,10000/1d",
    "wahoo": "200/5m,1000/1h,5000/1d",
    "polar": "500/15m,5000/1d",
    "fitbit": "150/1h",
    "garmin": "1000/1h",
    "coros": "1000/1h",
}


class ProviderFeed(BaseModel):
    """How Relay reads one provider: its API, what its webhooks are verified with, its budget."""

    api_url: str = ""
    client_id: str = Field(default="", description="Relay's application id (COROS pushes carry it).")
    client_secret: SecretStr | None = Field(
        default=None, description="Signs WHOOP, Fitbit and Oura webhooks; COROS pushes carry it."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Polar: the signature key shown once when the webhook was created. Wahoo: the "
        "`webhook_token` its webhooks carry.",
    )
    verify_token: SecretStr | None = Field(
        default=None,
        description="Oura: its `verification_token`. Fitbit: the subscriber verification code.",
    )
    rate_limits: str = Field(
        default="",
        description="The application's request budget, e.g. `200/15m,2000/1d;read:100/15m,1000/1d` "
        "(windows aligned on the clock, UTC); empty: the provider's documented limits.",
    )
    backfill_days: int | None = Field(default=None, description="History read on link; empty: the default.")

    @field_validator("client_secret", "webhook_secret", "verify_token", "backfill_days", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `VAR=` (as compose writes an unset variable) means not configured, not an empty secret.
        return None if value == "" else value


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INGESTION_", env_nested_delimiter="__", extra="ignore")

    http_port: int = 8103
    strava_verify_token: SecretStr = Field(
        description="The `hub.verify_token` given to Strava when the webhook subscription was created."
    )
    strava_subscription_id: int | None = Field(
        default=None, description="Relay's Strava webhook subscription; events for another are refused."
    )
    connections_url: str = Field(
        default="http://127.0.0.1:8102", description="The connections service (athletes' fresh tokens)."
    )
    connections_token: SecretStr = Field(
        description="Bearer token the connections service knows this service by "
        "(`CONNECTIONS_INTERNAL_CALLERS`)."
    )
    provider_timeout_seconds: float = 10.0
    backfill_days: int = Field(default=90, description="History read when an account is linked.")
    poll_interval_seconds: float = Field(
        default=3600.0, description="How often each account of a provider without usable webhooks is polled."
    )
    poll_cron: str = Field(
        default="*/5 * * * *", description="When the accounts due for a poll are looked for (cron, UTC)."
    )
    worker_enabled: bool = Field(
        default=True, description="Whether this process fetches, normalizes and stores activities."
    )
    worker_concurrency: int = Field(default=8, description="Notifications processed at once per process.")
    worker_idle_seconds: float = Field(
        default=1.0, description="How long an idle worker waits before looking for work again."
    )
    worker_linger_seconds: float = Field(
        default=0.02,
        description="How long a woken worker waits for more of a burst, to take it in one batch.",
    )
    live_reserve_percent: int = Field(
        default=20,
        description="Share of each rate-limit window backfills leave to live notifications.",
    )

    strava: ProviderFeed = ProviderFeed()
    garmin: ProviderFeed = ProviderFeed()
    coros: ProviderFeed = ProviderFeed()
    polar: ProviderFeed = ProviderFeed()
    oura: ProviderFeed = ProviderFeed()
    whoop: ProviderFeed = ProviderFeed()
    fitbit: ProviderFeed = ProviderFeed()
    wahoo: ProviderFeed = ProviderFeed()

    def feed(self, provider: str) -> ProviderFeed:
        """The provider's settings, its API URL and budget defaulting to the provider's real ones."""
        feed: ProviderFeed = getattr(self, provider)
        return feed.model_copy(
            update={
                "api_url": feed.api_url or PROVIDER_API_URLS[provider],
                "rate_limits": feed.rate_limits or DEFAULT_RATE_LIMITS.get(provider, ""),
            }
        )

    def backfill_days_for(self, provider: str) -> int:
        feed: ProviderFeed | None = getattr(self, provider, None)
        return feed.backfill_days if feed and feed.backfill_days is not None else self.backfill_days
