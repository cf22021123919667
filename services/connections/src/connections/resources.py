"""What the connections service holds while it runs, opened in its lifespan (no work at import time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from connections.config import Settings
from connections.identity_client import IdentityClient
from connections.service import StravaGrants
from relay_platform.crypto import Keyring
from relay_platform.http import create_http_client
from relay_platform.service import Runtime


@dataclass(frozen=True)
class Connections:
    keyring: Keyring
    strava_grants: StravaGrants


@asynccontextmanager
async def open_connections(runtime: Runtime) -> AsyncIterator[Connections]:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    # A malformed keyring stops the service here, at start, and the error names no key material.
    keyring = Keyring.parse(settings.token_keys.get_secret_value())
    async with create_http_client(
        settings.identity_url, timeout=settings.identity_timeout_seconds, retries=2
    ) as http:
        yield Connections(
            keyring=keyring, strava_grants=IdentityClient(http, settings.identity_internal_token)
        )


def connections_of(runtime: Runtime) -> Connections:
    connections: Connections = runtime.resources
    return connections
