import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx

from relay_platform.http import create_http_client, retry_after_seconds


def scripted(*responses: httpx.Response) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return httpx.MockTransport(handler), seen


async def test_a_429_is_retried_after_the_delay_the_provider_asked_for() -> None:
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "0.3"}), httpx.Response(200))
    async with create_http_client("https://api.example", transport=transport) as client:
        started = time.monotonic()
        response = await client.get("/activities")
    assert response.status_code == 200
    assert len(seen) == 2
    assert time.monotonic() - started >= 0.3


async def test_a_post_that_failed_with_503_is_not_repeated() -> None:
    transport, seen = scripted(httpx.Response(503), httpx.Response(200))
    async with create_http_client("https://api.example", transport=transport) as client:
        response = await client.post("/workouts", json={})
    assert response.status_code == 503
    assert len(seen) == 1


async def test_server_errors_on_reads_are_retried_a_bounded_number_of_times() -> None:
    transport, seen = scripted(httpx.Response(502))
    async with create_http_client("https://api.example", transport=transport, retries=2) as client:
        response = await client.get("/x")
    assert response.status_code == 502
    assert len(seen) == 3


async def test_a_retry_after_beyond_the_limit_is_handed_back_instead_of_slept() -> None:
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "900"}), httpx.Response(200))
    async with create_http_client("https://api.example", transport=transport, max_wait=5) as client:
        response = await client.get("/x")
    assert response.status_code == 429
    assert len(seen) == 1


def test_retry_after_is_understood_as_seconds_or_as_an_http_date() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "7"})) == 7
    assert 110 < (retry_after_seconds(httpx.Response(429, headers={"Retry-After": later})) or 0) <= 120
    assert retry_after_seconds(httpx.Response(429)) is None
