"""Composition root of the planning service."""

from fastapi import FastAPI

from planning.config import Settings
from planning.endpoints import onboarding, programs, sessions
from planning.handlers import subscribe
from relay_platform.service import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        service="planning",
        settings=Settings(),
        routers=[onboarding.router, programs.router, sessions.router],
        subscribe=subscribe,
        description="Onboarding, periodized training programs, sessions, compliance and training load.",
    )
