import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from relay_platform.config import ServiceSettings


class ExampleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EXAMPLE_")

    signing_key: SecretStr


GOOD_DB = "postgresql+asyncpg://relay_example:Vq93kd-long-random@db:5432/relay_example"


def test_settings_are_read_from_the_services_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_DATABASE_URL", GOOD_DB)
    monkeypatch.setenv("EXAMPLE_SIGNING_KEY", "k")
    monkeypatch.setenv("EXAMPLE_HTTP_PORT", "9001")
    monkeypatch.setenv("OTHER_HTTP_PORT", "9002")
    settings = ExampleSettings()
    assert settings.http_port == 9001
    assert settings.database_url.get_secret_value() == GOOD_DB


def test_a_missing_secret_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_DATABASE_URL", GOOD_DB)
    with pytest.raises(ValidationError, match="signing_key"):
        ExampleSettings()


@pytest.mark.parametrize("placeholder", ["changeme", "secret", "", "dev-signing-key"])
def test_production_refuses_placeholder_secrets(placeholder: str) -> None:
    with pytest.raises(ValidationError, match="placeholder secrets in production: signing_key"):
        ExampleSettings(environment="production", database_url=GOOD_DB, signing_key=placeholder)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://relay_example:relay_example@db/relay_example",
        "postgresql+asyncpg://relay_example:postgres@db/relay_example",
        "postgresql+asyncpg://relay_example@db/relay_example",
    ],
)
def test_production_refuses_a_database_password_that_is_a_placeholder(url: str) -> None:
    with pytest.raises(ValidationError, match=r"database_url \(password\)"):
        ExampleSettings(environment="production", database_url=url, signing_key="a-real-key-9f8e7d")


def test_development_accepts_local_defaults() -> None:
    settings = ExampleSettings(
        database_url="postgresql+asyncpg://relay_example:relay_example@127.0.0.1/relay_example",
        signing_key="dev",
    )
    assert settings.environment == "development"


def test_topic_names_carry_the_configured_prefix() -> None:
    settings = ExampleSettings(database_url=GOOD_DB, signing_key="k", kafka_topic_prefix="e2e.")
    assert settings.topic("relay.ingestion.events") == "e2e.relay.ingestion.events"
