"""Athletes through the gateway: signing in with Strava (the local fake of its OAuth endpoints), tokens
verified by the services, rate limits shared in Redis, and an account deletion that every service obeys."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx

from relay_devstack import SERVICES, Stack
from relay_devstack.stack import FAKE_STRAVA_CLIENT_ID, FAKE_STRAVA_CLIENT_SECRET
from relay_testing.fakes.strava import FakeStravaClient

from .conftest import Databases

APP = "relay://relay.app/auth/strava"


async def sign_in(gateway: httpx.AsyncClient, stack: Stack, athlete_id: int, **fields: Any) -> dict[str, Any]:
    control = FakeStravaClient(
        stack.config.fake_strava_url, client_id=FAKE_STRAVA_CLIENT_ID, client_secret=FAKE_STRAVA_CLIENT_SECRET
    )
    await control.queue_athlete(id=athlete_id, **fields)
    async with httpx.AsyncClient() as strava:
        start = await gateway.get("/api/auth/strava", params={"redirect_uri": APP})
        assert start.status_code == 302, start.text
        back = httpx.URL((await strava.get(start.headers["location"])).headers["location"])
    callback = await gateway.get(
        "/api/auth/strava/callback",
        params={"code": back.params["code"], "state": back.params["state"], "scope": back.params["scope"]},
    )
    assert callback.status_code == 200, callback.text
    body: dict[str, Any] = callback.json()
    return body


async def eventually(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.5)


async def test_an_athlete_signs_in_through_the_gateway_and_reads_their_account(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    athlete_id = random.randint(10**7, 10**8)
    body = await sign_in(gateway, stack, athlete_id, firstname="Lea", lastname="Brun")

    me = await gateway.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    jwks = await gateway.get("/.well-known/jwks.json")

    assert body["is_new_user"] is True and body["user"]["strava_id"] == str(athlete_id)
    assert me.status_code == 200 and me.json()["user"]["first_name"] == "Lea"
    assert me.headers["x-ratelimit-limit"] == "100"
    assert jwks.status_code == 200 and jwks.json()["keys"][0]["alg"] == "ES256"


async def test_the_eleventh_sign_in_attempt_of_a_minute_is_refused_with_429(
    gateway: httpx.AsyncClient,
) -> None:
    answers = [await gateway.get("/api/auth/strava", params={"redirect_uri": APP}) for _ in range(11)]

    assert [answer.status_code for answer in answers[:10]] == [302] * 10
    assert [int(answer.headers["x-ratelimit-remaining"]) for answer in answers[:10]] == list(range(9, -1, -1))
    refused = answers[10]
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert refused.headers["x-ratelimit-limit"] == "10" and int(refused.headers["retry-after"]) >= 1


async def test_after_deleting_the_account_no_database_holds_a_row_about_the_athlete(
    gateway: httpx.AsyncClient, stack: Stack, databases: Databases
) -> None:
    athlete_id = random.randint(10**7, 10**8)
    body = await sign_in(gateway, stack, athlete_id, firstname="Zoe", lastname="Erased")
    user_id, strava = body["user"]["id"], str(athlete_id)
    headers = {"Authorization": f"Bearer {body['token']}"}
    profile = await gateway.patch("/api/auth/me/profile", headers=headers, json={"ftp": 240, "fc_max": 188})
    key = (
        await gateway.post("/api/auth/api-keys", headers=headers, json={"name": "Health Auto Export"})
    ).json()["key"]
    upload = await gateway.post(
        "/api/webhooks/ingest", headers={"X-API-Key": key}, json={"data": {"workouts": [], "metrics": []}}
    )
    webhook = await gateway.post(
        "/api/webhooks/strava",
        json={
            "object_type": "activity",
            "object_id": random.randint(10**9, 10**10),
            "aspect_type": "create",
            "owner_id": athlete_id,
            "subscription_id": 1,
            "event_time": int(time.time()),
            "updates": {},
        },
    )
    assert profile.status_code == 200 and webhook.status_code == 200
    # The key reaches ingestion through Kafka; the bridge app may have to retry its first upload.
    if upload.status_code == 401:
        await asyncio.sleep(2)
    # Every service holds something about the athlete before the deletion.
    for service in ("identity", "connections", "ingestion", "planning", "export", "audit"):
        held = await eventually(lambda service=service: databases.rows_mentioning(service, user_id, strava))
        assert held, service

    deleted = await gateway.delete("/api/auth/me", headers=headers)
    assert deleted.json() == {"success": True}

    async def leftovers() -> dict[str, dict[str, list[str]]]:
        found = {service: await databases.rows_mentioning(service, user_id, strava) for service in SERVICES}
        return {service: rows for service, rows in found.items() if rows}

    async def only_the_audit_record_is_left() -> bool:
        left = await leftovers()
        return (
            list(left) == ["audit"]
            and list(left["audit"]) == ["audit_entries"]
            and len(left["audit"]["audit_entries"]) == 1
        )

    assert await eventually(only_the_audit_record_is_left), await leftovers()
    kept = await databases.fetch(
        "audit", "SELECT event_type, entity_id FROM audit_entries WHERE entity_id = $1", user_id
    )
    assert [tuple(row) for row in kept] == [("identity.user.deleted", user_id)]
    assert (await gateway.get("/api/auth/me", headers=headers)).status_code == 401
