"""Settings of the planning service, read from `PLANNING_*` environment variables."""

from pydantic_settings import SettingsConfigDict

from relay_platform.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PLANNING_", extra="ignore")

    http_port: int = 8104
