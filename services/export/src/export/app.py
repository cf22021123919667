"""Composition root of the export service."""

from fastapi import FastAPI

from export.config import Settings
from export.endpoints import router
from export.handlers import subscribe
from export.resources import open_export, scheduled_jobs
from relay_platform.service import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        service="export",
        settings=Settings(),
        routers=(router,),
        subscribe=subscribe,
        resources=open_export,
        jobs=scheduled_jobs,
        description="Structured workouts as FIT files and Garmin workout JSON, pushed to COROS and Garmin.",
    )
