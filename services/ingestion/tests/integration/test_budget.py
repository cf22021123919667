"""The providers' request budget, shared through a real Redis: never more requests than a window
allows, whatever the number of workers; backfills leave room to live notifications; the provider's
own count and its 429s are heeded."""

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from redis.asyncio import Redis

from ingestion.budget import RedisBudget, Window, parse_limits
from ingestion.providers.base import RateLimited
from relay_testing.plugin import Infrastructure

pytestmark = pytest.mark.integration

STRAVA = "200/15m,2000/1d;read:100/15m,1000/1d"


@pytest.fixture
async def redis(infrastructure: Infrastructure) -> AsyncIterator[Redis]:
    client = Redis.from_url(infrastructure.redis_url)
    yield client
    await client.aclose()


def budget(redis: Redis, spec: str, *, reserve: int = 20) -> RedisBudget:
    return RedisBudget(
        redis,
        {"strava": parse_limits(spec)},
        live_reserve_percent=reserve,
        namespace=f"test-{secrets.token_hex(4)}:",
    )


def test_limits_are_read_as_strava_documents_them() -> None:
    assert parse_limits(STRAVA) == [
        Window(900, 200, "all"),
        Window(86400, 2000, "all"),
        Window(900, 100, "read"),
        Window(86400, 1000, "read"),
    ]
    with pytest.raises(ValueError, match="invalid rate limit"):
        parse_limits("200 per minute")


async def test_many_workers_at_once_never_exceed_the_read_window(redis: Redis) -> None:
    shared = budget(redis, STRAVA, reserve=0)
    granted = 0

    async def one_worker() -> None:
        nonlocal granted
        for _ in range(10):
            try:
                await shared.acquire("strava", "read", "live")
            except RateLimited:
                continue
            granted += 1

    await asyncio.gather(*(one_worker() for _ in range(25)))

    assert granted == 100


async def test_a_refusal_says_when_the_window_reopens_on_the_quarter_hour(redis: Redis) -> None:
    shared = budget(redis, "2/15m", reserve=0)
    await shared.acquire("strava", "read", "live")
    await shared.acquire("strava", "read", "live")

    with pytest.raises(RateLimited) as refused:
        await shared.acquire("strava", "read", "live")

    reopens = refused.value.retry_at
    assert reopens.minute % 15 == 0 and reopens.second == 0
    assert 0 < (reopens - datetime.now(UTC)).total_seconds() <= 900


async def test_backfills_leave_a_share_of_the_window_to_live_notifications(redis: Redis) -> None:
    shared = budget(redis, "10/15m", reserve=20)
    backfill = 0
    while True:
        try:
            await shared.acquire("strava", "read", "backfill")
        except RateLimited:
            break
        backfill += 1

    await shared.acquire("strava", "read", "live")
    await shared.acquire("strava", "read", "live")

    assert backfill == 8
    with pytest.raises(RateLimited):
        await shared.acquire("strava", "read", "live")


async def test_the_providers_own_count_raises_relays(redis: Redis) -> None:
    shared = budget(redis, STRAVA, reserve=0)
    answer = httpx.Response(
        200,
        headers={
            "X-RateLimit-Limit": "200,2000",
            "X-RateLimit-Usage": "199,1500",
            "X-ReadRateLimit-Limit": "100,1000",
            "X-ReadRateLimit-Usage": "99,700",
        },
    )
    await shared.observe("strava", answer)

    await shared.acquire("strava", "read", "live")
    with pytest.raises(RateLimited):
        await shared.acquire("strava", "read", "live")


async def test_a_429_closes_the_budget_until_retry_after(redis: Redis) -> None:
    shared = budget(redis, STRAVA)
    await shared.observe("strava", httpx.Response(429, headers={"Retry-After": "120"}))

    with pytest.raises(RateLimited) as refused:
        await shared.acquire("strava", "read", "live")

    assert 100 < (refused.value.retry_at - datetime.now(UTC)).total_seconds() <= 120


async def test_a_429_without_retry_after_closes_the_budget_until_its_shortest_window_ends(
    redis: Redis,
) -> None:
    shared = budget(redis, "1000/1m,10000/1d")
    reopens = await shared.observe("strava", httpx.Response(429))

    with pytest.raises(RateLimited) as refused:
        await shared.acquire("strava", "read", "live")

    assert reopens is not None and reopens.second == 0
    assert 0 < (reopens - datetime.now(UTC)).total_seconds() <= 60
    assert abs((refused.value.retry_at - reopens).total_seconds()) < 0.001
