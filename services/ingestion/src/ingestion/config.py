"""Settings of the ingestion service, read from `INGESTION_*` environment variables."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from relay_platform.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INGESTION_", extra="ignore")

    http_port: int = 8103
    strava_verify_token: SecretStr = Field(
        description="The `hub.verify_token` given to Strava when the webhook subscription was created."
    )
    strava_subscription_id: int | None = Field(
        default=None, description="Relay's Strava webhook subscription; events for another are refused."
    )
