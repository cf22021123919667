"""Composition root of the connections service."""

from fastapi import FastAPI

from connections.config import Settings
from connections.handlers import subscribe
from relay_platform.service import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        service="connections",
        settings=Settings(),
        subscribe=subscribe,
        description="The athlete's links to providers: OAuth flows, encrypted tokens, refresh, sync history.",
    )
