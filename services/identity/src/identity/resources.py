"""What the identity service holds while it runs, opened in its lifespan (no work at import time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import Request

from identity.config import Settings
from identity.metrics import LoginMetrics
from identity.signing import SigningKeys
from identity.strava import StravaOAuth
from relay_platform.auth import SessionRevocations
from relay_platform.crypto import Keyring
from relay_platform.http import create_http_client
from relay_platform.service import Runtime


@dataclass(frozen=True)
class Identity:
    settings: Settings
    keyring: Keyring
    signing: SigningKeys
    strava: StravaOAuth
    revocations: SessionRevocations
    logins: LoginMetrics


@asynccontextmanager
async def open_identity(runtime: Runtime) -> AsyncIterator[Identity]:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    keyring = Keyring.parse(settings.secrets_keys.get_secret_value())
    signing = SigningKeys(runtime.sessionmaker, keyring, settings.signing_key_cache_seconds)
    await signing.ensure_one()
    # No retries: an authorization code is single-use, so a retried exchange could only fail.
    async with create_http_client(timeout=settings.strava_timeout_seconds, retries=0) as client:
        yield Identity(
            settings=settings,
            keyring=keyring,
            signing=signing,
            strava=StravaOAuth(
                client,
                client_id=settings.strava_client_id,
                client_secret=settings.strava_client_secret.get_secret_value(),
                authorize_url=settings.strava_authorize_url,
                token_url=settings.strava_token_url,
                scopes=settings.strava_scopes,
            ),
            revocations=runtime.revocations,
            logins=LoginMetrics(runtime.metrics.registry),
        )


def identity_of(request: Request) -> Identity:
    identity: Identity = request.app.state.runtime.resources
    return identity
