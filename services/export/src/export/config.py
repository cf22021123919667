"""Settings of the export service, read from `EXPORT_*` environment variables."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from relay_platform.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EXPORT_", extra="ignore")

    http_port: int = 8105
    connections_url: str = Field(
        default="http://127.0.0.1:8102", description="The connections service (athletes' fresh tokens)."
    )
    connections_token: SecretStr = Field(
        description="Bearer token the connections service knows this service by "
        "(`CONNECTIONS_INTERNAL_CALLERS`)."
    )
    garmin_workout_api_url: str = Field(
        default="https://connectapi.garmin.com",
        description="Garmin Connect's workout service (`/workout-service/...`), called with the athlete's "
        "OAuth 2.0 token.",
    )
    coros_hub_api_url: str = Field(
        default="https://teamapi.coros.com", description="COROS Training Hub (unofficial): FIT imports."
    )
    provider_timeout_seconds: float = Field(
        default=15.0, description="The longest one provider call may take."
    )
    send_interval_seconds: float = Field(
        default=1.0, description="How often queued exports are looked for (a new one also wakes the sender)."
    )
    send_batch_size: int = Field(default=20, description="Exports claimed at once by one sender.")
    max_attempts: int = Field(default=6, description="Attempts before a transient failure becomes final.")
    retry_base_seconds: float = Field(
        default=30.0, description="Wait after the first failed attempt; doubled after each next one."
    )
    auto_export_days: int = Field(
        default=7, description="How far ahead opted-in athletes' sessions are pushed."
    )
    auto_export_cron: str = Field(
        default="0 * * * *",
        description="When sessions entering the auto-export window are queued (cron, UTC).",
    )
