"""The provider readers' fixtures: the fake providers in the test's process, a client on them, and a
budget that counts the requests made. A module may serve another fake as `fake` (one with an `app`):
`client` reaches whichever it is."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from relay_testing.fakes.providers import FakeProviders
from relay_testing.fakes.strava import FakeStrava

from .reading_fakes import CountingBudget


@pytest.fixture
def fake() -> FakeProviders:
    return FakeProviders()


@pytest.fixture
async def client(fake: FakeProviders | FakeStrava) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as client:
        yield client


@pytest.fixture
def budget() -> CountingBudget:
    return CountingBudget()
