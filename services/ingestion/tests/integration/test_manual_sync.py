"""The athlete's "sync now" (`POST /api/strava/sync`) against the real database and Redis and the fake
Strava: the request reads the pages itself, stores the activities and answers with the seed's counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from ingestion.endpoints.syncs import router
from ingestion.resources import Ingestion
from relay_platform.service import Runtime, create_service_app
from relay_testing.identity import FakeIdentity
from relay_testing.plugin import Infrastructure

from .reading import Reading, reading

__all__ = ["reading"]

pytestmark = pytest.mark.integration

ATHLETE = 26541077


@pytest.fixture
async def app(
    reading: Reading, infrastructure: Infrastructure
) -> AsyncIterator[tuple[httpx.AsyncClient, FakeIdentity]]:
    """The sync endpoint with the worker and readers of `reading`; athletes' tokens signed by a fake
    identity."""
    identity = FakeIdentity()
    settings = reading.settings.model_copy(
        update={
            "kafka_bootstrap_servers": infrastructure.kafka_bootstrap,
            "redis_url": infrastructure.redis_url,
            "rate_limit_enabled": False,
            "worker_enabled": False,
        }
    )

    @asynccontextmanager
    async def resources(_: Runtime) -> AsyncIterator[Any]:
        # Only the readers and the worker serve this endpoint.
        yield Ingestion(settings, None, reading.readers, reading.worker, None)  # type: ignore[arg-type]

    service = create_service_app(
        service="ingestion",
        settings=settings,
        routers=[router],
        key_source=identity.key_source(),
        resources=resources,
    )
    async with service.router.lifespan_context(service):
        transport = httpx.ASGITransport(app=service)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingestion") as client:
            yield client, identity


async def test_sync_now_reads_strava_and_answers_with_the_counts(
    reading: Reading, app: tuple[httpx.AsyncClient, FakeIdentity]
) -> None:
    client, identity = app
    user_id = await reading.link("strava", ATHLETE)
    await reading.work()  # the link's (empty) backfill
    ride = await reading.strava.put_activity(ATHLETE, {"sport_type": "Ride", "name": "Col de la Croix"})

    answer = await client.post("/api/strava/sync", json={"since": 0}, headers=identity.bearer(user_id))

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "success"
    assert (answer.json()["sync"]["activities_fetched"], answer.json()["sync"]["activities_new"]) == (1, 1)
    assert [activity.external_id for activity in await reading.activities(user_id)] == [str(ride["id"])]
    [run] = [run for run in await reading.sync_runs(f"conn-{ATHLETE}") if run.trigger == "manual"]
    assert (str(run.id), run.status) == (answer.json()["sync_id"], "success")
