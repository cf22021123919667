"""The one error envelope, `{"error": {"code", "message", "details"}}`, and the exception handlers
that make every failure leave a service in it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from relay_platform.consumers import is_transient
from relay_platform.logging import get_logger

log = get_logger(__name__)

STATUS_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


class AppError(Exception):
    """An error a client should see, with its code; raise a subclass from service code."""

    status_code = 500
    code = "internal_error"

    def __init__(
        self, message: str, *, details: dict[str, Any] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code is not None:
            self.code = code


class InvalidInput(AppError):
    status_code, code = 400, "validation_error"


class Unauthorized(AppError):
    status_code, code = 401, "unauthorized"


class Forbidden(AppError):
    status_code, code = 403, "forbidden"


class NotFound(AppError):
    status_code, code = 404, "not_found"


class Conflict(AppError):
    status_code, code = 409, "conflict"


class RateLimited(AppError):
    status_code, code = 429, "rate_limited"


class UpstreamError(AppError):
    """A provider (Strava, Garmin, ...) failed or refused; `code` names it, e.g. `strava_error`."""

    status_code, code = 502, "upstream_error"


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def _field(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(location[0] if location else "request")


async def on_app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details)


async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": _field(err.get("loc", ())),
            "reason": err.get("type", "invalid"),
            "message": err.get("msg", ""),
        }
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"field": "request", "message": "invalid"}
    message = f"Invalid {first['field']}: {first['message']}" if errors else "Invalid request"
    details: dict[str, Any] = {
        "field": first["field"],
        "reason": first.get("reason", "invalid"),
        "errors": errors,
    }
    return error_response(400, "validation_error", message, details)


async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ").capitalize()
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def on_unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", error_type=type(exc).__name__)
    return error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")


UNSTORABLE_TEXT = frozenset({"22021", "22P05"})
"""SQLSTATEs of text PostgreSQL cannot store, which only a client's input brings: a NUL character in a
text value (22021) or in JSON (22P05). Wherever it was sent, it is the request that is invalid."""


async def on_database_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if is_transient(exc):
        # The database is restarting or out of reach: nothing was done, and the same request will work
        # again shortly. Answered (not raised) so the connection to the gateway stays usable.
        log.warning("database_unavailable", error_type=type(exc.orig).__name__)
        return error_response(
            503,
            "database_unavailable",
            "The service's database is unavailable; nothing was changed, try again shortly.",
            headers={"Retry-After": "1"},
        )
    if getattr(exc.orig, "sqlstate", None) in UNSTORABLE_TEXT:
        return error_response(
            400,
            "validation_error",
            "Invalid request: text must not contain NUL characters",
            {"reason": "nul_character"},
        )
    raise exc  # any other database failure is unexpected: on_unexpected_error answers it


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(DBAPIError, on_database_error)
    app.add_exception_handler(Exception, on_unexpected_error)
