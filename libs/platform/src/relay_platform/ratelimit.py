"""Rate limits shared by every replica of every service (seed 001, "Rate Limiting").

Each request of the public API falls in one class: sign-in endpoints (`auth`), provider and bridge
webhooks (`webhook`), the back office (`admin`) and everything else under `/api/` (`api`). A class allows
so many requests per minute to one principal: the athlete of a valid access token, the operator of an
admin session, or else the client's IP. Counters are fixed one-minute windows in Redis, so the limits
hold across replicas. Every limited response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (epoch seconds); a request over the limit gets 429 `rate_limited` and `Retry-After`.
When Redis does not answer, requests pass (and a metric counts them): a limiter outage must not become
an outage of the API.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from fastapi import Request
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay_platform.auth import authenticated_athlete, bearer_token
from relay_platform.config import ServiceSettings
from relay_platform.errors import AppError, error_body
from relay_platform.logging import get_logger
from relay_platform.metrics import PlatformMetrics

log = get_logger(__name__)

WINDOW_SECONDS = 60
AUTH_PATHS = frozenset(
    {"/api/auth/strava", "/api/auth/strava/callback", "/api/auth/refresh", "/api/admin/auth/login"}
)
WEBHOOK_PREFIXES = ("/api/webhook/", "/api/webhooks/")
LIMIT_CLASSES = ("auth", "webhook", "admin", "api")

# INCR and set the expiry of a new window in one step, so a window never outlives its minute.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


@dataclass(frozen=True)
class Decision:
    limit: int
    remaining: int
    reset: int
    allowed: bool

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(self.reset).encode()),
        ]


def limit_class(path: str) -> str | None:
    if path in AUTH_PATHS:
        return "auth"
    if path.startswith(WEBHOOK_PREFIXES):
        return "webhook"
    if path == "/api/admin" or path.startswith("/api/admin/"):
        return "admin"
    if path.startswith("/api/"):
        return "api"
    return None


class RateLimiter:
    def __init__(self, redis: Redis, settings: ServiceSettings) -> None:
        self._redis = redis
        self._hit = redis.register_script(_HIT)
        self.limits = {
            "auth": settings.rate_limit_auth_per_minute,
            "api": settings.rate_limit_api_per_minute,
            "webhook": settings.rate_limit_webhook_per_minute,
            "admin": settings.rate_limit_admin_per_minute,
        }

    async def hit(self, limit: str, principal: str, *, now: float | None = None) -> Decision:
        now = time.time() if now is None else now
        window = int(now) // WINDOW_SECONDS * WINDOW_SECONDS
        key = f"relay:ratelimit:{limit}:{principal}:{window}"
        count = int(await self._hit(keys=[key], args=[WINDOW_SECONDS + 5]))
        allowed_per_minute = self.limits[limit]
        return Decision(
            limit=allowed_per_minute,
            remaining=max(0, allowed_per_minute - count),
            reset=window + WINDOW_SECONDS,
            allowed=count <= allowed_per_minute,
        )


async def principal_of(request: Request, limit: str) -> str:
    """Who a request counts against: the athlete of a valid token, an admin session, or the client IP."""
    if limit == "api" and bearer_token(request) is not None:
        try:
            return f"athlete:{(await authenticated_athlete(request)).sub}"
        except AppError:
            pass  # the endpoint answers 401; until then the request counts against its IP
    if limit == "admin" and (session := request.cookies.get("admin_session")):
        return f"admin:{hashlib.sha256(session.encode()).hexdigest()[:32]}"
    return f"ip:{request.client.host if request.client else 'unknown'}"


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, metrics: PlatformMetrics) -> None:
        self.app = app
        self.metrics = metrics
        for limit in LIMIT_CLASSES:  # 0 rather than missing until the first refusal
            metrics.rate_limited.labels(limit=limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = limit_class(scope["path"]) if scope["type"] == "http" else None
        limiter: RateLimiter | None = None
        if limit is not None:
            runtime = getattr(scope["app"].state, "runtime", None)
            limiter = getattr(runtime, "rate_limiter", None)
        if limit is None or limiter is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            decision = await limiter.hit(limit, await principal_of(request, limit))
        except RedisError as exc:
            self.metrics.rate_limiter_unavailable.inc()
            log.warning("rate_limiter_unavailable", error=str(exc))
            await self.app(scope, receive, send)
            return
        if not decision.allowed:
            self.metrics.rate_limited.labels(limit=limit).inc()
            response = JSONResponse(
                error_body(
                    "rate_limited",
                    f"Too many requests: {decision.limit} per minute",
                    {"limit": decision.limit, "reset": decision.reset},
                ),
                status_code=429,
                headers={"Retry-After": str(max(1, decision.reset - int(time.time())))},
            )
            response.raw_headers.extend(decision.headers())
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *decision.headers()]
            await send(message)

        await self.app(scope, receive, send_with_headers)
