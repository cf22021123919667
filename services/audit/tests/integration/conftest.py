"""The audit database at its latest revision and its trail consumer on the in-memory broker,
for one test (fixtures `sessionmaker`, `deliver` and `mentions` of relay_testing)."""

from pathlib import Path

import pytest

from audit.handlers import subscribe
from relay_testing.services import ServiceUnderTest


@pytest.fixture
def service_under_test() -> ServiceUnderTest:
    return ServiceUnderTest("audit", Path(__file__).resolve().parents[2], subscribe)
