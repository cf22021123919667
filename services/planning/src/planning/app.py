"""Composition root of the planning service."""

from fastapi import FastAPI

from planning.config import Settings
from relay_platform.service import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        service="planning",
        settings=Settings(),
        description="Onboarding, periodized training programs, sessions, compliance and training load.",
    )
