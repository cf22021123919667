"""Settings of the identity service, read from `IDENTITY_*` environment variables."""

from pydantic_settings import SettingsConfigDict

from relay_platform.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    http_port: int = 8101
