"""Settings of the export service, read from `EXPORT_*` environment variables."""

from pydantic_settings import SettingsConfigDict

from relay_platform.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EXPORT_", extra="ignore")

    http_port: int = 8105
