"""Settings of the connections service, read from `CONNECTIONS_*` environment variables."""

from pydantic_settings import SettingsConfigDict

from relay_platform.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONNECTIONS_", extra="ignore")

    http_port: int = 8102
