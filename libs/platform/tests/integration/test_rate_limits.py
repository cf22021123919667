"""Rate limits on the real Redis, seen from a client of a small API that uses the kit's middleware."""

import hashlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from relay_platform import ratelimit
from relay_platform.auth import AccessTokenVerifier, CurrentAthlete
from relay_platform.config import ServiceSettings
from relay_platform.errors import install_error_handlers
from relay_platform.metrics import PlatformMetrics
from relay_platform.ratelimit import RateLimiter, RateLimitMiddleware
from relay_testing.plugin import Infrastructure

pytestmark = pytest.mark.integration

SignAccessToken = Callable[..., str]  # the `sign_access_token` fixture of conftest.py

SETTINGS = ServiceSettings(
    database_url="postgresql+asyncpg://relay:unused@127.0.0.1/unused",
    rate_limit_api_per_minute=5,
    rate_limit_webhook_per_minute=7,
    rate_limit_admin_per_minute=3,
)  # the auth class keeps its default, 10 per minute
LIMIT_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


@dataclass
class Api:
    app: FastAPI
    metrics: PlatformMetrics
    reached: list[str]  # paths the endpoints were called for

    def client(self, ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(ip, 1234))
        return httpx.AsyncClient(transport=transport, base_url="http://relay")

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


def build_api(limiter: RateLimiter, verifier: AccessTokenVerifier) -> Api:
    app = FastAPI()
    install_error_handlers(app)
    metrics = PlatformMetrics(CollectorRegistry())
    app.add_middleware(RateLimitMiddleware, metrics=metrics)
    app.state.runtime = SimpleNamespace(rate_limiter=limiter, auth=verifier)
    reached: list[str] = []

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/api/me")
    async def me(athlete: CurrentAthlete) -> dict[str, str]:
        reached.append("/api/me")
        return {"athlete": athlete.sub}

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def anything(path: str) -> dict[str, str]:
        reached.append(f"/{path}")
        return {"path": path}

    return Api(app, metrics, reached)


class FrozenClock:
    """Stands in for the `time` module in relay_platform.ratelimit: the middle of the current minute, so
    a test's requests never straddle two windows."""

    def __init__(self) -> None:
        self.now = int(time.time()) // 60 * 60 + 30.0

    def time(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    clock = FrozenClock()
    monkeypatch.setattr(ratelimit, "time", clock)
    return clock


class Principals:
    """Client addresses, athletes and admin sessions that no other test (nor another run of this one)
    counts against; their counters are deleted afterwards rather than left to expire."""

    def __init__(self) -> None:
        self.run = uuid.uuid4().hex[:12]
        self.counted_as: list[str] = []

    def ip(self) -> str:
        n = uuid.uuid4().int
        ip = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        self.counted_as.append(f"ip:{ip}")
        return ip

    def athlete(self, name: str) -> str:
        sub = f"{name}-{self.run}"
        self.counted_as.append(f"athlete:{sub}")
        return sub

    def admin_session(self, name: str) -> str:
        cookie = f"{name}-{self.run}"
        self.counted_as.append(f"admin:{hashlib.sha256(cookie.encode()).hexdigest()[:32]}")
        return cookie

    async def forget(self, redis: Redis) -> None:
        for principal in self.counted_as:
            keys = [key async for key in redis.scan_iter(match=f"relay:ratelimit:*:{principal}:*")]
            if keys:
                await redis.delete(*keys)


@pytest.fixture
async def principals(redis: Redis) -> AsyncIterator[Principals]:
    principals = Principals()
    yield principals
    await principals.forget(redis)


@pytest.fixture
def client_ip(principals: Principals) -> str:
    return principals.ip()


@pytest.fixture
def api(redis: Redis, verifier: AccessTokenVerifier) -> Api:
    return build_api(RateLimiter(redis, SETTINGS), verifier)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_every_limited_response_carries_limit_remaining_and_reset(
    api: Api, client_ip: str, clock: FrozenClock
) -> None:
    async with api.client(client_ip) as client:
        response = await client.get("/api/activities")
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Limit"] == "5"
    assert response.headers["X-RateLimit-Remaining"] == "4"
    reset = int(response.headers["X-RateLimit-Reset"])
    assert reset % 60 == 0
    assert 0 < reset - clock.now <= 60


async def test_remaining_goes_down_by_one_per_request(api: Api, client_ip: str) -> None:
    async with api.client(client_ip) as client:
        responses = [await client.get("/api/activities") for _ in range(5)]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["4", "3", "2", "1", "0"]
    assert {r.status_code for r in responses} == {200}
    assert len({r.headers["X-RateLimit-Reset"] for r in responses}) == 1


async def test_the_request_over_the_limit_gets_429_rate_limited_with_retry_after(
    api: Api, client_ip: str, clock: FrozenClock
) -> None:
    async with api.client(client_ip) as client:
        for _ in range(5):
            assert (await client.get("/api/activities")).status_code == 200
        refused = await client.get("/api/activities")

    assert refused.status_code == 429
    reset = int(clock.now) // 60 * 60 + 60
    assert refused.json() == {
        "error": {
            "code": "rate_limited",
            "message": "Too many requests: 5 per minute",
            "details": {"limit": 5, "reset": reset},
        }
    }
    assert refused.headers["Retry-After"] == "30"
    assert refused.headers["X-RateLimit-Limit"] == "5"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Reset"] == str(reset)


async def test_a_refused_request_never_reaches_the_endpoint_and_is_counted(api: Api, client_ip: str) -> None:
    async with api.client(client_ip) as client:
        statuses = [(await client.post("/api/plans")).status_code for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3
    assert api.reached == ["/api/plans"] * 5
    assert api.sample("relay_rate_limited_total", limit="api") == 3


async def test_the_budget_comes_back_in_the_next_minute(api: Api, client_ip: str, clock: FrozenClock) -> None:
    async with api.client(client_ip) as client:
        for _ in range(5):
            await client.get("/api/activities")
        assert (await client.get("/api/activities")).status_code == 429
        clock.now += 60
        response = await client.get("/api/activities")

    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "4"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/auth/strava", 10),
        ("/api/auth/refresh", 10),
        ("/api/admin/auth/login", 10),
        ("/api/webhook/strava", 7),
        ("/api/webhooks/garmin", 7),
        ("/api/admin/athletes", 3),
        ("/api/activities", 5),
    ],
)
async def test_each_class_allows_its_own_number_of_requests_per_minute(
    api: Api, client_ip: str, path: str, allowed: int
) -> None:
    async with api.client(client_ip) as client:
        responses = [await client.post(path) for _ in range(allowed + 1)]
    assert [r.status_code for r in responses] == [200] * allowed + [429]
    assert {r.headers["X-RateLimit-Limit"] for r in responses} == {str(allowed)}


async def test_sign_in_endpoints_allow_ten_per_minute_by_default(
    redis: Redis, verifier: AccessTokenVerifier, client_ip: str
) -> None:
    defaults = ServiceSettings(database_url="postgresql+asyncpg://relay:unused@127.0.0.1/unused")
    api = build_api(RateLimiter(redis, defaults), verifier)
    async with api.client(client_ip) as client:
        statuses = [(await client.get("/api/auth/strava")).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]


async def test_the_classes_have_separate_budgets(api: Api, client_ip: str) -> None:
    async with api.client(client_ip) as client:
        for _ in range(5):
            await client.get("/api/activities")
        assert (await client.get("/api/activities")).status_code == 429
        webhook = await client.post("/api/webhook/strava")
        sign_in = await client.get("/api/auth/strava")
    assert webhook.status_code == 200
    assert webhook.headers["X-RateLimit-Remaining"] == "6"
    assert sign_in.status_code == 200
    assert sign_in.headers["X-RateLimit-Remaining"] == "9"


async def test_two_athletes_behind_one_address_have_separate_budgets(
    api: Api, client_ip: str, principals: Principals, sign_access_token: SignAccessToken
) -> None:
    alice = bearer(sign_access_token(principals.athlete("alice")))
    bob_id = principals.athlete("bob")
    bob = bearer(sign_access_token(bob_id))
    async with api.client(client_ip) as client:
        alice_statuses = [(await client.get("/api/me", headers=alice)).status_code for _ in range(6)]
        bob_response = await client.get("/api/me", headers=bob)
        anonymous = await client.get("/api/activities")

    assert alice_statuses == [200] * 5 + [429]
    assert bob_response.status_code == 200
    assert bob_response.json() == {"athlete": bob_id}
    assert bob_response.headers["X-RateLimit-Remaining"] == "4"
    assert anonymous.status_code == 200
    assert anonymous.headers["X-RateLimit-Remaining"] == "4"


async def test_an_athlete_keeps_their_budget_from_any_address(
    api: Api, principals: Principals, sign_access_token: SignAccessToken
) -> None:
    alice = bearer(sign_access_token(principals.athlete("alice")))
    remaining = []
    for _ in range(3):
        async with api.client(principals.ip()) as client:
            remaining.append((await client.get("/api/me", headers=alice)).headers["X-RateLimit-Remaining"])
    assert remaining == ["4", "3", "2"]


async def test_anonymous_requests_count_per_address(api: Api, principals: Principals) -> None:
    first_ip, second_ip = principals.ip(), principals.ip()
    async with api.client(first_ip) as first, api.client(second_ip) as second:
        for _ in range(5):
            await first.get("/api/activities")
        assert (await first.get("/api/activities")).status_code == 429
        other = await second.get("/api/activities")
    assert other.status_code == 200
    assert other.headers["X-RateLimit-Remaining"] == "4"


async def test_a_request_with_an_invalid_token_counts_against_its_address_and_gets_401(
    api: Api, client_ip: str
) -> None:
    async with api.client(client_ip) as client:
        forged = await client.get("/api/me", headers=bearer("not.a.token"))
        anonymous = await client.get("/api/activities")
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "unauthorized"
    assert forged.headers["X-RateLimit-Remaining"] == "4"
    assert anonymous.headers["X-RateLimit-Remaining"] == "3"


async def test_the_limiter_and_the_endpoint_verify_a_token_once(
    api: Api,
    client_ip: str,
    principals: Principals,
    sign_access_token: SignAccessToken,
    verifier: AccessTokenVerifier,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verified: list[str] = []
    verify = verifier.verify

    async def counting_verify(token: str) -> object:
        verified.append(token)
        return await verify(token)

    monkeypatch.setattr(verifier, "verify", counting_verify)
    async with api.client(client_ip) as client:
        response = await client.get("/api/me", headers=bearer(sign_access_token(principals.athlete("alice"))))
    assert response.status_code == 200
    assert len(verified) == 1


async def test_operators_with_different_admin_sessions_have_separate_budgets(
    api: Api, client_ip: str, principals: Principals
) -> None:
    one, two = principals.admin_session("one"), principals.admin_session("two")
    async with api.client(client_ip) as client:
        client.cookies.set("admin_session", one)
        first = [(await client.get("/api/admin/athletes")).status_code for _ in range(4)]
        client.cookies.set("admin_session", two)
        second = await client.get("/api/admin/athletes")
        client.cookies.clear()
        without_session = await client.get("/api/admin/athletes")
    assert first == [200] * 3 + [429]
    assert second.headers["X-RateLimit-Remaining"] == "2"
    assert without_session.headers["X-RateLimit-Remaining"] == "2"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_operational_endpoints_are_not_limited(api: Api, client_ip: str, path: str) -> None:
    async with api.client(client_ip) as client:
        responses = [await client.get(path) for _ in range(12)]
    assert {r.status_code for r in responses} == {200}
    for response in responses:
        assert not any(header in response.headers for header in LIMIT_HEADERS)


async def test_two_replicas_share_one_budget(
    infrastructure: Infrastructure, verifier: AccessTokenVerifier, client_ip: str
) -> None:
    first_redis = Redis.from_url(infrastructure.redis_url)
    second_redis = Redis.from_url(infrastructure.redis_url)
    try:
        first = build_api(RateLimiter(first_redis, SETTINGS), verifier)
        second = build_api(RateLimiter(second_redis, SETTINGS), verifier)
        async with first.client(client_ip) as to_first, second.client(client_ip) as to_second:
            responses = []
            for replica in [to_first, to_second, to_first, to_second, to_first, to_second, to_first]:
                responses.append(await replica.get("/api/activities"))
    finally:
        await first_redis.aclose()
        await second_redis.aclose()

    assert [r.status_code for r in responses] == [200] * 5 + [429] * 2
    assert [r.headers["X-RateLimit-Remaining"] for r in responses[:5]] == ["4", "3", "2", "1", "0"]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_when_redis_does_not_answer_requests_pass_and_are_counted(
    verifier: AccessTokenVerifier, client_ip: str, principals: Principals, sign_access_token: SignAccessToken
) -> None:
    unreachable = Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0", socket_connect_timeout=0.5)
    api = build_api(RateLimiter(unreachable, SETTINGS), verifier)
    try:
        async with api.client(client_ip) as client:
            anonymous = [await client.get("/api/activities") for _ in range(8)]
            alice = bearer(sign_access_token(principals.athlete("alice")))
            athlete = await client.get("/api/me", headers=alice)
    finally:
        await unreachable.aclose()

    assert [r.status_code for r in anonymous] == [200] * 8
    assert athlete.status_code == 200
    for response in [*anonymous, athlete]:
        assert not any(header in response.headers for header in LIMIT_HEADERS)
    assert api.sample("relay_rate_limiter_unavailable_total") == 9
    assert api.sample("relay_rate_limited_total", limit="api") == 0
