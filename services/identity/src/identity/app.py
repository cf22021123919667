"""Composition root of the identity service."""

from fastapi import FastAPI

from identity.config import Settings
from relay_platform.service import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        service="identity",
        settings=Settings(),
        description="Athletes (Strava login), tokens, profiles, API keys, admin accounts and roles.",
    )
