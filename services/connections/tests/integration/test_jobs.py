"""The scheduled jobs, run as the scheduler runs them: tokens refreshed ahead of expiry, Oura's webhook
subscriptions renewed, and athletes warned before a link breaks (legacy Garmin links, refresh tokens
about to expire, subscriptions that could not be renewed, links unused for long)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from connections.jobs import renew_expiring_subscriptions, warn_before_credentials_break
from connections.refresh import refresh_expiring_tokens
from relay_contracts.catalog import INGESTION_WEBHOOK_RECEIVED
from relay_contracts.events.ingestion import WebhookReceived
from relay_testing.fakes.providers import Provider

from .conftest import ConnectionsUnderTest
from .lifecycle import event_data, hand_out, link_new_account, set_access_expiry, stored

pytestmark = pytest.mark.integration

EXPIRING = "connections.connection.expiring"
OURA_CALLBACK = "https://relay.example/api/webhooks/oura"


async def refresh(service: ConnectionsUnderTest) -> int:
    return await refresh_expiring_tokens(service.resources, service.sessionmaker)


async def warn(service: ConnectionsUnderTest, now: datetime | None = None) -> int:
    return await warn_before_credentials_break(service.resources, service.sessionmaker, now)


async def renew(service: ConnectionsUnderTest) -> int:
    return await renew_expiring_subscriptions(service.resources, service.sessionmaker)


async def warnings(service: ConnectionsUnderTest) -> list[tuple[str, str, str]]:
    """(athlete, provider, reason) of each `connections.connection.expiring` published."""
    return [(e["user_id"], e["provider"], e["reason"]) for e in await event_data(service, EXPIRING)]


async def set_column(
    service: ConnectionsUnderTest, user_id: str, provider: str, column: str, value: object
) -> None:
    # The column names are the tests' own.
    await service.rows(
        f"UPDATE provider_connections SET {column} = $3 WHERE user_id = $1 AND provider = $2",  # noqa: S608
        user_id,
        provider,
        value,
    )


async def subscriptions_stored(service: ConnectionsUnderTest) -> dict[str, asyncpg.Record]:
    rows = await service.rows("SELECT * FROM provider_subscriptions WHERE provider = 'oura'")
    return {row["subscription_id"]: row for row in rows}


# Refreshing ahead of expiry


async def test_the_refresh_job_refreshes_only_active_connections_expiring_within_the_lead_time(
    connections_service: ConnectionsUnderTest,
) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=10)
    for athlete, provider in (
        ("usr_due_garmin", "garmin"),
        ("usr_later_oura", "oura"),
        ("usr_broken_wahoo", "wahoo"),
        ("usr_refused_fitbit", "fitbit"),
        ("usr_no_refresh_polar", "polar"),
    ):
        await link_new_account(connections_service, athlete, provider)
        if provider != "oura":
            await set_access_expiry(connections_service, athlete, provider, soon)
    await set_column(connections_service, "usr_broken_wahoo", "wahoo", "status", "reauth_required")
    await connections_service.providers.expire_refresh_tokens("fitbit")
    untouched = {
        athlete: await stored(connections_service, athlete, provider)
        for athlete, provider in (
            ("usr_later_oura", "oura"),
            ("usr_broken_wahoo", "wahoo"),
            ("usr_no_refresh_polar", "polar"),
        )
    }
    quiet: tuple[Provider, ...] = ("oura", "wahoo", "polar")
    calls = {p: len(await connections_service.providers.received(p)) for p in quiet}

    assert await refresh(connections_service) == 1

    garmin = await stored(connections_service, "usr_due_garmin", "garmin")
    assert garmin.access_expires_at is not None
    assert garmin.access_expires_at > datetime.now(UTC) + timedelta(hours=20)
    assert (garmin.status, garmin.refresh_failures) == ("active", 0)
    assert garmin.last_refreshed_at is not None
    for athlete, before in untouched.items():
        after = await stored(connections_service, athlete, before.provider)
        assert (after.status, after.access_token_sealed, after.access_expires_at) == (
            before.status,
            before.access_token_sealed,
            before.access_expires_at,
        ), before.provider
    assert {p: len(await connections_service.providers.received(p)) for p in quiet} == calls
    fitbit = await stored(connections_service, "usr_refused_fitbit", "fitbit")
    assert (fitbit.status, fitbit.status_reason) == ("reauth_required", "refresh_refused")
    [reauth] = await event_data(connections_service, "connections.connection.reauth_required")
    assert (reauth["user_id"], reauth["provider"], reauth["reason"]) == (
        "usr_refused_fitbit",
        "fitbit",
        "refresh_refused",
    )
    # What the job refreshed is not handed out as "refreshed" again: it is fresh already.
    handed = await hand_out(connections_service, "garmin", user_id="usr_due_garmin")
    assert handed.status_code == 200 and handed.json()["refreshed"] is False


async def test_a_provider_failing_during_the_refresh_job_is_tried_again_at_the_next_run(
    connections_service: ConnectionsUnderTest,
) -> None:
    await link_new_account(connections_service, "usr_whoop_retry", "whoop")
    await set_access_expiry(
        connections_service, "usr_whoop_retry", "whoop", datetime.now(UTC) + timedelta(minutes=5)
    )
    await connections_service.providers.fail_next("whoop", "down")

    assert await refresh(connections_service) == 0
    row = await stored(connections_service, "usr_whoop_retry", "whoop")
    assert (row.status, row.refresh_failures) == ("active", 1)

    assert await refresh(connections_service) == 1
    row = await stored(connections_service, "usr_whoop_retry", "whoop")
    assert (row.status, row.refresh_failures) == ("active", 0)
    assert await connections_service.staged_events("connections.connection.reauth_required") == []


async def test_the_refresh_job_skips_a_connection_another_replica_holds_without_waiting(
    connections_service: ConnectionsUnderTest,
) -> None:
    await link_new_account(connections_service, "usr_held_garmin", "garmin")
    await set_access_expiry(
        connections_service, "usr_held_garmin", "garmin", datetime.now(UTC) + timedelta(minutes=5)
    )
    holder = await asyncpg.connect(connections_service.database_url.replace("+asyncpg", ""))
    try:
        async with holder.transaction():
            await holder.execute(
                "SELECT 1 FROM provider_connections WHERE user_id = 'usr_held_garmin' FOR UPDATE"
            )
            assert await refresh(connections_service) == 0
    finally:
        await holder.close()

    assert await refresh(connections_service) == 1


# Warnings before a link breaks


async def test_a_legacy_garmin_oauth1_link_is_warned_of_its_retirement_once_a_week(
    connections_service: ConnectionsUnderTest,
) -> None:
    await link_new_account(connections_service, "usr_legacy_garmin", "garmin")
    await link_new_account(connections_service, "usr_current_garmin", "garmin")
    # Links made with OAuth 1.0a before Relay moved to OAuth 2.0 are still honoured by Garmin, until it stops.
    await set_column(connections_service, "usr_legacy_garmin", "garmin", "auth_type", "oauth1")

    assert await warn(connections_service) == 1

    [warning] = await event_data(connections_service, EXPIRING)
    assert (warning["user_id"], warning["provider"], warning["reason"]) == (
        "usr_legacy_garmin",
        "garmin",
        "legacy_oauth1",
    )
    retirement = connections_service.resources.settings.garmin_oauth1_retirement
    assert datetime.fromisoformat(warning["expires_at"]) == datetime.fromisoformat(retirement).replace(
        tzinfo=UTC
    )
    assert "Garmin" in warning["message"]
    connection = await stored(connections_service, "usr_legacy_garmin", "garmin")
    assert warning["connection_id"] == str(connection.id)

    assert await warn(connections_service) == 0
    assert await warn(connections_service, datetime.now(UTC) + timedelta(days=6)) == 0
    assert len(await event_data(connections_service, EXPIRING)) == 1

    assert await warn(connections_service, datetime.now(UTC) + timedelta(days=8)) == 1
    assert await warnings(connections_service) == [("usr_legacy_garmin", "garmin", "legacy_oauth1")] * 2


async def test_a_refresh_token_expiring_within_the_warning_horizon_is_warned_of(
    connections_service: ConnectionsUnderTest,
) -> None:
    await link_new_account(connections_service, "usr_expiring_soon", "garmin")
    await link_new_account(connections_service, "usr_expiring_later", "garmin")
    ahead = connections_service.resources.settings.warn_ahead_days
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=ahead - 3)
    await set_column(connections_service, "usr_expiring_soon", "garmin", "refresh_expires_at", soon)
    await set_column(
        connections_service, "usr_expiring_later", "garmin", "refresh_expires_at", soon + timedelta(days=10)
    )

    assert await warn(connections_service) == 1

    [warning] = await event_data(connections_service, EXPIRING)
    assert (warning["user_id"], warning["reason"]) == ("usr_expiring_soon", "refresh_token_expiring")
    assert datetime.fromisoformat(warning["expires_at"]) == soon
    assert await warn(connections_service) == 0  # remembered: not repeated at every run
    warned = (await stored(connections_service, "usr_expiring_soon", "garmin")).warnings_sent
    assert set(warned) == {"refresh_token_expiring"}


async def test_a_link_unused_for_long_is_warned_of_unless_the_provider_or_a_service_used_it_lately(
    connections_service: ConnectionsUnderTest,
) -> None:
    linked = {}
    for athlete, provider in (("usr_silent", "wahoo"), ("usr_notified", "whoop"), ("usr_fetched", "oura")):
        linked[athlete] = await link_new_account(connections_service, athlete, provider)
        unused_after = connections_service.resources.settings.unused_after_days
        long_ago = datetime.now(UTC) - timedelta(days=unused_after + 30)
        await set_column(connections_service, athlete, provider, "linked_at", long_ago)
    notification = WebhookReceived(
        provider="whoop",
        webhook_id="wh_01",
        object_type="workout",
        object_id="9172634",
        aspect_type="create",
        owner_id=linked["usr_notified"]["provider_user_id"],
        event_time=datetime.now(UTC) - timedelta(days=2),
    )
    await connections_service.deliver(
        INGESTION_WEBHOOK_RECEIVED.envelope(notification, subject="usr_notified")
    )
    assert (await hand_out(connections_service, "oura", user_id="usr_fetched")).status_code == 200

    assert await warn(connections_service) == 1

    [warning] = await event_data(connections_service, EXPIRING)
    assert (warning["user_id"], warning["provider"], warning["reason"]) == ("usr_silent", "wahoo", "unused")
    assert warning["expires_at"] is None and warning["message"]


# Oura's webhook subscriptions


async def test_oura_subscriptions_expiring_soon_are_renewed_and_all_are_recorded(
    connections_service: ConnectionsUnderTest,
) -> None:
    fake = connections_service.providers
    now = datetime.now(UTC)
    soon = await fake.add_oura_subscription(
        callback_url=OURA_CALLBACK,
        event_type="create",
        data_type="workout",
        expiration_time=now + timedelta(days=3),
    )
    later = await fake.add_oura_subscription(
        callback_url=OURA_CALLBACK,
        event_type="create",
        data_type="sleep",
        expiration_time=now + timedelta(days=60),
    )

    assert await renew(connections_service) == 1

    at_oura = {s.id: s for s in await fake.oura_subscriptions()}
    assert at_oura[soon.id].expiration_time > now + timedelta(days=80)
    assert at_oura[later.id].expiration_time == later.expiration_time
    [renewal] = await fake.received("oura", f"/v2/webhook/subscription/renew/{soon.id}")
    assert renewal.method == "PUT"
    recorded = await subscriptions_stored(connections_service)
    assert set(recorded) == {soon.id, later.id}
    assert recorded[soon.id]["expires_at"] == at_oura[soon.id].expiration_time
    assert recorded[soon.id]["renewed_at"] is not None and recorded[soon.id]["last_error"] is None
    assert (recorded[later.id]["expires_at"], recorded[later.id]["renewed_at"]) == (
        later.expiration_time,
        None,
    )
    assert (recorded[soon.id]["data_type"], recorded[soon.id]["event_type"]) == ("workout", "create")

    # Renewed, nothing is left to warn Oura athletes about.
    await link_new_account(connections_service, "usr_oura_fine", "oura")
    assert await warn(connections_service) == 0


async def test_a_subscription_that_cannot_be_renewed_stays_expiring_and_its_oura_athletes_are_warned(
    connections_service: ConnectionsUnderTest,
) -> None:
    fake = connections_service.providers
    for athlete, provider in (("usr_oura_a", "oura"), ("usr_oura_b", "oura"), ("usr_garmin_c", "garmin")):
        await link_new_account(connections_service, athlete, provider)
    expires = datetime.now(UTC) + timedelta(days=2)
    subscription = await fake.add_oura_subscription(
        callback_url=OURA_CALLBACK, event_type="update", data_type="daily_activity", expiration_time=expires
    )
    await fake.fail_next("oura", "server_error", f"/v2/webhook/subscription/renew/{subscription.id}")

    assert await renew(connections_service) == 0

    [at_oura] = await fake.oura_subscriptions()
    assert at_oura.expiration_time == expires
    recorded = (await subscriptions_stored(connections_service))[subscription.id]
    assert recorded["expires_at"] == expires and recorded["renewed_at"] is None
    assert recorded["last_error"]

    assert await warn(connections_service) == 2

    events = await event_data(connections_service, EXPIRING)
    assert sorted((e["user_id"], e["provider"], e["reason"]) for e in events) == [
        ("usr_oura_a", "oura", "webhook_subscription_expiring"),
        ("usr_oura_b", "oura", "webhook_subscription_expiring"),
    ]
    assert {datetime.fromisoformat(e["expires_at"]) for e in events} == {expires}

    # Renewed at the next run: the record is no longer expiring, and no one is warned again.
    assert await renew(connections_service) == 1
    assert (await subscriptions_stored(connections_service))[subscription.id]["last_error"] is None
    assert await warn(connections_service, datetime.now(UTC) + timedelta(days=8)) == 0
