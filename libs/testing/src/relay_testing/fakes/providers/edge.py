"""The edge in front of every provider URL (it records each request and plays injected failures) and the
helpers that read what a request carries: its fields, its Basic credentials, its bearer token."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import cast

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from relay_testing.fakes.asgi import read_body, replay_body
from relay_testing.fakes.providers.coros_hub import SERVER_ERROR
from relay_testing.fakes.providers.dialects import COROS_HUB, DIALECTS, TARGETS, Provider, Target
from relay_testing.fakes.providers.state import Failure, ProvidersState, ReceivedRequest
from relay_testing.fakes.strava.app import DroppedConnection, parse_fields

RETRY_AFTER_SECONDS = 60


def target_of(path: str) -> tuple[Target, str] | None:
    """The provider a path belongs to and the path under its prefix: `/oura/oauth/token` ->
    (`oura`, `/oauth/token`)."""
    head, _, tail = path.removeprefix("/").partition("/")
    for target in TARGETS:
        if head == target:
            return target, f"/{tail}"
    return None


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """`client_id:client_secret` from an `Authorization: Basic ...` header."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, client_secret = decoded.partition(":")
    return (client_id, client_secret) if colon else None


class ProvidersEdge:
    """In front of every provider URL: records the request (without its Authorization header) and plays
    the next injected failure meant for it."""

    def __init__(self, app: ASGIApp, state: ProvidersState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = target_of(scope["path"]) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        target, path = found
        body = await read_body(receive)
        request = Request(scope)
        authorization = request.headers.get("authorization", "")
        basic = basic_credentials(authorization)
        self.state.record(
            ReceivedRequest(
                provider=target,
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                headers={k: v for k, v in request.headers.items() if k != "authorization"},
                fields={
                    **dict(request.query_params),
                    **parse_fields(request.headers.get("content-type", ""), body),
                },
                auth_scheme=authorization.partition(" ")[0].capitalize() or None,
                basic_client_id=basic[0] if basic else None,
                received_at=self.state.now(),
            )
        )
        failure = self.state.take_failure(
            target, path, authorization_page=_is_authorization_page(target, path)
        )
        if failure is not None and failure.mode == "slow":
            await asyncio.sleep(failure.seconds)
        elif failure is not None:
            await self._fail(failure, path, scope, receive, send)
            return
        await self.app(scope, replay_body(body, receive), send)

    async def _fail(self, failure: Failure, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        if failure.mode == "disconnect":
            start = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]}
            await send(start)
            raise DroppedConnection("the fake provider drops the connection, as asked")
        response: Response
        if failure.mode == "down":  # what the load balancer in front answers while the service is away
            response = PlainTextResponse("503 Service Temporarily Unavailable", status_code=503)
        elif failure.target == COROS_HUB:
            if failure.mode == "server_error":  # the hub fails inside HTTP 200, like its other outcomes
                response = JSONResponse(SERVER_ERROR)
            else:
                body = {"result": "5000", "message": "Too many requests", "data": None}
                response = JSONResponse(body, status_code=429)
        else:
            dialect = DIALECTS[_provider(failure.target)]
            if failure.mode == "server_error":
                error = dialect.error(path, 500, "server_error", "Internal Server Error")
                response = JSONResponse(error, status_code=500)
            else:
                error = dialect.error(path, 429, "rate_limit_exceeded", "Too Many Requests")
                response = JSONResponse(error, status_code=429)
        if failure.mode == "rate_limited":
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        await response(scope, receive, send)


def _provider(target: Target) -> Provider:
    if target == COROS_HUB:
        raise ValueError("COROS Training Hub speaks no OAuth dialect")
    return cast(Provider, target)


def _is_authorization_page(target: Target, path: str) -> bool:
    return target != COROS_HUB and path == DIALECTS[_provider(target)].authorize_path


async def request_fields(request: Request) -> dict[str, str]:
    """Query parameters overlaid by body parameters (form or JSON)."""
    return {
        **dict(request.query_params),
        **parse_fields(request.headers.get("content-type", ""), await request.body()),
    }


def request_basic(request: Request) -> tuple[str, str] | None:
    return basic_credentials(request.headers.get("authorization", ""))


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
