"""Strava tokens claimed from identity land sealed in the real database, open again for their athlete
only, and go with everything else about the athlete when the account is deleted."""

import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from connections import repository, service
from connections.models import ProviderAccountActivity, ProviderCredential
from relay_contracts import Envelope
from relay_contracts.catalog import IDENTITY_STRAVA_GRANT_ISSUED, IDENTITY_USER_DELETED
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import StravaGrantIssued, UserDeleted
from relay_platform.crypto import Keyring, SealError
from relay_platform.outbox import OutboxMessage

pytestmark = pytest.mark.integration

Deliver = Callable[[Envelope], Awaitable[str]]
Mentions = Callable[[str], Awaitable[dict[str, int]]]
Sessions = async_sessionmaker[AsyncSession]

EXPIRES = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)


class FakeIdentity(Protocol):
    """The stand-in for identity's claim endpoint (conftest.py)."""

    grants: dict[str, dict[str, Any]]
    claims: list[str]

    def issue(self, grant: dict[str, Any]) -> None: ...


def sign_in(
    identity: FakeIdentity, *, user_id: str = "usr_01", athlete_id: str = "134815"
) -> tuple[Envelope, dict[str, Any]]:
    """A Strava sign-in as identity records it: the grant waiting to be claimed, and its event."""
    grant = {
        "strava_grant_id": f"sg_{uuid.uuid4().hex[:12]}",
        "user_id": user_id,
        "strava_athlete_id": athlete_id,
        "access_token": secrets.token_hex(20),
        "refresh_token": secrets.token_hex(20),
        "expires_at": EXPIRES.isoformat(),
        "scopes": ["read", "activity:read_all", "profile:read_all"],
    }
    identity.issue(grant)
    issued = StravaGrantIssued(
        strava_grant_id=grant["strava_grant_id"],
        user_id=user_id,
        strava_athlete_id=athlete_id,
        scopes=grant["scopes"],
        access_expires_at=EXPIRES,
    )
    return IDENTITY_STRAVA_GRANT_ISSUED.envelope(issued, subject=user_id), grant


def user_deleted(user_id: str = "usr_01", athlete_id: str | None = "134815") -> Envelope:
    deleted = UserDeleted(
        user_id=user_id,
        strava_athlete_id=athlete_id,
        deleted_at=datetime.now(UTC),
        actor=Actor(type="athlete", id=user_id),
    )
    return IDENTITY_USER_DELETED.envelope(deleted, subject=user_id)


async def credentials(sessionmaker: Sessions) -> list[ProviderCredential]:
    async with sessionmaker() as session:
        return list(
            (await session.exec(select(ProviderCredential).order_by(col(ProviderCredential.user_id)))).all()
        )


async def tokens_of(sessionmaker: Sessions, keyring: Keyring, user_id: str) -> service.ProviderTokens | None:
    async with sessionmaker() as session:
        return await service.provider_tokens(session, keyring, user_id, "strava")


async def test_a_claimed_grant_is_kept_sealed_and_opens_again(
    deliver: Deliver, identity: FakeIdentity, sessionmaker: Sessions, keyring: Keyring, mentions: Mentions
) -> None:
    event, grant = sign_in(identity)

    assert await deliver(event) == "processed"

    [row] = await credentials(sessionmaker)
    assert (row.user_id, row.provider, row.provider_user_id) == ("usr_01", "strava", "134815")
    assert row.scopes == grant["scopes"]
    assert row.key_id == "k2026"
    assert row.access_expires_at == EXPIRES
    assert await mentions(grant["access_token"]) == {}
    assert await mentions(grant["refresh_token"]) == {}
    opened = await tokens_of(sessionmaker, keyring, "usr_01")
    assert opened is not None
    assert opened.access_token.get_secret_value() == grant["access_token"]
    assert opened.refresh_token.get_secret_value() == grant["refresh_token"]
    assert identity.claims == [grant["strava_grant_id"]]


async def test_a_grant_claimed_already_is_nothing_to_do(
    deliver: Deliver, identity: FakeIdentity, sessionmaker: Sessions
) -> None:
    event, grant = sign_in(identity)
    await deliver(event)
    before = await credentials(sessionmaker)

    # The same grant announced again (a replay of the event under a new id): identity answers 404.
    again = event.model_copy(update={"id": uuid.uuid4()})
    assert await deliver(again) == "processed"

    assert await credentials(sessionmaker) == before
    assert identity.claims == [grant["strava_grant_id"]] * 2


async def test_a_newer_sign_in_replaces_the_tokens(
    deliver: Deliver, identity: FakeIdentity, sessionmaker: Sessions, keyring: Keyring
) -> None:
    first, _ = sign_in(identity)
    await deliver(first)
    [before] = await credentials(sessionmaker)
    second, newer = sign_in(identity)

    await deliver(second)

    [after] = await credentials(sessionmaker)
    assert after.id == before.id
    assert after.created_at == before.created_at
    opened = await tokens_of(sessionmaker, keyring, "usr_01")
    assert opened is not None
    assert opened.access_token.get_secret_value() == newer["access_token"]


async def test_a_sealed_token_copied_into_another_athletes_row_does_not_open(
    deliver: Deliver, identity: FakeIdentity, sessionmaker: Sessions, keyring: Keyring
) -> None:
    for user_id, athlete_id in (("usr_01", "134815"), ("usr_02", "271828")):
        await deliver(sign_in(identity, user_id=user_id, athlete_id=athlete_id)[0])
    first, _ = await credentials(sessionmaker)

    async with sessionmaker() as session, session.begin():
        await session.exec(
            update(ProviderCredential)  # type: ignore[call-overload]
            .where(col(ProviderCredential.user_id) == "usr_02")
            .values(access_token_sealed=first.access_token_sealed)
        )

    with pytest.raises(SealError):
        await tokens_of(sessionmaker, keyring, "usr_02")


@pytest.mark.parametrize("internal_token", ["a-token-identity-does-not-know"])
async def test_a_claim_identity_refuses_is_dead_lettered_not_dropped(
    deliver: Deliver, identity: FakeIdentity, sessionmaker: Sessions
) -> None:
    event, grant = sign_in(identity)

    assert await deliver(event) == "dead_lettered"

    assert await credentials(sessionmaker) == []
    assert grant["strava_grant_id"] in identity.grants  # still waiting to be claimed


async def test_a_deleted_account_leaves_nothing_behind(
    deliver: Deliver, identity: FakeIdentity, sessionmaker: Sessions, mentions: Mentions
) -> None:
    await deliver(sign_in(identity)[0])
    await deliver(sign_in(identity, user_id="usr_02", athlete_id="271828")[0])
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        for athlete_id in ("134815", "271828"):
            await repository.count_provider_notification(
                session, "strava", athlete_id, now, deauthorized=False
            )
        await session.exec(
            insert(OutboxMessage).values(  # type: ignore[call-overload]
                [
                    outbox_row("usr_01", published=True),
                    outbox_row("strava:134815", published=True),
                    outbox_row("usr_01", published=False),  # the relay must still send it
                    outbox_row("usr_02", published=True),
                ]
            )
        )

    assert await deliver(user_deleted()) == "processed"

    assert [c.user_id for c in await credentials(sessionmaker)] == ["usr_02"]
    async with sessionmaker() as session:
        accounts = (await session.exec(select(ProviderAccountActivity.provider_user_id))).all()
        outbox = (
            await session.exec(select(OutboxMessage.key, col(OutboxMessage.published_at).is_(None)))
        ).all()
    assert list(accounts) == ["271828"]
    assert sorted(outbox) == [("usr_01", True), ("usr_02", False)]
    assert await mentions("134815") == {}


async def test_an_account_deleted_without_a_strava_id_still_loses_its_tokens(
    deliver: Deliver, identity: FakeIdentity, sessionmaker: Sessions
) -> None:
    await deliver(sign_in(identity)[0])
    async with sessionmaker() as session, session.begin():
        await repository.count_provider_notification(
            session, "strava", "134815", datetime.now(UTC), deauthorized=False
        )

    await deliver(user_deleted(athlete_id=None))

    assert await credentials(sessionmaker) == []
    async with sessionmaker() as session:
        assert await repository.get_provider_account(session, "strava", "134815") is None


def outbox_row(key: str, *, published: bool) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "topic": "relay.connections.events",
        "key": key,
        "event_type": "connections.test.happened",
        "payload": {"subject": key},
        "headers": {},
        "published_at": datetime.now(UTC) - timedelta(minutes=1) if published else None,
    }
