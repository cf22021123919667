"""Composition root of the planning service."""

from fastapi import FastAPI

from planning.config import Settings
from planning.handlers import subscribe
from relay_platform.service import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        service="planning",
        settings=Settings(),
        subscribe=subscribe,
        description="Onboarding, periodized training programs, sessions, compliance and training load.",
    )
