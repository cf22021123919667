"""Settings shared by every service. Each service subclasses `ServiceSettings` with its own env prefix
(`IDENTITY_`, `INGESTION_`, ...) and fails fast on missing or placeholder secrets outside development."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "changethis",
        "secret",
        "password",
        "postgres",
        "test",
        "dev",
        "development",
        "example",
        "xxx",
        "todo",
    }
)


def is_placeholder(value: str, *, also: tuple[str, ...] = ()) -> bool:
    lowered = value.strip().lower()
    return lowered in PLACEHOLDER_SECRETS or lowered in also or lowered.startswith(("dev-", "insecure"))


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    environment: Literal["development", "test", "production"] = "development"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    forwarded_allow_ips: str = Field(
        default="127.0.0.1", description="Proxies whose X-Forwarded-* headers are trusted (the gateway)."
    )
    database_url: SecretStr = Field(description="postgresql+asyncpg://user:password@host:port/db")
    database_pool_size: int = 10
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    kafka_topic_prefix: str = Field(default="", description="Prefix of every topic and consumer group name.")
    redis_url: str = "redis://127.0.0.1:16379/0"
    auth_jwks_url: str = Field(
        default="http://127.0.0.1:8101/.well-known/jwks.json",
        description="Identity's public signing keys, used to verify athletes' access tokens.",
    )
    auth_issuer: str = "relay-identity"
    auth_audience: str = "relay-api"
    auth_admin_audience: str = "relay-admin"
    rate_limit_enabled: bool = True
    rate_limit_auth_per_minute: int = 10
    rate_limit_api_per_minute: int = 100
    rate_limit_webhook_per_minute: int = 1000
    rate_limit_admin_per_minute: int = 200
    log_level: str = "INFO"
    otel_traces_exporter: Literal["none", "console", "otlp"] = "none"
    otel_exporter_otlp_endpoint: str = "http://127.0.0.1:4318"
    outbox_poll_interval_seconds: float = 1.0
    outbox_batch_size: int = 500
    outbox_linger_seconds: float = 0.01
    consumer_max_attempts: int = 5
    consumer_max_poll_records: int = Field(
        default=100,
        ge=1,
        description="Records a consumer takes from one poll and applies in one transaction.",
    )
    consumer_retry_backoff_seconds: float = 0.2
    consumer_lag_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often the lag of the service's consumer groups is measured for its metrics.",
    )
    shutdown_grace_seconds: float = 15.0
    jobs_enabled: bool = Field(
        default=True,
        description="Whether this process runs its scheduled jobs on their schedule (and its loops).",
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.environment == "development":
            return self
        problems = [
            name
            for name, value in self
            if isinstance(value, SecretStr)
            and name != "database_url"
            and is_placeholder(value.get_secret_value())
        ]
        db = urlsplit(self.database_url.get_secret_value())
        if not db.password or is_placeholder(db.password, also=((db.username or "").lower(),)):
            problems.append("database_url (password)")
        if problems:
            raise ValueError(
                f"missing or placeholder secrets in {self.environment}: {', '.join(sorted(problems))}"
            )
        return self

    def topic(self, name: str) -> str:
        return f"{self.kafka_topic_prefix}{name}"


def database_url_for_migrations(settings_class: type[ServiceSettings]) -> str:
    """Only the database URL of a service's settings: migrating needs none of its other secrets."""

    class DatabaseOnly(BaseSettings):
        model_config = SettingsConfigDict(
            env_prefix=settings_class.model_config.get("env_prefix", ""), extra="ignore"
        )

        database_url: SecretStr

    return DatabaseOnly().database_url.get_secret_value()
