"""The fake Strava's HTTP surface: Strava's OAuth URLs, `GET /api/v3/athlete` and the activities of the
data API, an edge that counts requests, adds the rate-limit headers and plays injected failures, and the
test-control API under `/_fake/`."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay_testing.fakes.asgi import multipart_parts, read_body, replay_body
from relay_testing.fakes.strava.state import (
    RATE_LIMIT_EXCEEDED,
    ActivityPut,
    Consent,
    Endpoint,
    Failure,
    GrantView,
    HistoryOrder,
    RateLimits,
    ReceivedRequest,
    StravaAthlete,
    StravaError,
    StravaState,
)

CONTROL_PREFIX = "/_fake"


class DroppedConnection(Exception):
    """Raised to make the server close the connection mid-response (failure mode `disconnect`)."""


class QuietDroppedConnections(logging.Filter):
    """Keeps the intended `disconnect` failures out of uvicorn's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def parse_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The parameters of a request body: form-encoded (what Strava's clients send), multipart or JSON.
    A multipart file stands as its file name, as a browser's form would show it, not as its bytes."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}
    if media_type == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items() if v is not None}
    if media_type == "multipart/form-data":
        return {
            name: part.filename if part.filename is not None else part.content.decode(errors="replace")
            for name, part in multipart_parts(content_type, body).items()
        }
    return dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))


def endpoint_of(path: str) -> Endpoint | None:
    if path == "/oauth/authorize":
        return "authorize"
    if path == "/oauth/token":
        return "token"
    if path == "/oauth/deauthorize":
        return "deauthorize"
    if path.startswith("/api/"):
        return "api"
    return None


async def request_fields(request: Request) -> dict[str, str]:
    """Query parameters overlaid by body parameters, as Strava reads them."""
    return {
        **dict(request.query_params),
        **parse_fields(request.headers.get("content-type", ""), await request.body()),
    }


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class StravaEdge:
    """In front of every Strava URL: records the request, counts it against the application's limits,
    plays the next injected failure, refuses beyond the limits, and adds the rate-limit headers."""

    def __init__(self, app: ASGIApp, state: StravaState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = endpoint_of(scope["path"]) if scope["type"] == "http" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        request = Request(scope)
        fields = {
            **dict(request.query_params),
            **parse_fields(request.headers.get("content-type", ""), body),
        }
        self.state.record(
            ReceivedRequest(
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                headers=dict(request.headers),
                fields=fields,
                received_at=self.state.now(),
            )
        )
        # The consent page is the athlete's browser visit, not a call of the application.
        if endpoint != "authorize":
            self.state.count_request()
        refreshing = endpoint == "token" and fields.get("grant_type") == "refresh_token"
        failure = self.state.take_failure(endpoint, refreshing=refreshing)
        if failure is not None and failure.mode == "slow":
            await asyncio.sleep(failure.seconds)
        elif failure is not None:
            await self._fail(failure, scope, receive, send)
            return
        if endpoint != "authorize" and self.state.over_limit():
            await self._respond(JSONResponse(RATE_LIMIT_EXCEEDED, status_code=429), scope, receive, send)
            return
        headers = [(k.lower().encode(), v.encode()) for k, v in self.state.rate_limit_headers().items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, replay_body(body, receive), send_with_headers)

    async def _fail(self, failure: Failure, scope: Scope, receive: Receive, send: Send) -> None:
        if failure.mode == "disconnect":
            start = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]}
            await send(start)
            raise DroppedConnection("the fake Strava drops the connection, as asked")
        response: Response
        if failure.mode == "rate_limited":
            response = JSONResponse(RATE_LIMIT_EXCEEDED, status_code=429)
        elif failure.mode == "server_error":
            response = JSONResponse({"message": "Internal Server Error", "errors": []}, status_code=500)
        else:  # down: what the CDN in front of Strava answers while Strava is unreachable
            response = PlainTextResponse("503 Service Temporarily Unavailable", status_code=503)
        await self._respond(response, scope, receive, send)

    async def _respond(self, response: Response, scope: Scope, receive: Receive, send: Send) -> None:
        response.headers.update(self.state.rate_limit_headers())
        await response(scope, receive, send)


def create_app(state: StravaState) -> FastAPI:
    app = FastAPI(title="Fake Strava", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(StravaEdge, state=state)

    async def on_strava_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StravaError)
        return JSONResponse(exc.body, status_code=exc.status)

    app.add_exception_handler(StravaError, on_strava_error)

    @app.get("/oauth/authorize")
    async def authorize(request: Request) -> RedirectResponse:
        """The consent page, answered at once as the test arranged (no page is shown)."""
        return RedirectResponse(state.authorize(dict(request.query_params)), status_code=302)

    @app.post("/oauth/token")
    async def token(request: Request) -> dict[str, Any]:
        return state.exchange(await request_fields(request))

    @app.post("/oauth/deauthorize")
    async def deauthorize(request: Request) -> dict[str, Any]:
        fields = await request_fields(request)
        return state.deauthorize(fields.get("access_token") or bearer_token(request))

    @app.get("/api/v3/athlete")
    async def athlete(request: Request) -> dict[str, Any]:
        return state.athlete_of(bearer_token(request)).detail()

    @app.get("/api/v3/athlete/activities")
    async def athlete_activities(request: Request) -> JSONResponse:
        """The token's athlete's SummaryActivities (`before`, `after`, `page`, `per_page`)."""
        return JSONResponse(state.athlete_activities(bearer_token(request), dict(request.query_params)))

    @app.get("/api/v3/activities/{activity_id}")
    async def activity(request: Request, activity_id: str) -> JSONResponse:
        """A DetailedActivity (`include_all_efforts` changes nothing here: the fake has no segments)."""
        return JSONResponse(state.activity(bearer_token(request), activity_id))

    _add_control_routes(app, state)
    return app


def _add_control_routes(app: FastAPI, state: StravaState) -> None:
    @app.get(f"{CONTROL_PREFIX}/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "client_id": state.client_id}

    @app.post(f"{CONTROL_PREFIX}/consents", status_code=201)
    async def queue_consent(consent: Consent) -> Consent:
        state.queue_consent(consent)
        return consent

    @app.post(f"{CONTROL_PREFIX}/failures", status_code=201)
    async def fail_next(failure: Failure) -> Failure:
        state.add_failure(failure)
        return failure

    @app.put(f"{CONTROL_PREFIX}/rate-limits")
    async def set_rate_limits(limits: RateLimits) -> RateLimits:
        """The new limits take effect at once; the answer holds the previous ones."""
        return state.set_rate_limits(limits)

    @app.post(f"{CONTROL_PREFIX}/rate-limits/usage-reset", status_code=204)
    async def reset_usage() -> None:
        state.reset_usage()

    @app.post(f"{CONTROL_PREFIX}/clock")
    async def advance_clock(body: dict[str, float]) -> dict[str, float]:
        return {"now": state.advance_clock(body.get("advance_seconds", 0.0))}

    @app.post(f"{CONTROL_PREFIX}/grants", status_code=201)
    async def issue_grant(consent: Consent) -> dict[str, Any]:
        return state.issue_grant(consent.athlete, consent.scopes)

    @app.get(f"{CONTROL_PREFIX}/grants")
    async def grants() -> list[GrantView]:
        return state.grants()

    @app.post(f"{CONTROL_PREFIX}/athletes/{{athlete_id}}/revocation")
    async def revoke_grant(athlete_id: int) -> dict[str, bool]:
        """The athlete removes the application in their Strava settings."""
        return {"revoked": state.revoke_grant(athlete_id)}

    @app.get(f"{CONTROL_PREFIX}/athletes/default")
    async def default_athlete() -> StravaAthlete:
        return state.default_athlete

    @app.put(f"{CONTROL_PREFIX}/activities")
    async def put_activity(put: ActivityPut) -> JSONResponse:
        try:
            return JSONResponse(state.activities.put(put.athlete_id, put.payload))
        except ValueError as error:
            raise HTTPException(409, str(error)) from error

    @app.delete(f"{CONTROL_PREFIX}/activities/{{activity_id}}")
    async def remove_activity(activity_id: int) -> dict[str, bool]:
        return {"removed": state.activities.remove(activity_id)}

    @app.post(f"{CONTROL_PREFIX}/activities/history", status_code=201)
    async def add_history(order: HistoryOrder) -> dict[str, list[int]]:
        try:
            return {"ids": state.add_history(order)}
        except ValueError as error:
            raise HTTPException(409, str(error)) from error

    @app.get(f"{CONTROL_PREFIX}/athletes/{{athlete_id}}/activities")
    async def athlete_activities_held(athlete_id: int) -> JSONResponse:
        return JSONResponse([stored.detail for stored in state.activities.of(athlete_id)])

    @app.get(f"{CONTROL_PREFIX}/requests")
    async def received() -> list[ReceivedRequest]:
        return state.received

    @app.post(f"{CONTROL_PREFIX}/reset", status_code=204)
    async def reset() -> None:
        state.reset()
