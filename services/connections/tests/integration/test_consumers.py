"""What the service does with the events it consumes: the Strava tokens of a sign-in claimed from identity
and linked, an athlete withdrawing Relay's access at the provider, and an athlete deleting their account."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from sqlmodel import col

from connections.models import ProviderConnection
from connections.tokens import open_tokens
from relay_contracts import Envelope
from relay_contracts.catalog import IDENTITY_USER_DELETED, INGESTION_WEBHOOK_RECEIVED
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import UserDeleted
from relay_contracts.events.ingestion import WebhookReceived
from relay_platform.crypto import SealError
from relay_testing.services import mentions_in

from .conftest import ConnectionsUnderTest
from .lifecycle import event_data, hand_out, link_new_account, stored, stored_tokens, strava_sign_in

pytestmark = pytest.mark.integration

ATHLETE, OTHER = "usr_maya_81c3d4", "usr_tomas_0a7e52"
STRAVA_ID, OTHER_STRAVA_ID = 918_273_645, 546_372_819
LINKED = "connections.connection.linked"
REVOKED = "connections.connection.revoked"


def again(envelope: Envelope) -> Envelope:
    """The same event published once more (a replay, under a new message id)."""
    return envelope.model_copy(update={"id": uuid.uuid4()})


def notification(provider: str, owner_id: str, *, aspect_type: str = "update", **updates: str) -> Envelope:
    """A provider's notification as ingestion relays it."""
    received = WebhookReceived(
        provider=provider,  # type: ignore[arg-type]
        webhook_id=f"wh_{uuid.uuid4().hex[:10]}",
        object_type="athlete" if updates else "activity",
        object_id=owner_id if updates else "17261534",
        aspect_type=aspect_type,
        owner_id=owner_id,
        event_time=datetime.now(UTC),
        updates=updates,
    )
    return INGESTION_WEBHOOK_RECEIVED.envelope(received, subject=f"{provider}:{owner_id}")


def account_deleted(user_id: str, strava_athlete_id: int | None) -> Envelope:
    deleted = UserDeleted(
        user_id=user_id,
        strava_athlete_id=str(strava_athlete_id) if strava_athlete_id else None,
        deleted_at=datetime.now(UTC),
        actor=Actor(type="athlete", id=user_id),
    )
    return IDENTITY_USER_DELETED.envelope(deleted, subject=user_id)


async def connection_rows(service: ConnectionsUnderTest) -> list[tuple[str, str, str]]:
    rows = await service.rows(
        "SELECT user_id, provider, status FROM provider_connections ORDER BY user_id, provider"
    )
    return [(row["user_id"], row["provider"], row["status"]) for row in rows]


# Strava sign-ins


async def test_a_strava_sign_in_is_claimed_once_and_links_strava_with_its_tokens_sealed(
    connections_service: ConnectionsUnderTest,
) -> None:
    signed_in, grant = await strava_sign_in(connections_service, ATHLETE, STRAVA_ID)

    await connections_service.deliver(signed_in)

    assert connections_service.identity.claims == [grant["strava_grant_id"]]
    row = await stored(connections_service, ATHLETE, "strava")
    assert (row.provider_user_id, row.auth_type, row.status, row.key_id) == (
        str(STRAVA_ID),
        "oauth2",
        "active",
        "k2026",
    )
    assert row.scopes == grant["scopes"]
    assert row.access_expires_at == datetime.fromisoformat(grant["expires_at"])
    [linked] = await event_data(connections_service, LINKED)
    assert (linked["user_id"], linked["provider"], linked["provider_user_id"], linked["relinked"]) == (
        ATHLETE,
        "strava",
        str(STRAVA_ID),
        False,
    )
    assert linked["actor"] == {"type": "athlete", "id": ATHLETE}
    mentions = mentions_in(connections_service.sessionmaker)
    assert await mentions(grant["access_token"]) == {}
    assert await mentions(grant["refresh_token"]) == {}
    handed = await hand_out(connections_service, "strava", user_id=ATHLETE)
    assert handed.status_code == 200 and handed.json()["access_token"] == grant["access_token"]


async def test_a_newer_sign_in_replaces_the_tokens_of_the_same_connection(
    connections_service: ConnectionsUnderTest,
) -> None:
    first, _ = await strava_sign_in(connections_service, ATHLETE, STRAVA_ID)
    await connections_service.deliver(first)
    before = await stored(connections_service, ATHLETE, "strava")
    second, newer = await strava_sign_in(connections_service, ATHLETE, STRAVA_ID)

    await connections_service.deliver(second)

    after = await stored(connections_service, ATHLETE, "strava")
    assert (after.id, after.created_at) == (before.id, before.created_at)
    tokens = await stored_tokens(connections_service, ATHLETE, "strava")
    assert tokens.access_token.get_secret_value() == newer["access_token"]
    assert (
        tokens.refresh_token is not None and tokens.refresh_token.get_secret_value() == newer["refresh_token"]
    )
    assert [event["relinked"] for event in await event_data(connections_service, LINKED)] == [False, True]


async def test_a_grant_claimed_already_is_nothing_to_do(connections_service: ConnectionsUnderTest) -> None:
    signed_in, grant = await strava_sign_in(connections_service, ATHLETE, STRAVA_ID)
    await connections_service.deliver(signed_in)
    before = await stored(connections_service, ATHLETE, "strava")

    # Identity answers 404 to a second claim: the replayed event is processed, and changes nothing.
    await connections_service.deliver(again(signed_in))

    after = await stored(connections_service, ATHLETE, "strava")
    assert (after.access_token_sealed, after.data_key_sealed, after.updated_at) == (
        before.access_token_sealed,
        before.data_key_sealed,
        before.updated_at,
    )
    assert connections_service.identity.claims == [grant["strava_grant_id"]] * 2
    assert len(await connections_service.staged_events(LINKED)) == 1


async def test_a_grant_identity_answers_for_another_athlete_is_dead_lettered_and_not_stored(
    connections_service: ConnectionsUnderTest,
) -> None:
    signed_in, grant = await strava_sign_in(connections_service, ATHLETE, STRAVA_ID)
    connections_service.identity.issue({**grant, "user_id": OTHER})

    with pytest.raises(AssertionError, match="dead-lettered"):
        await connections_service.deliver(signed_in)

    assert await connection_rows(connections_service) == []
    assert await connections_service.staged_events(LINKED) == []


async def test_a_claim_identity_refuses_is_dead_lettered_not_dropped(
    connections_service: ConnectionsUnderTest,
) -> None:
    signed_in, grant = await strava_sign_in(connections_service, ATHLETE, STRAVA_ID)
    connections_service.identity.internal_token = "a-token-identity-does-not-know"

    with pytest.raises(AssertionError, match="dead-lettered"):
        await connections_service.deliver(signed_in)

    assert await connection_rows(connections_service) == []
    assert grant["strava_grant_id"] in connections_service.identity.grants  # still waiting to be claimed


async def test_a_sealed_token_copied_into_another_athletes_row_does_not_open(
    connections_service: ConnectionsUnderTest,
) -> None:
    for user_id, athlete_id in ((ATHLETE, STRAVA_ID), (OTHER, OTHER_STRAVA_ID)):
        await connections_service.deliver((await strava_sign_in(connections_service, user_id, athlete_id))[0])
    victim = await stored(connections_service, ATHLETE, "strava")
    keyring = connections_service.resources.keyring

    for copied in (
        {"access_token_sealed": victim.access_token_sealed},
        {"access_token_sealed": victim.access_token_sealed, "data_key_sealed": victim.data_key_sealed},
    ):
        async with connections_service.sessionmaker() as session, session.begin():
            await session.exec(
                update(ProviderConnection)  # type: ignore[call-overload]
                .where(col(ProviderConnection.user_id) == OTHER)
                .values(**copied)
            )
        with pytest.raises(SealError):
            open_tokens(keyring, await stored(connections_service, OTHER, "strava"))


# Withdrawn at the provider


async def test_strava_telling_the_athlete_withdrew_access_revokes_the_connection_and_wipes_its_tokens(
    connections_service: ConnectionsUnderTest,
) -> None:
    signed_in, grant = await strava_sign_in(connections_service, ATHLETE, STRAVA_ID)
    await connections_service.deliver(signed_in)
    connection = await stored(connections_service, ATHLETE, "strava")
    await connections_service.strava.revoke_grant(STRAVA_ID)  # the athlete removes Relay at Strava

    await connections_service.deliver(notification("strava", str(STRAVA_ID), authorized="false"))

    row = await stored(connections_service, ATHLETE, "strava")
    assert (row.status, row.status_reason) == ("revoked", "deauthorized_at_provider")
    assert (row.access_token_sealed, row.refresh_token_sealed, row.data_key_sealed, row.key_id) == (None,) * 4
    assert (row.access_expires_at, row.refresh_expires_at) == (None, None)
    [revoked] = await event_data(connections_service, REVOKED)
    assert (
        revoked["connection_id"],
        revoked["user_id"],
        revoked["provider"],
        revoked["provider_user_id"],
    ) == (
        str(connection.id),
        ATHLETE,
        "strava",
        str(STRAVA_ID),
    )
    assert (revoked["reason"], revoked["erase_provider_data"], revoked["revoked_at_provider"]) == (
        "deauthorized_at_provider",
        True,
        True,
    )
    assert revoked["actor"]["type"] == "system"
    refused = await hand_out(connections_service, "strava", user_id=ATHLETE)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "revoked"
    seen = await connections_service.client.get(
        f"/api/providers/connections/{connection.id}", headers=connections_service.athlete(ATHLETE)
    )
    assert seen.json()["status"] == "revoked"
    [activity] = await connections_service.rows(
        "SELECT deauthorized_at FROM provider_account_activity "
        "WHERE provider = 'strava' AND provider_user_id = $1",
        str(STRAVA_ID),
    )
    assert activity["deauthorized_at"] is not None
    mentions = mentions_in(connections_service.sessionmaker)
    assert await mentions(grant["access_token"]) == {} and await mentions(grant["refresh_token"]) == {}

    # Told twice, revoked once.
    await connections_service.deliver(notification("strava", str(STRAVA_ID), authorized="false"))
    assert len(await connections_service.staged_events(REVOKED)) == 1


async def test_a_sign_in_after_the_athlete_withdrew_access_links_strava_again(
    connections_service: ConnectionsUnderTest,
) -> None:
    await connections_service.deliver((await strava_sign_in(connections_service, ATHLETE, STRAVA_ID))[0])
    await connections_service.strava.revoke_grant(STRAVA_ID)
    await connections_service.deliver(notification("strava", str(STRAVA_ID), authorized="false"))
    assert (await stored(connections_service, ATHLETE, "strava")).status == "revoked"
    signed_in, grant = await strava_sign_in(connections_service, ATHLETE, STRAVA_ID)

    await connections_service.deliver(signed_in)

    row = await stored(connections_service, ATHLETE, "strava")
    assert (row.status, row.status_reason) == ("active", None)
    handed = await hand_out(connections_service, "strava", user_id=ATHLETE)
    assert handed.status_code == 200 and handed.json()["access_token"] == grant["access_token"]


@pytest.mark.parametrize("provider", ["garmin", "fitbit"])
async def test_a_deauthorize_notification_of_another_provider_revokes_its_connection(
    connections_service: ConnectionsUnderTest, provider: str
) -> None:
    connection = await link_new_account(connections_service, ATHLETE, provider)

    await connections_service.deliver(
        notification(provider, connection["provider_user_id"], aspect_type="deauthorize")
    )

    row = await stored(connections_service, ATHLETE, provider)
    assert (row.status, row.access_token_sealed) == ("revoked", None)
    [revoked] = await event_data(connections_service, REVOKED)
    assert (revoked["provider"], revoked["reason"]) == (provider, "deauthorized_at_provider")


async def test_an_account_withdrawn_from_one_athlete_and_linked_by_another_is_the_other_athletes(
    connections_service: ConnectionsUnderTest,
) -> None:
    account = (await link_new_account(connections_service, ATHLETE, "garmin"))["provider_user_id"]
    await connections_service.deliver(notification("garmin", account, aspect_type="deauthorize"))
    await connections_service.providers.queue_user("garmin", user_id=account)
    assert (await connections_service.link(OTHER, "garmin"))["provider_user_id"] == account

    # Ingestion names the account as the provider's notifications do: it gets the live connection's token.
    handed = await hand_out(connections_service, "garmin", provider_user_id=account)
    assert handed.status_code == 200, handed.text
    assert handed.json()["user_id"] == OTHER

    # Withdrawn again, at the provider: the live connection is the one revoked.
    await connections_service.deliver(notification("garmin", account, aspect_type="deauthorize"))
    assert await connection_rows(connections_service) == [
        (ATHLETE, "garmin", "revoked"),
        (OTHER, "garmin", "revoked"),
    ]
    assert [e["user_id"] for e in await event_data(connections_service, REVOKED)] == [ATHLETE, OTHER]


async def test_other_notifications_leave_the_connection_linked_and_are_counted(
    connections_service: ConnectionsUnderTest,
) -> None:
    await connections_service.deliver((await strava_sign_in(connections_service, ATHLETE, STRAVA_ID))[0])

    await connections_service.deliver(notification("strava", str(STRAVA_ID), authorized="true"))
    await connections_service.deliver(notification("strava", str(STRAVA_ID), aspect_type="create"))

    assert (await stored(connections_service, ATHLETE, "strava")).status == "active"
    assert await connections_service.staged_events(REVOKED) == []
    [activity] = await connections_service.rows(
        "SELECT notifications_received, deauthorized_at FROM provider_account_activity "
        "WHERE provider_user_id = $1",
        str(STRAVA_ID),
    )
    assert (activity["notifications_received"], activity["deauthorized_at"]) == (2, None)


# Deleted accounts


async def relayed(service: ConnectionsUnderTest) -> None:
    """Waits until the outbox relay has sent every staged event to Kafka."""
    for _ in range(100):
        [pending] = await service.rows("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
        if pending["n"] == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the outbox relay did not send the staged events")


async def test_a_deleted_account_leaves_nothing_of_the_athlete_in_any_table(
    connections_service: ConnectionsUnderTest,
) -> None:
    service = connections_service
    await service.deliver((await strava_sign_in(service, ATHLETE, STRAVA_ID))[0])
    accounts = [str(STRAVA_ID)]
    for provider in ("garmin", "oura"):
        accounts.append((await link_new_account(service, ATHLETE, provider))["provider_user_id"])
        await service.deliver(notification(provider, accounts[-1], aspect_type="create"))
    await service.deliver(notification("strava", str(STRAVA_ID), aspect_type="create"))
    garmin = await stored(service, ATHLETE, "garmin")
    synced = await service.client.post(
        f"/api/providers/connections/{garmin.id}/sync", headers=service.athlete(ATHLETE)
    )
    assert synced.status_code == 202, synced.text
    assert (await hand_out(service, "oura", user_id=ATHLETE)).status_code == 200
    await service.start_link(ATHLETE, "whoop")  # a link attempt left unfinished
    other = (await link_new_account(service, OTHER, "garmin"))["provider_user_id"]
    await service.deliver(notification("garmin", other, aspect_type="create"))
    await relayed(service)

    await service.deliver(account_deleted(ATHLETE, STRAVA_ID))

    mentions = mentions_in(service.sessionmaker)
    for value in (ATHLETE, *accounts):
        assert await mentions(value) == {}, value
    assert await service.rows("SELECT 1 FROM link_attempts WHERE user_id = $1", ATHLETE) == []
    assert await connection_rows(service) == [(OTHER, "garmin", "active")]
    assert set(await mentions(other)) >= {"provider_connections", "provider_account_activity"}
    assert (await hand_out(service, "garmin", user_id=OTHER)).status_code == 200


async def test_an_account_deleted_without_a_strava_id_still_loses_its_strava_connection(
    connections_service: ConnectionsUnderTest,
) -> None:
    await connections_service.deliver((await strava_sign_in(connections_service, ATHLETE, STRAVA_ID))[0])
    await connections_service.deliver(notification("strava", str(STRAVA_ID), aspect_type="create"))
    await relayed(connections_service)

    await connections_service.deliver(account_deleted(ATHLETE, None))

    assert await connection_rows(connections_service) == []
    assert await mentions_in(connections_service.sessionmaker)(str(STRAVA_ID)) == {}
