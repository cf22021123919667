"""One call to a provider, the same way for every client: timed, logged (provider, endpoint, method,
path, status, duration; never a query string, a body or a header, which may carry tokens), and
transport failures turned into `ProviderUnavailable`.

Retries are the HTTP client's (`relay_platform.http.create_http_client`): it retries a POST only when
nothing reached the provider or on a 429 that says when to come back, so a single-use authorization
code is never sent twice to a provider that may have consumed it."""

from __future__ import annotations

import time
from typing import Any

import httpx

from connections.providers.base import ProviderUnavailable
from relay_platform.logging import get_logger

log = get_logger(__name__)


async def send(
    http: httpx.AsyncClient,
    provider: str,
    endpoint: str,
    method: str,
    url: str,
    **request: Any,
) -> httpx.Response:
    """`http.request(method, url, **request)`, logged as `endpoint` of `provider`."""
    path = httpx.URL(url).path
    started = time.perf_counter()
    try:
        response = await http.request(method, url, **request)
    except httpx.HTTPError as exc:
        failure = "timeout" if isinstance(exc, httpx.TimeoutException) else type(exc).__name__
        log.warning(
            "provider_call_failed",
            provider=provider,
            endpoint=endpoint,
            method=method,
            path=path,
            error=failure,
            duration_ms=_since(started),
        )
        # Not chained: the transport's exception holds the request, whose URL may carry a token.
        raise ProviderUnavailable(provider, f"{endpoint} call failed ({failure})") from None
    log.info(
        "provider_call",
        provider=provider,
        endpoint=endpoint,
        method=method,
        path=path,
        status=response.status_code,
        duration_ms=_since(started),
    )
    return response


def json_body(response: httpx.Response) -> Any:
    """The answer's JSON, or None when it is not JSON (an HTML error page, an empty 204)."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def unexpected(provider: str, endpoint: str, response: httpx.Response) -> ProviderUnavailable:
    """A failure the athlete can do nothing about: the provider failing, rate-limiting Relay, or
    answering something Relay does not understand."""
    status = response.status_code
    if status == 429:
        return ProviderUnavailable(provider, f"{endpoint}: rate-limited Relay (429)", status=status)
    if status >= 500:
        return ProviderUnavailable(provider, f"{endpoint}: failed ({status})", status=status)
    return ProviderUnavailable(provider, f"{endpoint}: unexpected answer ({status})", status=status)


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
