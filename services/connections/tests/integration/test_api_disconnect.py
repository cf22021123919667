"""Disconnecting a provider: Relay withdraws its access at the provider where it can, then forgets the
connection and its history, and asks every service to erase that provider's data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from relay_contracts.catalog import INGESTION_API_KEY_USED, INGESTION_SYNC_COMPLETED
from relay_contracts.events.ingestion import ApiKeyUsed, SyncCompleted

from .conftest import ConnectionsUnderTest

pytestmark = pytest.mark.integration

LEA = "usr_lea_c6f7a2"
API = "/api/providers"

REVOCATIONS = {
    "garmin": ("DELETE", "/wellness-api/rest/user/registration"),
    "coros": ("POST", "/oauth2/deauthorize"),
    "polar": ("DELETE", "/v3/users/{account}"),
    "oura": ("GET", "/oauth/revoke"),
    "whoop": ("DELETE", "/developer/v2/user/access"),
    "fitbit": ("POST", "/oauth2/revoke"),
    "wahoo": ("DELETE", "/v1/permissions"),
}
"""How each provider (but Strava, a fake of its own) is asked to withdraw Relay's access."""


async def link(service: ConnectionsUnderTest, provider: str) -> tuple[dict[str, Any], str]:
    """The athlete's new connection, and their account's id at the provider."""
    if provider == "strava":
        account = str((await service.strava.queue_athlete(id=7_310_442)).id)
    else:
        account = (await service.providers.queue_user(provider)).user_id
    return await service.link(LEA, provider), account


async def disconnect(service: ConnectionsUnderTest, connection_id: str) -> Any:
    return await service.client.delete(f"{API}/connections/{connection_id}", headers=service.athlete(LEA))


async def revocations_received(
    service: ConnectionsUnderTest, provider: str, account: str
) -> list[tuple[str, str]]:
    if provider == "strava":
        return [(r.method, r.path) for r in await service.strava.received("/oauth/deauthorize")]
    method, path = REVOCATIONS[provider]
    received = await service.providers.received(provider, path.format(account=account))
    return [(r.method, r.path) for r in received if r.method == method]


async def add_a_sync(service: ConnectionsUnderTest, connection: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    completed = SyncCompleted(
        sync_id=str(uuid.uuid4()),
        connection_id=connection["id"],
        user_id=LEA,
        provider=connection["provider"],
        status="success",
        started_at=now,
        completed_at=now,
    )
    await service.deliver(INGESTION_SYNC_COMPLETED.envelope(completed, subject=LEA))


@pytest.mark.parametrize("provider", ["strava", *REVOCATIONS])
async def test_disconnecting_revokes_at_the_provider_then_deletes_and_asks_for_erasure(
    connections_service: ConnectionsUnderTest, provider: str
) -> None:
    connection, account = await link(connections_service, provider)
    await add_a_sync(connections_service, connection)

    done = await disconnect(connections_service, connection["id"])

    assert done.status_code == 200
    assert done.json() == {"success": True, "provider": provider, "revoked_at_provider": True}
    assert len(await revocations_received(connections_service, provider, account)) == 1
    if provider == "strava":
        assert await connections_service.strava.grants() == []
    gone = await connections_service.client.get(
        f"{API}/connections/{connection['id']}", headers=connections_service.athlete(LEA)
    )
    assert gone.status_code == 404
    assert await connections_service.rows("SELECT id FROM provider_connections") == []
    assert await connections_service.rows("SELECT id FROM sync_history") == []
    [revoked] = await connections_service.staged_events("connections.connection.revoked")
    assert revoked["subject"] == LEA
    assert revoked["data"] | {"at": None} == {
        "connection_id": connection["id"],
        "user_id": LEA,
        "provider": provider,
        "provider_user_id": account,
        "reason": "disconnected",
        "erase_provider_data": True,
        "revoked_at_provider": True,
        "at": None,
        "actor": {"type": "athlete", "id": LEA},
    }


@pytest.mark.parametrize("provider", ["strava", "garmin", "fitbit", "polar"])
async def test_a_provider_failing_the_revocation_does_not_keep_the_athlete_connected(
    connections_service: ConnectionsUnderTest, provider: str
) -> None:
    connection, account = await link(connections_service, provider)
    if provider == "strava":
        await connections_service.strava.fail_next("server_error", endpoint="deauthorize")
    else:
        path = REVOCATIONS[provider][1].format(account=account)
        await connections_service.providers.fail_next(provider, "server_error", path)

    done = await disconnect(connections_service, connection["id"])

    assert done.status_code == 200
    assert done.json() == {"success": True, "provider": provider, "revoked_at_provider": False}
    assert await connections_service.rows("SELECT id FROM provider_connections") == []
    [revoked] = await connections_service.staged_events("connections.connection.revoked")
    assert revoked["data"]["revoked_at_provider"] is False and revoked["data"]["erase_provider_data"] is True


async def test_a_connection_already_refused_by_the_provider_is_deleted_without_calling_it(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection, account = await link(connections_service, "wahoo")
    await connections_service.rows("UPDATE provider_connections SET status = 'reauth_required'")

    done = await disconnect(connections_service, connection["id"])

    assert done.status_code == 200 and done.json()["revoked_at_provider"] is False
    assert await revocations_received(connections_service, "wahoo", account) == []
    assert await connections_service.rows("SELECT id FROM provider_connections") == []


async def test_disconnecting_the_health_bridge_deletes_it_with_nothing_to_revoke(
    connections_service: ConnectionsUnderTest,
) -> None:
    used = ApiKeyUsed(api_key_id="key_21aa", user_id=LEA, used_at=datetime.now(UTC))
    await connections_service.deliver(INGESTION_API_KEY_USED.envelope(used, subject=LEA))
    [bridge] = (
        await connections_service.client.get(f"{API}/connections", headers=connections_service.athlete(LEA))
    ).json()["connections"]

    done = await disconnect(connections_service, bridge["id"])

    assert done.json() == {"success": True, "provider": "health_bridge", "revoked_at_provider": False}
    [revoked] = await connections_service.staged_events("connections.connection.revoked")
    assert revoked["data"]["provider"] == "health_bridge" and revoked["data"]["erase_provider_data"] is True


async def test_a_disconnected_connection_cannot_be_disconnected_twice(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection, _ = await link(connections_service, "oura")
    assert (await disconnect(connections_service, connection["id"])).status_code == 200

    again = await disconnect(connections_service, connection["id"])

    assert again.status_code == 404 and again.json()["error"]["code"] == "connection_not_found"
    assert len(await connections_service.staged_events("connections.connection.revoked")) == 1
