"""Composition root of the audit service."""

from fastapi import FastAPI

from audit.config import Settings
from audit.endpoints import dead_letters, jobs, trail
from audit.handlers import subscribe
from audit.maintenance import scheduled_jobs
from relay_platform.service import create_service_app

ROUTERS = (trail.router, jobs.router, dead_letters.router)


def create_app() -> FastAPI:
    return create_service_app(
        service="audit",
        settings=Settings(),
        routers=ROUTERS,
        subscribe=subscribe,
        jobs=scheduled_jobs,
        description="An append-only, queryable record of everything that happened in Relay.",
    )
