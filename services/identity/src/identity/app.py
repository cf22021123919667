"""Composition root of the identity service."""

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from identity import admin_endpoints, endpoints
from identity.config import Settings
from identity.handlers import subscribe
from identity.resources import open_identity
from identity.signing import SigningKeys
from relay_platform.auth import KeySource
from relay_platform.config import ServiceSettings
from relay_platform.crypto import Keyring
from relay_platform.db import create_sessionmaker
from relay_platform.service import create_service_app


def own_keys(engine: AsyncEngine, settings: ServiceSettings) -> KeySource:
    """Identity verifies tokens with the keys in its own database rather than over HTTP."""
    assert isinstance(settings, Settings)
    keyring = Keyring.parse(settings.secrets_keys.get_secret_value())
    return SigningKeys(create_sessionmaker(engine), keyring, settings.signing_key_cache_seconds).jwks


def create_app() -> FastAPI:
    return create_service_app(
        service="identity",
        settings=Settings(),
        routers=[endpoints.router, admin_endpoints.router],
        subscribe=subscribe,
        key_source=own_keys,
        resources=open_identity,
        description="Athletes (Strava login), tokens, profiles, API keys, admin accounts and roles.",
    )
