"""Composition root of the ingestion service."""

from fastapi import FastAPI

from ingestion.config import Settings
from ingestion.endpoints import router
from ingestion.handlers import subscribe
from relay_platform.service import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        service="ingestion",
        settings=Settings(),
        routers=[router],
        subscribe=subscribe,
        description="Provider webhooks, polling and backfill; one clean, deduplicated activity history.",
    )
