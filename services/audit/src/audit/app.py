"""Composition root of the audit service."""

from fastapi import FastAPI

from audit.config import Settings
from audit.handlers import subscribe
from relay_platform.service import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        service="audit",
        settings=Settings(),
        subscribe=subscribe,
        description="An append-only, queryable record of everything that happened in Relay.",
    )
