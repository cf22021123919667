"""Runs a service under uvicorn with Relay's logging and graceful shutdown."""

from __future__ import annotations

import uvicorn

from relay_platform.config import ServiceSettings


def serve(app_factory: str, settings: ServiceSettings) -> None:
    """`app_factory` is `"<package>.app:create_app"`; the app is built inside the server process."""
    uvicorn.run(
        app_factory,
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        # Longer than the gateway keeps an idle connection to a service (nginx: 60 s). Were the service
        # to close it first, the gateway could send a request on it as it closes, and answer 502.
        timeout_keep_alive=75,
        lifespan="on",
    )
