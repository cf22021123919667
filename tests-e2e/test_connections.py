"""An athlete's links to providers through the gateway: Strava linked by signing in, Garmin linked through
its authorization page (the local fake of the providers' OAuth endpoints), the token handed to Relay's
own services only on the internal route, and a disconnection that the audit trail records."""

from __future__ import annotations

import random
from typing import Any

import httpx

from relay_devstack import Stack
from relay_devstack.stack import DEV_INTERNAL_CALLERS, FAKE_PROVIDERS_CLIENT_ID, FAKE_PROVIDERS_CLIENT_SECRET
from relay_testing.fakes.providers import FakeProvidersClient

from .conftest import Databases
from .test_identity import eventually, sign_in


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ingestion_token() -> str:
    callers = dict(entry.split(":", 1) for entry in DEV_INTERNAL_CALLERS.split(","))
    return callers["ingestion"]


async def connections_of(gateway: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    answer = await gateway.get("/api/providers/connections", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    connections: list[dict[str, Any]] = answer.json()["connections"]
    return connections


async def test_an_athlete_links_garmin_through_the_gateway_next_to_the_strava_of_their_sign_in(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    athlete_id = random.randint(10**7, 10**8)
    token = (await sign_in(gateway, stack, athlete_id, firstname="Ana", lastname="Link"))["token"]
    fake = FakeProvidersClient(
        stack.config.fake_providers_url,
        client_id=FAKE_PROVIDERS_CLIENT_ID,
        client_secret=FAKE_PROVIDERS_CLIENT_SECRET,
    )

    async def strava_linked() -> bool:
        return [c["provider"] for c in await connections_of(gateway, token)] == ["strava"]

    assert await eventually(strava_linked), "the Strava tokens of the sign-in never became a connection"
    started = await gateway.post(
        "/api/providers/garmin/connect",
        json={"redirect_uri": "relay://relay.app/connections"},
        headers=bearer(token),
    )
    assert started.status_code == 200, started.text
    back = await fake.authorize("garmin", started.json()["authorization_url"])
    assert str(back).startswith(f"{stack.config.gateway_url}/api/providers/garmin/callback")
    callback = await gateway.get("/api/providers/garmin/callback", params=dict(back.params))

    assert callback.status_code == 302, callback.text
    app_link = httpx.URL(callback.headers["location"])
    assert app_link.scheme == "relay" and app_link.params["status"] == "linked"
    linked = {c["provider"]: c for c in await connections_of(gateway, token)}
    assert set(linked) == {"strava", "garmin"}
    assert linked["garmin"]["status"] == "active" and linked["strava"]["provider_user_id"] == str(athlete_id)
    assert all("token" not in key or key == "token_expires_at" for c in linked.values() for key in c)


async def test_relay_services_get_the_token_on_the_internal_route_and_the_gateway_does_not_expose_it(
    gateway: httpx.AsyncClient, stack: Stack, databases: Databases
) -> None:
    athlete_id = random.randint(10**7, 10**8)
    signed_in = await sign_in(gateway, stack, athlete_id)
    user_id, token = signed_in["user"]["id"], signed_in["token"]

    async def strava_linked() -> bool:
        return bool(await connections_of(gateway, token))

    assert await eventually(strava_linked)
    request = {"provider": "strava", "user_id": user_id, "purpose": "fetch_activity"}
    through_gateway = await gateway.post(
        "/internal/access-tokens", json=request, headers=bearer(ingestion_token())
    )
    async with httpx.AsyncClient(base_url=stack.config.service_url("connections")) as internal:
        refused = await internal.post("/internal/access-tokens", json=request, headers=bearer(token))
        handed = await internal.post(
            "/internal/access-tokens", json=request, headers=bearer(ingestion_token())
        )

    assert through_gateway.status_code == 404
    assert refused.status_code == 401
    assert handed.status_code == 200, handed.text
    assert handed.json()["provider_user_id"] == str(athlete_id) and handed.json()["access_token"]

    async def handout_audited() -> bool:
        found = await databases.fetchval(
            "audit",
            "SELECT count(*) FROM audit_entries WHERE event_type = $1 AND subject = $2",
            "connections.access_token.issued",
            user_id,
        )
        return bool(found)

    assert await eventually(handout_audited), "the token handout never reached the audit trail"
    published = await databases.fetch(
        "connections",
        "SELECT payload::text AS payload FROM outbox WHERE event_type = $1",
        "connections.access_token.issued",
    )
    assert published and all(handed.json()["access_token"] not in row["payload"] for row in published)


async def test_disconnecting_strava_deletes_the_link_and_the_audit_trail_records_it(
    gateway: httpx.AsyncClient, stack: Stack, databases: Databases
) -> None:
    athlete_id = random.randint(10**7, 10**8)
    signed_in = await sign_in(gateway, stack, athlete_id)
    user_id, token = signed_in["user"]["id"], signed_in["token"]

    async def strava_connection() -> list[dict[str, Any]]:
        return await connections_of(gateway, token)

    [strava] = await eventually(strava_connection)
    answer = await gateway.delete(f"/api/providers/connections/{strava['id']}", headers=bearer(token))

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"success": True, "provider": "strava", "revoked_at_provider": True}
    assert await connections_of(gateway, token) == []

    async def revocation_audited() -> bool:
        found = await databases.fetchval(
            "audit",
            "SELECT count(*) FROM audit_entries WHERE event_type = $1 AND subject = $2",
            "connections.connection.revoked",
            user_id,
        )
        return bool(found)

    assert await eventually(revocation_audited)
