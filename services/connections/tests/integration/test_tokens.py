"""The internal token handout: ingestion and export obtain an athlete's current access token, refreshed
first when it is about to expire, every handout audited without the token; a refresh the provider
refuses ends the grant, a provider failing leaves the connection as it was."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from connections.providers.base import RefreshRefused
from relay_testing.fakes.providers.dialects import DIALECTS

from .conftest import ConnectionsUnderTest
from .lifecycle import (
    bring_to_expiry,
    event_data,
    hand_out,
    link_new_account,
    outbox_text,
    provider_honours,
    set_access_expiry,
    stored,
    stored_tokens,
)

pytestmark = pytest.mark.integration

ATHLETE = "usr_noor_7c1e05"
ROTATING = ("strava", "garmin", "oura", "whoop", "fitbit", "wahoo")


async def test_an_internal_caller_gets_the_current_token_and_the_handout_is_audited_without_it(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await link_new_account(connections_service, ATHLETE, "garmin")
    grant = connections_service.providers.state.grant_of("garmin", connection["provider_user_id"])
    assert grant is not None

    handed = await hand_out(
        connections_service, "garmin", user_id=ATHLETE, caller="export", purpose="push_workout"
    )

    assert handed.status_code == 200, handed.text
    body = handed.json()
    assert body["access_token"] == grant.access_token
    assert (body["user_id"], body["provider"], body["provider_user_id"]) == (
        ATHLETE,
        "garmin",
        connection["provider_user_id"],
    )
    assert (body["connection_id"], body["token_type"], body["refreshed"]) == (
        connection["id"],
        "Bearer",
        False,
    )
    [issued] = await event_data(connections_service, "connections.access_token.issued")
    assert (issued["caller"], issued["purpose"], issued["refreshed"]) == ("export", "push_workout", False)
    assert (issued["user_id"], issued["provider"], issued["connection_id"]) == (
        ATHLETE,
        "garmin",
        connection["id"],
    )
    stored_events = await outbox_text(connections_service)
    for token in await connections_service.providers.issued_tokens():
        assert token not in stored_events
    assert (await stored(connections_service, ATHLETE, "garmin")).last_used_at is not None


async def test_a_token_is_found_by_the_athletes_id_at_the_provider_as_webhooks_name_them(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await link_new_account(connections_service, ATHLETE, "whoop")

    handed = await hand_out(connections_service, "whoop", provider_user_id=connection["provider_user_id"])

    assert handed.status_code == 200, handed.text
    assert handed.json()["user_id"] == ATHLETE
    assert await provider_honours(connections_service, "whoop", handed.json()["access_token"])


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-caller-token-0123456789"}, {"Authorization": "Basic aW5nZXN0aW9u"}],
    ids=["none", "unknown", "not_bearer"],
)
async def test_a_caller_without_a_known_bearer_token_is_refused(
    connections_service: ConnectionsUnderTest, headers: dict[str, str]
) -> None:
    await link_new_account(connections_service, ATHLETE, "oura")

    refused = await connections_service.client.post(
        "/internal/access-tokens",
        json={"provider": "oura", "user_id": ATHLETE, "purpose": "fetch_activities"},
        headers=headers,
    )

    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    assert "access_token" not in refused.text
    assert await connections_service.staged_events("connections.access_token.issued") == []


async def test_an_athletes_own_sign_in_token_does_not_open_the_internal_handout(
    connections_service: ConnectionsUnderTest,
) -> None:
    await link_new_account(connections_service, ATHLETE, "oura")

    refused = await connections_service.client.post(
        "/internal/access-tokens",
        json={"provider": "oura", "user_id": ATHLETE, "purpose": "fetch_activities"},
        headers=connections_service.athlete(ATHLETE),
    )

    assert refused.status_code == 401


async def test_an_athlete_without_the_connection_is_not_found(
    connections_service: ConnectionsUnderTest,
) -> None:
    await link_new_account(connections_service, ATHLETE, "garmin")

    for request in (
        {"user_id": ATHLETE, "provider": "oura"},
        {"user_id": "usr_nobody_000000", "provider": "garmin"},
        {"provider_user_id": "no-such-account", "provider": "garmin"},
        {"provider": "garmin"},
    ):
        provider = request.pop("provider")
        answer = await hand_out(connections_service, provider, **request)
        assert answer.status_code == 404, request
        assert answer.json()["error"]["code"] == "connection_not_found"
    assert await connections_service.staged_events("connections.access_token.issued") == []


async def test_a_connection_the_athlete_paused_hands_out_nothing(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await link_new_account(connections_service, ATHLETE, "wahoo")
    paused = await connections_service.client.patch(
        f"/api/providers/connections/{connection['id']}/toggle",
        json={"is_active": False},
        headers=connections_service.athlete(ATHLETE),
    )
    assert paused.status_code == 200 and paused.json()["is_active"] is False

    refused = await hand_out(connections_service, "wahoo", user_id=ATHLETE)

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "connection_paused"
    assert refused.json()["error"]["details"]["connection_id"] == connection["id"]
    assert await connections_service.staged_events("connections.access_token.issued") == []


@pytest.mark.parametrize("provider", ROTATING)
async def test_a_token_about_to_expire_is_refreshed_first_and_the_rotated_refresh_token_replaces_the_old(
    connections_service: ConnectionsUnderTest, provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    await link_new_account(connections_service, ATHLETE, provider)
    before = await stored_tokens(connections_service, ATHLETE, provider)
    await bring_to_expiry(connections_service, ATHLETE, provider)

    caplog.set_level(logging.INFO)
    caplog.clear()

    handed = await hand_out(connections_service, provider, user_id=ATHLETE)

    assert handed.status_code == 200, handed.text
    body = handed.json()
    assert body["refreshed"] is True
    refreshes = "relay_connections_token_refreshes_total"
    assert connections_service.metric(refreshes, provider=provider, outcome="succeeded") == 1
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC) + timedelta(minutes=30)
    assert await provider_honours(connections_service, provider, body["access_token"])
    after = await stored_tokens(connections_service, ATHLETE, provider)
    assert after.access_token.get_secret_value() == body["access_token"]
    assert after.refresh_token is not None and before.refresh_token is not None
    assert after.refresh_token != before.refresh_token
    client = connections_service.resources.providers.oauth(provider)
    assert client is not None
    with pytest.raises(RefreshRefused):
        await client.refresh(before)  # the provider no longer honours the old refresh token
    [issued] = await event_data(connections_service, "connections.access_token.issued")
    assert issued["refreshed"] is True
    row = await stored(connections_service, ATHLETE, provider)
    assert (row.status, row.refresh_failures) == ("active", 0)
    assert row.last_refreshed_at is not None
    secrets_ = [before.access_token, after.access_token, before.refresh_token, after.refresh_token]
    logged = caplog.text  # every record the service logged, before it was rendered
    assert "token_refreshed" in logged and "access_token_issued" in logged
    assert not [s for s in secrets_ if s.get_secret_value() in logged], "a token was logged"

    # The stored refresh token is the rotated one: the next refresh works too.
    await bring_to_expiry(connections_service, ATHLETE, provider)
    again = await hand_out(connections_service, provider, user_id=ATHLETE)
    assert again.status_code == 200, again.text
    assert again.json()["refreshed"] is True


async def test_a_coros_refresh_extends_the_same_token_for_thirty_days(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await link_new_account(connections_service, ATHLETE, "coros")
    before = await stored_tokens(connections_service, ATHLETE, "coros")
    await bring_to_expiry(connections_service, ATHLETE, "coros")

    handed = await hand_out(connections_service, "coros", user_id=ATHLETE)

    assert handed.status_code == 200, handed.text
    body = handed.json()
    assert body["refreshed"] is True
    assert body["access_token"] == before.access_token.get_secret_value()
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert abs(expires_at - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    [refresh] = await connections_service.providers.received("coros", "/oauth2/refresh-token")
    assert refresh.method == "POST" and refresh.fields["grant_type"] == "refresh_token"
    assert await provider_honours(connections_service, "coros", body["access_token"])
    grant = connections_service.providers.state.grant_of("coros", connection["provider_user_id"])
    assert grant is not None
    assert grant.access_expires_at > connections_service.providers.state.now() + 29 * 86400
    after = await stored_tokens(connections_service, ATHLETE, "coros")
    assert after.refresh_token == before.refresh_token
    assert after.expires_at == expires_at


@pytest.mark.parametrize(
    ("provider", "refusal"), [("garmin", "revoke_grants"), ("whoop", "expire_refresh_tokens")]
)
async def test_a_refresh_the_provider_refuses_asks_the_athlete_to_link_again(
    connections_service: ConnectionsUnderTest, provider: str, refusal: str
) -> None:
    connection = await link_new_account(connections_service, ATHLETE, provider)
    await bring_to_expiry(connections_service, ATHLETE, provider)
    if refusal == "revoke_grants":
        await connections_service.providers.revoke_grants(provider, connection["provider_user_id"])  # type: ignore[arg-type]
    else:
        await connections_service.providers.expire_refresh_tokens(provider)  # type: ignore[arg-type]

    refused = await hand_out(connections_service, provider, user_id=ATHLETE)

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "reauth_required"
    # Committed although the answer is an error: the app and the athlete are told.
    row = await stored(connections_service, ATHLETE, provider)
    assert (row.status, row.status_reason) == ("reauth_required", "refresh_refused")
    [reauth] = await event_data(connections_service, "connections.connection.reauth_required")
    assert (reauth["connection_id"], reauth["user_id"], reauth["provider"], reauth["reason"]) == (
        connection["id"],
        ATHLETE,
        provider,
        "refresh_refused",
    )
    seen = await connections_service.client.get(
        f"/api/providers/connections/{connection['id']}", headers=connections_service.athlete(ATHLETE)
    )
    assert seen.json()["status"] == "reauth_required" and seen.json()["needs_reauth"] is True
    assert await connections_service.staged_events("connections.access_token.issued") == []
    # Asked again, it does not try the provider again: the athlete has to link.
    calls = len(await connections_service.providers.received(provider))  # type: ignore[arg-type]
    again = await hand_out(connections_service, provider, user_id=ATHLETE)
    assert again.status_code == 409 and again.json()["error"]["code"] == "reauth_required"
    assert len(await connections_service.providers.received(provider)) == calls  # type: ignore[arg-type]
    assert len(await connections_service.staged_events("connections.connection.reauth_required")) == 1
    refused = connections_service.metric(
        "relay_connections_token_refreshes_total", provider=provider, outcome="refused"
    )
    reauth = connections_service.metric(
        "relay_connections_reauth_required_total", provider=provider, reason="refresh_refused"
    )
    assert (refused, reauth) == (1, 1)
    assert (
        await connections_service.resources.metrics.count_links_awaiting_reauth(
            connections_service.sessionmaker
        )
        == 1
    )
    awaiting = connections_service.metric("relay_connections_links_reauth_required", provider=provider)
    others = connections_service.metric("relay_connections_links_reauth_required", provider="polar")
    assert (awaiting, others) == (1, 0)


async def test_a_provider_without_refresh_tokens_asks_for_a_new_link_once_its_token_expired(
    connections_service: ConnectionsUnderTest,
) -> None:
    await link_new_account(connections_service, ATHLETE, "polar")
    await set_access_expiry(connections_service, ATHLETE, "polar", datetime.now(UTC) - timedelta(minutes=1))

    refused = await hand_out(connections_service, "polar", user_id=ATHLETE)

    assert refused.status_code == 409 and refused.json()["error"]["code"] == "reauth_required"
    assert (await stored(connections_service, ATHLETE, "polar")).status == "reauth_required"


@pytest.mark.parametrize("mode", ["server_error", "down"])
async def test_a_provider_failing_while_the_token_still_lives_hands_out_the_token_held(
    connections_service: ConnectionsUnderTest, mode: str
) -> None:
    await link_new_account(connections_service, ATHLETE, "garmin")
    before = await stored_tokens(connections_service, ATHLETE, "garmin")
    await bring_to_expiry(connections_service, ATHLETE, "garmin")
    await connections_service.providers.fail_next("garmin", mode, DIALECTS["garmin"].token_path)  # type: ignore[arg-type]

    handed = await hand_out(connections_service, "garmin", user_id=ATHLETE)

    assert handed.status_code == 200, handed.text
    assert handed.json()["access_token"] == before.access_token.get_secret_value()
    assert handed.json()["refreshed"] is False
    row = await stored(connections_service, ATHLETE, "garmin")
    assert (row.status, row.refresh_failures) == ("active", 1)
    refreshes = "relay_connections_token_refreshes_total"
    assert connections_service.metric(refreshes, provider="garmin", outcome="failed") == 1
    assert (await stored_tokens(connections_service, ATHLETE, "garmin")).refresh_token == before.refresh_token


async def test_a_provider_failing_once_the_token_expired_is_a_502_and_the_connection_waits_for_it(
    connections_service: ConnectionsUnderTest,
) -> None:
    await link_new_account(connections_service, ATHLETE, "oura")
    before = await stored(connections_service, ATHLETE, "oura")
    await set_access_expiry(connections_service, ATHLETE, "oura", datetime.now(UTC) - timedelta(minutes=1))
    await connections_service.providers.fail_next("oura", "server_error", DIALECTS["oura"].token_path)

    failed = await hand_out(connections_service, "oura", user_id=ATHLETE)

    assert failed.status_code == 502
    assert failed.json()["error"]["code"] == "provider_error"
    row = await stored(connections_service, ATHLETE, "oura")
    assert (row.status, row.refresh_failures) == ("active", 1)
    assert (row.access_token_sealed, row.refresh_token_sealed, row.data_key_sealed) == (
        before.access_token_sealed,
        before.refresh_token_sealed,
        before.data_key_sealed,
    )
    assert await connections_service.staged_events("connections.connection.reauth_required") == []
    assert await connections_service.staged_events("connections.access_token.issued") == []

    # Once the provider answers again, the next handout refreshes and the failures are forgotten.
    recovered = await hand_out(connections_service, "oura", user_id=ATHLETE)
    assert recovered.status_code == 200 and recovered.json()["refreshed"] is True
    assert (await stored(connections_service, ATHLETE, "oura")).refresh_failures == 0
