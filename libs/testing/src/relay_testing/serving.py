"""Serving an ASGI app on a free port of 127.0.0.1 inside a test's event loop (fakes of providers and
of Relay's own services, reached by real HTTP from the service under test)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.types import ASGIApp


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside a test's event loop: the test runner keeps its own signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_asgi(
    app: ASGIApp, *, name: str = "fake", log_filter: logging.Filter | None = None
) -> AsyncIterator[str]:
    """Serves `app` for as long as the block lasts and yields its base URL (`http://127.0.0.1:<port>`)."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = _EmbeddedServer(config)
    if log_filter is not None:
        logging.getLogger("uvicorn.error").addFilter(log_filter)
    serving = asyncio.create_task(server.serve(), name=name)
    try:
        while not server.started:
            if serving.done():
                serving.result()  # raises why it could not start
                raise RuntimeError(f"{name} stopped before it started")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        if log_filter is not None:
            logging.getLogger("uvicorn.error").removeFilter(log_filter)
