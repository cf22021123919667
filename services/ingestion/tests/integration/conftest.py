"""The ingestion database at its latest revision and its consumers on the in-memory broker, for one test
(fixtures `sessionmaker`, `deliver` and `mentions` of relay_testing)."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from ingestion.config import Settings
from ingestion.handlers import subscribe
from relay_testing.services import ServiceUnderTest

TEST_SETTINGS = Settings(
    database_url="postgresql+asyncpg://unused@127.0.0.1:1/unused",
    strava_verify_token="relay-test-verify-token",
    connections_token="relay-test-connections-token",
    backfill_days=90,
    strava={"backfill_days": 365},
)


@pytest.fixture
def service_under_test() -> ServiceUnderTest:
    return ServiceUnderTest(
        "ingestion", Path(__file__).resolve().parents[2], subscribe, SimpleNamespace(settings=TEST_SETTINGS)
    )
