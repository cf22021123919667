"""Providers' tokens sealed at rest: each connection's tokens under its own data key, bound to their
athlete, provider and purpose, the data key sealed by the keyring; re-sealing after a key rotation, and
rows sealed by the keyring itself before data keys existed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from connections.models import ProviderConnection
from connections.providers.base import Tokens
from connections.tokens import forget_tokens, open_tokens, reseal_tokens, seal_tokens, token_context
from relay_platform.crypto import Keyring, SealError, generate_key

ACCESS, REFRESH, SECRET = "acc-6f1d0e94b2c7a358", "ref-0c93e7a1d5b24f68", "sec-9a8b7c6d5e4f3a2b"
EXPIRES = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)
REFRESH_EXPIRES = datetime(2027, 2, 28, 13, 30, tzinfo=UTC)


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.parse(f"k2026:{generate_key()},k2025:{generate_key()}")


def tokens(*, token_secret: str | None = None) -> Tokens:
    return Tokens(
        access_token=SecretStr(ACCESS),
        refresh_token=SecretStr(REFRESH),
        expires_at=EXPIRES,
        refresh_expires_at=REFRESH_EXPIRES,
        scopes=["activity", "heartrate"],
        token_secret=SecretStr(token_secret) if token_secret else None,
    )


def connection(user_id: str = "usr_01", provider: str = "fitbit") -> ProviderConnection:
    return ProviderConnection(
        user_id=user_id,
        provider=provider,
        provider_user_id="7QX2LB",
        auth_type="oauth2_pkce",
        scopes=[],
        linked_at=datetime(2026, 6, 1, tzinfo=UTC),
    )


def sealed(keyring: Keyring, **fields: str) -> ProviderConnection:
    row = connection(**fields)
    seal_tokens(keyring, row, tokens())
    return row


def copy_of(row: ProviderConnection, **changes: object) -> ProviderConnection:
    return ProviderConnection.model_validate({**row.model_dump(), **changes})


def with_new_key_first(keyring: Keyring) -> Keyring:
    new = Keyring.parse(f"k2027:{generate_key()}")
    return Keyring(keys={**new.keys, **keyring.keys}, active_kid="k2027")


def only(keyring: Keyring, kid: str) -> Keyring:
    return Keyring(keys={kid: keyring.keys[kid]}, active_kid=kid)


def sealed_by_the_keyring_itself(keyring: Keyring, row: ProviderConnection) -> ProviderConnection:
    """A row as stored before data keys existed: each token sealed directly by the keyring."""

    def seal(token: str, purpose: str) -> str:
        return keyring.seal(token.encode(), context=token_context(row.provider, row.user_id, purpose))

    row.access_token_sealed = seal(ACCESS, "access")
    row.refresh_token_sealed = seal(REFRESH, "refresh")
    row.data_key_sealed = None
    row.key_id = keyring.active_kid
    row.access_expires_at, row.refresh_expires_at = EXPIRES, REFRESH_EXPIRES
    row.scopes = ["activity", "heartrate"]
    return row


# Sealing and opening


def test_sealed_tokens_open_again_for_their_connection_with_their_expiries_and_scopes(
    keyring: Keyring,
) -> None:
    row = sealed(keyring)

    assert open_tokens(keyring, row) == tokens()
    assert (row.access_expires_at, row.refresh_expires_at, row.scopes) == (
        EXPIRES,
        REFRESH_EXPIRES,
        ["activity", "heartrate"],
    )
    assert row.key_id == "k2026"
    assert row.data_key_sealed is not None and row.data_key_sealed.startswith("v1.k2026.")


def test_no_stored_column_holds_a_token_in_clear(keyring: Keyring) -> None:
    row = sealed(keyring)

    stored = repr(row.model_dump())
    assert ACCESS not in stored and REFRESH not in stored


def test_an_oauth1_token_secret_is_sealed_and_opened_with_the_tokens(keyring: Keyring) -> None:
    row = connection(provider="garmin")
    seal_tokens(keyring, row, tokens(token_secret=SECRET))

    opened = open_tokens(keyring, row)

    assert opened is not None and opened.token_secret == SecretStr(SECRET)
    assert row.token_secret_sealed is not None and SECRET not in row.token_secret_sealed


def test_every_grant_is_sealed_under_a_fresh_data_key(keyring: Keyring) -> None:
    row = sealed(keyring)
    first = (row.data_key_sealed, row.access_token_sealed, row.refresh_token_sealed)

    seal_tokens(keyring, row, tokens())

    assert first[0] != row.data_key_sealed
    assert first[1] != row.access_token_sealed and first[2] != row.refresh_token_sealed
    assert open_tokens(keyring, row) == tokens()


def test_a_new_grant_without_refresh_token_leaves_none_of_the_old_one(keyring: Keyring) -> None:
    row = sealed(keyring)

    seal_tokens(keyring, row, Tokens(access_token=SecretStr("polar-access-token-0001")))

    opened = open_tokens(keyring, row)
    assert opened is not None and opened.refresh_token is None
    assert (row.refresh_token_sealed, row.refresh_expires_at, row.access_expires_at) == (None, None, None)


def test_a_connection_without_tokens_opens_as_none(keyring: Keyring) -> None:
    assert open_tokens(keyring, connection(provider="health_bridge")) is None


def test_forgotten_tokens_are_gone_with_their_data_key_and_expiries(keyring: Keyring) -> None:
    row = sealed(keyring)

    forget_tokens(row)

    assert open_tokens(keyring, row) is None
    assert (
        row.access_token_sealed,
        row.refresh_token_sealed,
        row.token_secret_sealed,
        row.data_key_sealed,
        row.key_id,
        row.access_expires_at,
        row.refresh_expires_at,
    ) == (None,) * 7
    assert reseal_tokens(with_new_key_first(keyring), row) is False


# What a sealed value is bound to


@pytest.mark.parametrize(
    "changes",
    [{"user_id": "usr_02"}, {"provider": "wahoo"}],
    ids=["another_athlete", "another_provider"],
)
def test_sealed_tokens_copied_to_another_connection_do_not_open(
    keyring: Keyring, changes: dict[str, str]
) -> None:
    row = sealed(keyring)

    with pytest.raises(SealError):
        open_tokens(keyring, copy_of(row, **changes))


def test_a_token_copied_into_another_athletes_row_does_not_open_under_that_rows_data_key(
    keyring: Keyring,
) -> None:
    victim, other = sealed(keyring), sealed(keyring, user_id="usr_02")

    with pytest.raises(SealError):
        open_tokens(keyring, copy_of(other, access_token_sealed=victim.access_token_sealed))


def test_the_access_and_refresh_tokens_do_not_open_in_each_others_place(keyring: Keyring) -> None:
    row = sealed(keyring)
    swapped = copy_of(
        row, access_token_sealed=row.refresh_token_sealed, refresh_token_sealed=row.access_token_sealed
    )

    with pytest.raises(SealError):
        open_tokens(keyring, swapped)


def test_a_tampered_token_does_not_open(keyring: Keyring) -> None:
    row = sealed(keyring)
    assert row.access_token_sealed is not None
    flipped = row.access_token_sealed[:-4] + (
        "AAAA" if not row.access_token_sealed.endswith("AAAA") else "BBBB"
    )

    with pytest.raises(SealError):
        open_tokens(keyring, copy_of(row, access_token_sealed=flipped))


@pytest.mark.parametrize("malformed", ["", "A", "abc", "!!!", "dG9vIHNob3J0"])
def test_a_malformed_sealed_token_is_a_seal_error(keyring: Keyring, malformed: str) -> None:
    row = sealed(keyring)

    with pytest.raises(SealError):
        open_tokens(keyring, copy_of(row, refresh_token_sealed=malformed))


def test_tokens_do_not_open_with_a_keyring_missing_the_key_that_sealed_them(keyring: Keyring) -> None:
    row = sealed(keyring)

    with pytest.raises(SealError):
        open_tokens(only(keyring, "k2025"), row)


# Key rotation


def test_resealing_under_a_new_key_seals_only_the_data_key_again(keyring: Keyring) -> None:
    row = sealed(keyring)
    before = (row.access_token_sealed, row.refresh_token_sealed)
    rotated = with_new_key_first(keyring)

    assert reseal_tokens(rotated, row) is True

    assert (
        row.key_id == "k2027"
        and row.data_key_sealed is not None
        and row.data_key_sealed.startswith("v1.k2027.")
    )
    assert (row.access_token_sealed, row.refresh_token_sealed) == before
    assert open_tokens(rotated, row) == tokens()
    assert open_tokens(only(rotated, "k2027"), row) == tokens()
    with pytest.raises(SealError):
        open_tokens(keyring, row)


def test_a_connection_sealed_under_the_active_key_needs_no_resealing(keyring: Keyring) -> None:
    row = sealed(keyring)
    before = row.data_key_sealed

    assert reseal_tokens(keyring, row) is False
    assert row.data_key_sealed == before


def test_rows_sealed_under_the_previous_key_keep_opening_until_resealed(keyring: Keyring) -> None:
    row = sealed(keyring)

    assert open_tokens(with_new_key_first(keyring), row) == tokens()


# Rows sealed before data keys existed


def test_tokens_the_keyring_sealed_directly_still_open(keyring: Keyring) -> None:
    row = sealed_by_the_keyring_itself(keyring, connection(provider="strava"))

    assert open_tokens(keyring, row) == tokens()


def test_tokens_the_keyring_sealed_directly_do_not_open_in_another_athletes_row(keyring: Keyring) -> None:
    row = sealed_by_the_keyring_itself(keyring, connection(provider="strava"))

    with pytest.raises(SealError):
        open_tokens(keyring, copy_of(row, user_id="usr_02"))


def test_resealing_a_row_the_keyring_sealed_directly_gives_it_a_data_key(keyring: Keyring) -> None:
    older = replace(keyring, active_kid="k2025")
    row = sealed_by_the_keyring_itself(older, connection(provider="strava"))

    assert reseal_tokens(keyring, row) is True

    assert (
        row.key_id == "k2026"
        and row.data_key_sealed is not None
        and row.data_key_sealed.startswith("v1.k2026.")
    )
    assert row.access_token_sealed is not None and not row.access_token_sealed.startswith("v1.")
    assert open_tokens(only(keyring, "k2026"), row) == tokens()
    assert (row.access_expires_at, row.refresh_expires_at) == (EXPIRES, REFRESH_EXPIRES)


def test_a_row_the_active_key_sealed_directly_is_left_as_it_is(keyring: Keyring) -> None:
    row = sealed_by_the_keyring_itself(keyring, connection(provider="strava"))
    before = row.access_token_sealed

    assert reseal_tokens(keyring, row) is False
    assert row.access_token_sealed == before and row.data_key_sealed is None
    assert open_tokens(keyring, row) == tokens()
