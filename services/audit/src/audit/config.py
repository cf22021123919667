"""Settings of the audit service, read from `AUDIT_*` environment variables."""

from pydantic_settings import SettingsConfigDict

from relay_platform.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    http_port: int = 8106
