"""Composition root of the ingestion service."""

from fastapi import FastAPI

from ingestion.config import Settings
from ingestion.endpoints import routers
from ingestion.handlers import subscribe
from ingestion.resources import open_ingestion, scheduled_jobs
from relay_platform.service import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        service="ingestion",
        settings=Settings(),
        routers=routers,
        subscribe=subscribe,
        resources=open_ingestion,
        jobs=scheduled_jobs,
        description="Provider webhooks, polling and backfill; one clean, deduplicated activity history.",
    )
