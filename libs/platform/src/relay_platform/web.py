"""The request middleware every service runs: request id, log context, one log line and metrics per
request; and what endpoints read of the running service (`TopicPrefix`)."""

from __future__ import annotations

import time
import uuid
from typing import Annotated

import structlog
from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay_platform.logging import get_logger
from relay_platform.metrics import PlatformMetrics

log = get_logger("relay.http")


def _topic_prefix(request: Request) -> str:
    prefix: str = request.app.state.runtime.settings.kafka_topic_prefix
    return prefix


TopicPrefix = Annotated[str, Depends(_topic_prefix)]
"""The running service's topic prefix, for the events an endpoint stages."""
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: PlatformMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:128] or uuid.uuid4().hex
        status = 500
        started = time.perf_counter()

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.http_requests.labels(method=method, route=template, status=str(status)).inc()
            self.metrics.http_duration.labels(method=method, route=template).observe(elapsed)
            if scope["path"] not in QUIET_PATHS:
                log.info(
                    "request_handled",
                    method=method,
                    path=scope["path"],
                    route=template,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            structlog.contextvars.clear_contextvars()
