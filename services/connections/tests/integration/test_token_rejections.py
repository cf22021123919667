"""The report of a token the provider refused: export (or ingestion) tells connections the provider no
longer honours a token it was handed, the connection asks the athlete to link again (once, however many
reports come), and the handout stops giving the token out."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from .conftest import ConnectionsUnderTest
from .lifecycle import event_data, hand_out, link_new_account, stored

pytestmark = pytest.mark.integration

ATHLETE = "usr_ines_5b2f91"
REJECTIONS = "/internal/token-rejections"
REAUTH_REQUIRED = "connections.connection.reauth_required"
EMAIL, PASSWORD = "ines.carvalho@example.com", "Serra-da-Estrela!1993m"


async def report(
    service: ConnectionsUnderTest,
    connection_id: str,
    provider: str,
    reason: str = "unauthorized",
    *,
    caller: str = "export",
) -> httpx.Response:
    """`POST /internal/token-rejections` as the internal `caller` would send it."""
    body = {"connection_id": connection_id, "provider": provider, "reason": reason}
    return await service.client.post(REJECTIONS, json=body, headers=service.internal(caller))


async def link_training_hub(service: ConnectionsUnderTest) -> dict[str, Any]:
    await service.providers.add_coros_account(EMAIL, PASSWORD)
    linked = await service.client.post(
        "/api/providers/coros_training_hub/login",
        json={"email": EMAIL, "password": PASSWORD},
        headers=service.athlete(ATHLETE),
    )
    assert linked.status_code == 200, linked.text
    connection: dict[str, Any] = linked.json()["connection"]
    return connection


async def test_a_rejected_token_asks_the_athlete_to_link_again_and_is_published_once(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await link_new_account(connections_service, ATHLETE, "garmin")

    reported = await report(connections_service, connection["id"], "garmin", "unauthorized")

    assert reported.status_code == 200, reported.text
    assert reported.json() == {
        "connection_id": connection["id"],
        "provider": "garmin",
        "status": "reauth_required",
    }
    row = await stored(connections_service, ATHLETE, "garmin")
    assert (row.status, row.status_reason) == ("reauth_required", "unauthorized")
    [reauth] = await event_data(connections_service, REAUTH_REQUIRED)
    assert (reauth["connection_id"], reauth["user_id"], reauth["provider"], reauth["reason"]) == (
        connection["id"],
        ATHLETE,
        "garmin",
        "unauthorized",
    )
    seen = await connections_service.client.get(
        f"/api/providers/connections/{connection['id']}", headers=connections_service.athlete(ATHLETE)
    )
    assert seen.json()["status"] == "reauth_required" and seen.json()["needs_reauth"] is True
    reauth = "relay_connections_reauth_required_total"
    assert connections_service.metric(reauth, provider="garmin", reason="unauthorized") == 1


async def test_a_second_report_of_the_same_refusal_changes_nothing_and_publishes_nothing(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await link_new_account(connections_service, ATHLETE, "garmin")
    first = await report(connections_service, connection["id"], "garmin", "unauthorized")
    assert first.status_code == 200, first.text
    marked = await stored(connections_service, ATHLETE, "garmin")

    again = await report(connections_service, connection["id"], "garmin", "token_invalid", caller="ingestion")

    assert again.status_code == 200, again.text
    assert again.json()["status"] == "reauth_required"
    row = await stored(connections_service, ATHLETE, "garmin")
    assert (row.status, row.status_reason, row.updated_at) == (
        "reauth_required",
        "unauthorized",
        marked.updated_at,
    )
    assert len(await connections_service.staged_events(REAUTH_REQUIRED)) == 1
    counted = [
        connections_service.metric("relay_connections_reauth_required_total", provider="garmin", reason=r)
        for r in ("unauthorized", "token_invalid")
    ]
    assert counted == [1, 0]


async def test_a_training_hub_token_reported_expired_is_no_longer_handed_out(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await link_training_hub(connections_service)
    handed = await hand_out(
        connections_service, "coros_training_hub", user_id=ATHLETE, caller="export", purpose="push_workout"
    )
    assert handed.status_code == 200, handed.text

    reported = await report(connections_service, connection["id"], "coros_training_hub", "token_expired")
    assert reported.status_code == 200, reported.text

    refused = await hand_out(
        connections_service, "coros_training_hub", user_id=ATHLETE, caller="export", purpose="push_workout"
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "reauth_required"
    assert refused.json()["error"]["details"]["connection_id"] == connection["id"]
    assert "access_token" not in refused.json()
    assert len(await connections_service.staged_events("connections.access_token.issued")) == 1
    [reauth] = await event_data(connections_service, REAUTH_REQUIRED)
    assert reauth["reason"] == "token_expired"


async def test_a_report_is_logged_with_the_caller_and_the_reason_and_without_the_token(
    connections_service: ConnectionsUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    connection = await link_new_account(connections_service, ATHLETE, "garmin")
    handed = await hand_out(connections_service, "garmin", user_id=ATHLETE, caller="export")
    assert handed.status_code == 200, handed.text
    caplog.set_level(logging.INFO)
    caplog.clear()

    reported = await report(connections_service, connection["id"], "garmin", "unauthorized")

    assert reported.status_code == 200, reported.text
    [record] = [r for r in caplog.records if "token_rejection_reported" in r.getMessage()]
    logged = record.getMessage()
    for field in ("export", "unauthorized", ATHLETE, "garmin", connection["id"]):
        assert field in logged, field
    assert handed.json()["access_token"] not in caplog.text
    assert "access_token" not in reported.text


async def test_a_revoked_connection_stays_revoked(connections_service: ConnectionsUnderTest) -> None:
    connection = await link_new_account(connections_service, ATHLETE, "oura")
    await connections_service.rows(
        "UPDATE provider_connections SET status = 'revoked', status_reason = 'deauthorized_at_provider' "
        "WHERE user_id = $1 AND provider = 'oura'",
        ATHLETE,
    )

    reported = await report(connections_service, connection["id"], "oura", "token_invalid")

    assert reported.status_code == 200, reported.text
    assert reported.json()["status"] == "revoked"
    row = await stored(connections_service, ATHLETE, "oura")
    assert (row.status, row.status_reason) == ("revoked", "deauthorized_at_provider")
    assert await connections_service.staged_events(REAUTH_REQUIRED) == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-caller-token-0123456789"}, {"Authorization": "Basic ZXhwb3J0"}],
    ids=["none", "unknown", "not_bearer"],
)
async def test_a_caller_without_a_known_bearer_token_is_refused(
    connections_service: ConnectionsUnderTest, headers: dict[str, str]
) -> None:
    connection = await link_new_account(connections_service, ATHLETE, "garmin")

    refused = await connections_service.client.post(
        REJECTIONS,
        json={"connection_id": connection["id"], "provider": "garmin", "reason": "unauthorized"},
        headers=headers,
    )

    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    assert (await stored(connections_service, ATHLETE, "garmin")).status == "active"
    assert await connections_service.staged_events(REAUTH_REQUIRED) == []


async def test_an_athletes_own_sign_in_token_cannot_report_a_rejection(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await link_new_account(connections_service, ATHLETE, "garmin")

    refused = await connections_service.client.post(
        REJECTIONS,
        json={"connection_id": connection["id"], "provider": "garmin", "reason": "unauthorized"},
        headers=connections_service.athlete(ATHLETE),
    )

    assert refused.status_code == 401
    assert (await stored(connections_service, ATHLETE, "garmin")).status == "active"


@pytest.mark.parametrize(
    "connection_id",
    ["6f1c2a9e-0000-4000-8000-000000000000", "not-a-uuid"],
    ids=["unknown", "malformed"],
)
async def test_an_unknown_connection_is_not_found(
    connections_service: ConnectionsUnderTest, connection_id: str
) -> None:
    await link_new_account(connections_service, ATHLETE, "garmin")

    answer = await report(connections_service, connection_id, "garmin")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "connection_not_found"
    assert answer.json()["error"]["details"] == {"connection_id": connection_id, "provider": "garmin"}
    assert await connections_service.staged_events(REAUTH_REQUIRED) == []


async def test_a_connection_to_another_provider_is_not_found_and_left_as_it_is(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await link_new_account(connections_service, ATHLETE, "garmin")

    answer = await report(connections_service, connection["id"], "coros", "token_invalid")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "connection_not_found"
    assert (await stored(connections_service, ATHLETE, "garmin")).status == "active"
    assert await connections_service.staged_events(REAUTH_REQUIRED) == []


@pytest.mark.parametrize(
    "reason",
    ["", "Token expired: 4f0c9be1a7", "x" * 65],
    ids=["empty", "not_a_code", "too_long"],
)
async def test_a_reason_that_is_not_a_short_code_is_refused(
    connections_service: ConnectionsUnderTest, reason: str
) -> None:
    connection = await link_new_account(connections_service, ATHLETE, "garmin")

    answer = await report(connections_service, connection["id"], "garmin", reason)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "validation_error"
    assert (await stored(connections_service, ATHLETE, "garmin")).status == "active"
