"""Composition root of the export service."""

from fastapi import FastAPI

from export.config import Settings
from export.handlers import subscribe
from relay_platform.service import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        service="export",
        settings=Settings(),
        subscribe=subscribe,
        description="Structured workouts as FIT files and Garmin workout JSON, pushed to COROS and Garmin.",
    )
