"""Settings of the identity service, read from `IDENTITY_*` environment variables."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from relay_platform.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    http_port: int = 8101
    secrets_keys: SecretStr = Field(
        description="Keyring sealing signing keys and pending Strava grants: `kid:base64(32 bytes)[,...]`; "
        "the first key seals, all open."
    )
    internal_api_token: SecretStr = Field(
        description="Bearer token of the connections service when it claims Strava grants."
    )
    strava_client_id: str = Field(description="Relay's Strava application id.")
    strava_client_secret: SecretStr
    strava_authorize_url: str = "https://www.strava.com/oauth/authorize"
    strava_token_url: str = "https://www.strava.com/oauth/token"  # noqa: S105 - a URL, not a secret
    strava_scopes: str = "read,activity:read_all,profile:read_all"
    strava_timeout_seconds: float = 10.0
    redirect_uri_prefixes: list[str] = Field(
        default=["relay://"],
        description="Where a sign-in may send Strava's code: the app's deep link (and, in development, "
        "a local page). Anything else is refused, so a code cannot be sent to a stranger.",
    )
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_days: int = 30
    login_attempt_ttl_seconds: int = 600
    strava_grant_claim_ttl_seconds: int = 86_400
    signing_key_cache_seconds: float = 30.0
    admin_session_ttl_seconds: int = 8 * 3600
    admin_max_failed_logins: int = 5
    admin_lockout_seconds: int = 900
    inactive_after_days: int = Field(default=30, description="An athlete unseen this long is `inactive`.")
