"""Claimed Strava tokens are sealed for their athlete, stored once per athlete, and never logged."""

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from connections import repository, service
from connections.config import Settings
from connections.handlers import identity_event_handlers, subscribe
from connections.identity_client import ClaimedStravaGrant
from connections.models import ProviderCredential
from connections.resources import Connections
from relay_contracts import Envelope
from relay_contracts.catalog import IDENTITY_STRAVA_GRANT_ISSUED, IDENTITY_USER_DELETED
from relay_contracts.events.identity import StravaGrantIssued
from relay_contracts.topics import IDENTITY_EVENTS
from relay_platform.consumers import DeadLetter
from relay_platform.crypto import Keyring, SealError, generate_key
from relay_platform.service import Runtime

ACCESS, REFRESH = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "f0e1d2c3b4a5968778695a4b3c2d1e0f98765432"
EXPIRES = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)


class Grants:
    """identity's claim endpoint: each grant can be claimed once."""

    def __init__(self, *grants: ClaimedStravaGrant) -> None:
        self.unclaimed = {g.strava_grant_id: g for g in grants}
        self.claims: list[str] = []

    async def claim_strava_grant(self, strava_grant_id: str) -> ClaimedStravaGrant | None:
        self.claims.append(strava_grant_id)
        return self.unclaimed.pop(strava_grant_id, None)


def claimed(
    grant_id: str = "sg_01", user_id: str = "usr_01", athlete_id: str = "134815"
) -> ClaimedStravaGrant:
    return ClaimedStravaGrant(
        strava_grant_id=grant_id,
        user_id=user_id,
        strava_athlete_id=athlete_id,
        access_token=SecretStr(ACCESS),
        refresh_token=SecretStr(REFRESH),
        expires_at=EXPIRES,
        scopes=["read", "activity:read_all"],
    )


def issued(grant_id: str = "sg_01", user_id: str = "usr_01", athlete_id: str = "134815") -> StravaGrantIssued:
    return StravaGrantIssued(
        strava_grant_id=grant_id,
        user_id=user_id,
        strava_athlete_id=athlete_id,
        scopes=["read", "activity:read_all"],
        access_expires_at=EXPIRES,
    )


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.parse(f"k2026:{generate_key()},k2025:{generate_key()}")


@pytest.fixture
def saved(monkeypatch: pytest.MonkeyPatch) -> list[ProviderCredential]:
    rows: list[ProviderCredential] = []

    async def save_credential(_: Any, credential: ProviderCredential) -> None:
        rows.append(credential)

    monkeypatch.setattr(repository, "save_credential", save_credential)
    return rows


NO_SESSION: Any = None


async def test_a_claimed_grant_is_stored_sealed_for_its_athlete(
    keyring: Keyring, saved: list[ProviderCredential]
) -> None:
    assert await service.claim_strava_grant(NO_SESSION, Grants(claimed()), keyring, issued())

    [row] = saved
    assert (row.user_id, row.provider, row.provider_user_id) == ("usr_01", "strava", "134815")
    assert row.scopes == ["read", "activity:read_all"]
    assert row.key_id == "k2026"
    assert row.access_expires_at == EXPIRES
    for column in (row.access_token_sealed, row.refresh_token_sealed):
        assert ACCESS not in column
        assert REFRESH not in column
    opened = service.open_credential(keyring, row)
    assert opened.access_token.get_secret_value() == ACCESS
    assert opened.refresh_token.get_secret_value() == REFRESH


async def test_a_sealed_token_does_not_open_in_another_athletes_row_or_as_the_other_token(
    keyring: Keyring, saved: list[ProviderCredential]
) -> None:
    await service.claim_strava_grant(NO_SESSION, Grants(claimed()), keyring, issued())
    [row] = saved

    copied = row.model_copy(update={"user_id": "usr_02"})
    swapped = row.model_copy(update={"access_token_sealed": row.refresh_token_sealed})

    with pytest.raises(SealError):
        service.open_credential(keyring, copied)
    with pytest.raises(SealError):
        service.open_credential(keyring, swapped)


async def test_a_grant_that_cannot_be_claimed_stores_nothing_and_says_so_without_a_token(
    keyring: Keyring, saved: list[ProviderCredential]
) -> None:
    with capture_logs() as logs:
        stored = await service.claim_strava_grant(NO_SESSION, Grants(), keyring, issued())

    assert not stored
    assert saved == []
    assert [(entry["event"], entry["log_level"]) for entry in logs] == [
        ("strava_grant_not_claimable", "info")
    ]


async def test_no_log_line_carries_a_token(keyring: Keyring, saved: list[ProviderCredential]) -> None:
    with capture_logs() as logs:
        await service.claim_strava_grant(NO_SESSION, Grants(claimed()), keyring, issued())
    assert logs
    assert all(ACCESS not in repr(entry) and REFRESH not in repr(entry) for entry in logs)


async def test_a_grant_of_another_athlete_is_not_stored(
    keyring: Keyring, saved: list[ProviderCredential]
) -> None:
    with pytest.raises(service.MismatchedGrant):
        await service.claim_strava_grant(
            NO_SESSION, Grants(claimed(user_id="usr_99")), keyring, issued(user_id="usr_01")
        )
    assert saved == []


def identity_envelope(data: StravaGrantIssued) -> Envelope:
    return IDENTITY_STRAVA_GRANT_ISSUED.envelope(data, subject=data.user_id)


async def test_the_handler_sends_a_grant_of_another_athlete_to_the_dead_letter_topic(
    keyring: Keyring, saved: list[ProviderCredential]
) -> None:
    handlers = identity_event_handlers(Connections(keyring, Grants(claimed(user_id="usr_99"))))
    with pytest.raises(DeadLetter, match="another athlete"):
        await handlers[IDENTITY_STRAVA_GRANT_ISSUED.type](identity_envelope(issued()), NO_SESSION)


def test_one_identity_events_consumer_handles_grants_and_deletions(keyring: Keyring) -> None:
    subscriptions: list[tuple[str, tuple[str, ...], set[str]]] = []
    consumers = SimpleNamespace(
        subscribe=lambda name, topics, handlers: subscriptions.append((name, topics, set(handlers)))
    )
    runtime = SimpleNamespace(consumers=consumers, resources=Connections(keyring, Grants()))

    subscribe(cast(Runtime, runtime))

    identity_subscriptions = [s for s in subscriptions if s[1] == (IDENTITY_EVENTS.name,)]
    assert identity_subscriptions == [
        (
            "identity-events",
            (IDENTITY_EVENTS.name,),
            {IDENTITY_STRAVA_GRANT_ISSUED.type, IDENTITY_USER_DELETED.type},
        )
    ]


def test_the_service_will_not_start_without_its_internal_token_and_keyring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONNECTIONS_DATABASE_URL", "postgresql+asyncpg://c:Vq93kd-long@db/c")
    with pytest.raises(ValueError, match="identity_internal_token") as raised:
        Settings()
    assert "token_keys" in str(raised.value)


def test_placeholder_secrets_are_refused_outside_development(keyring: Keyring) -> None:
    with pytest.raises(ValueError, match="identity_internal_token"):
        Settings(
            environment="production",
            database_url="postgresql+asyncpg://c:Vq93kd-long@db/c",
            identity_internal_token="changeme",
            token_keys=f"k2026:{generate_key()}",
        )
