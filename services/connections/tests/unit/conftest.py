"""The provider clients' fixtures: one HTTP client, and every OAuth provider's client against the local
fake of the providers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from connections.providers import Providers
from relay_platform.http import create_http_client
from relay_testing.fakes.providers import FakeProviders

from .provider_clients import providers_on


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with create_http_client(timeout=2.0, retries=0) as client:
        yield client


@pytest.fixture
def providers(fake_providers: FakeProviders, http: httpx.AsyncClient) -> Providers:
    return providers_on(fake_providers, http)
