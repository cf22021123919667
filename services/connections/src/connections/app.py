"""Composition root of the connections service."""

from fastapi import FastAPI

from connections import endpoints
from connections.config import Settings
from connections.handlers import subscribe
from connections.jobs import scheduled_jobs
from connections.resources import open_connections
from relay_platform.service import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        service="connections",
        settings=Settings(),
        routers=[endpoints.router, endpoints.internal],
        subscribe=subscribe,
        resources=open_connections,
        jobs=scheduled_jobs,
        description="The athlete's links to providers: OAuth flows, encrypted tokens, refresh, sync history.",
    )
