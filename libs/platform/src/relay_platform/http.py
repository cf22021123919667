"""Outbound HTTP clients (providers, other services): timeouts always, retries on transient failures
that honour `Retry-After`, and trace context propagated by the httpx instrumentation."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds, whether given as a number or as an HTTP date."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class RetryingTransport(httpx.AsyncBaseTransport):
    """Retries connection errors and 429/502/503/504 for idempotent requests (and for any request
    whose 429 says when to come back), waiting `Retry-After` when given, else exponential backoff
    with jitter. A wait longer than `max_wait` is not slept: the response is returned to the caller."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        retries: int = 3,
        backoff: float = 0.2,
        max_wait: float = 30.0,
    ) -> None:
        self._inner = inner or httpx.AsyncHTTPTransport()
        self._retries = retries
        self._backoff = backoff
        self._max_wait = max_wait

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            idempotent = request.method in IDEMPOTENT_METHODS
            try:
                response = await self._inner.handle_async_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                # Nothing reached the server: safe to retry whatever the method.
                if attempt > self._retries:
                    raise
                await asyncio.sleep(self._delay(attempt))
                continue
            if response.status_code not in RETRYABLE_STATUS or attempt > self._retries:
                return response
            wait = retry_after_seconds(response)
            if not idempotent and not (response.status_code == 429 and wait is not None):
                return response
            delay = wait if wait is not None else self._delay(attempt)
            if delay > self._max_wait:
                return response
            await response.aclose()
            await asyncio.sleep(delay)

    def _delay(self, attempt: int) -> float:
        return float(self._backoff * 2 ** (attempt - 1) * (0.5 + random.random()))

    async def aclose(self) -> None:
        await self._inner.aclose()


def create_http_client(
    base_url: str = "",
    *,
    timeout: float = 10.0,
    connect_timeout: float = 3.0,
    retries: int = 3,
    max_wait: float = 30.0,
    headers: dict[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        headers=headers,
        transport=RetryingTransport(transport, retries=retries, max_wait=max_wait),
    )
