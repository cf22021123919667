"""Composition root of the planning service."""

from fastapi import FastAPI

from planning.config import Settings
from planning.endpoints import admin, load, onboarding, programs, sessions
from planning.handlers import subscribe
from planning.reviews import scheduled_jobs
from relay_platform.service import create_service_app

ROUTERS = (onboarding.router, programs.router, sessions.router, load.router, admin.router)


def create_app() -> FastAPI:
    return create_service_app(
        service="planning",
        settings=Settings(),
        routers=ROUTERS,
        subscribe=subscribe,
        jobs=scheduled_jobs,
        description="Onboarding, periodized training programs, sessions, compliance and training load.",
    )
