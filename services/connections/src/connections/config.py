"""Settings of the connections service, read from `CONNECTIONS_*` environment variables."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from relay_platform.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONNECTIONS_", extra="ignore")

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
