"""Tokens at rest: rotating the keyring re-seals every connection while the service keeps handing tokens
out, and a dump of the database taken after every kind of link, refresh and claim holds no token and no
password in clear."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from pydantic import SecretStr

from connections.cli import main, reseal_all
from connections.providers.coros_hub import password_digest
from connections.tokens import open_tokens, token_context
from relay_platform.crypto import Keyring, SealError, generate_key

from .conftest import ConnectionsUnderTest
from .lifecycle import (
    hand_out,
    link_new_account,
    set_access_expiry,
    stored,
    stored_tokens,
    strava_sign_in,
)

pytestmark = pytest.mark.integration

ATHLETE = "usr_ines_2b9d70"
LINKED = ("strava", "garmin", "oura", "polar", "coros")
EVERY_OAUTH_PROVIDER = ("strava", "garmin", "coros", "polar", "oura", "whoop", "fitbit", "wahoo")
COROS_EMAIL, COROS_PASSWORD = "ines@example.org", "Tr41ning-hub-Passw0rd!"


def with_new_key_first(keyring: Keyring) -> tuple[Keyring, Keyring]:
    """The keyring with a new key put first (the old ones kept after it), and the new key alone."""
    new = Keyring.parse(f"k2027:{generate_key()}")
    return Keyring(keys={**new.keys, **keyring.keys}, active_kid=new.active_kid), new


def restart_with(service: ConnectionsUnderTest, keyring: Keyring) -> None:
    """The running service now seals and opens with `keyring`, as after a restart with new settings."""
    runtime = service.app.state.runtime
    runtime.resources = replace(runtime.resources, keyring=keyring)


async def sealed_rows(service: ConnectionsUnderTest) -> dict[str, asyncpg.Record]:
    rows = await service.rows(
        "SELECT provider, key_id, data_key_sealed, access_token_sealed, refresh_token_sealed "
        "FROM provider_connections WHERE user_id = $1",
        ATHLETE,
    )
    return {row["provider"]: row for row in rows}


async def opened_with(
    service: ConnectionsUnderTest, keyring: Keyring, provider: str
) -> tuple[str, str | None]:
    tokens = open_tokens(keyring, await stored(service, ATHLETE, provider))
    assert tokens is not None
    refresh = tokens.refresh_token.get_secret_value() if tokens.refresh_token else None
    return tokens.access_token.get_secret_value(), refresh


async def link_with_password(service: ConnectionsUnderTest, user_id: str) -> None:
    await service.providers.add_coros_account(COROS_EMAIL, COROS_PASSWORD)
    linked = await service.client.post(
        "/api/providers/coros_training_hub/login",
        json={"email": COROS_EMAIL, "password": COROS_PASSWORD},
        headers=service.athlete(user_id),
    )
    assert linked.status_code == 200, linked.text


# Key rotation


async def test_rotating_the_keyring_reseals_every_connection_while_tokens_are_still_handed_out(
    connections_service: ConnectionsUnderTest,
) -> None:
    for provider in LINKED:
        await link_new_account(connections_service, ATHLETE, provider)
    old = connections_service.resources.keyring
    before = {provider: await opened_with(connections_service, old, provider) for provider in LINKED}
    rotated, new_only = with_new_key_first(old)

    restart_with(connections_service, rotated)
    for provider in LINKED:  # sealed under the old key, still opening
        assert (await hand_out(connections_service, provider, user_id=ATHLETE)).status_code == 200
    await link_new_account(connections_service, ATHLETE, "whoop")  # sealed under the new key at once
    sealed_before = await sealed_rows(connections_service)
    assert {provider: row["key_id"] for provider, row in sealed_before.items()} == {
        **dict.fromkeys(LINKED, "k2026"),
        "whoop": "k2027",
    }

    done = await reseal_all(connections_service.sessionmaker, rotated)

    assert (done.resealed, done.active_kid, done.remaining) == (len(LINKED), "k2027", {})
    sealed_after = await sealed_rows(connections_service)
    for provider, row in sealed_after.items():
        assert row["key_id"] == "k2027" and row["data_key_sealed"].startswith("v1.k2027."), provider
        # Only the data key was sealed again: the tokens never left the database to be re-encrypted.
        assert row["access_token_sealed"] == sealed_before[provider]["access_token_sealed"]
        assert row["refresh_token_sealed"] == sealed_before[provider]["refresh_token_sealed"]
    for provider in LINKED:
        assert await opened_with(connections_service, rotated, provider) == before[provider]
        assert await opened_with(connections_service, new_only, provider) == before[provider]
        with pytest.raises(SealError):
            await opened_with(connections_service, old, provider)
    assert (await reseal_all(connections_service.sessionmaker, rotated)).resealed == 0

    # The old key removed from the settings: every token still opens.
    restart_with(connections_service, new_only)
    for provider in (*LINKED, "whoop"):
        handed = await hand_out(connections_service, provider, user_id=ATHLETE)
        assert handed.status_code == 200, handed.text


async def test_rows_the_service_holds_are_skipped_and_resealed_at_the_next_run(
    connections_service: ConnectionsUnderTest,
) -> None:
    for provider in ("garmin", "oura", "wahoo"):
        await link_new_account(connections_service, ATHLETE, provider)
    rotated, _ = with_new_key_first(connections_service.resources.keyring)
    holder = await asyncpg.connect(connections_service.database_url.replace("+asyncpg", ""))
    try:
        async with holder.transaction():
            await holder.execute(
                "SELECT 1 FROM provider_connections WHERE user_id = $1 AND provider = 'oura' FOR UPDATE",
                ATHLETE,
            )
            first = await reseal_all(connections_service.sessionmaker, rotated)
    finally:
        await holder.close()

    assert (first.resealed, first.remaining) == (2, {"k2026": 1})
    assert {p: row["key_id"] for p, row in (await sealed_rows(connections_service)).items()} == {
        "garmin": "k2027",
        "oura": "k2026",
        "wahoo": "k2027",
    }

    second = await reseal_all(connections_service.sessionmaker, rotated)

    assert (second.resealed, second.remaining) == (1, {})
    assert {row["key_id"] for row in (await sealed_rows(connections_service)).values()} == {"k2027"}


async def test_the_operators_command_reseals_under_the_first_key_of_the_settings(
    connections_service: ConnectionsUnderTest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for provider in ("garmin", "fitbit"):
        await link_new_account(connections_service, ATHLETE, provider)
    monkeypatch.setenv(
        "CONNECTIONS_TOKEN_KEYS", f"k2027:{generate_key()},{os.environ['CONNECTIONS_TOKEN_KEYS']}"
    )

    # `python -m connections.cli reseal-tokens`, with its own event loop, as an operator runs it.
    assert await asyncio.to_thread(main, ["reseal-tokens"]) == 0

    assert "re-sealed 2 connection(s) under key k2027" in capsys.readouterr().out
    assert {row["key_id"] for row in (await sealed_rows(connections_service)).values()} == {"k2027"}


async def test_tokens_sealed_before_data_keys_existed_keep_opening_and_move_to_a_data_key(
    connections_service: ConnectionsUnderTest,
) -> None:
    await link_new_account(connections_service, ATHLETE, "strava")
    tokens = await stored_tokens(connections_service, ATHLETE, "strava")
    keyring = connections_service.resources.keyring
    older = Keyring(keys=keyring.keys, active_kid="k2025")  # the key that sealed them, second in the keyring

    def seal_directly(token: SecretStr | None, purpose: str) -> str | None:
        if token is None:
            return None
        context = token_context("strava", ATHLETE, purpose)
        return older.seal(token.get_secret_value().encode(), context=context)

    await connections_service.rows(
        "UPDATE provider_connections SET access_token_sealed = $2, refresh_token_sealed = $3, "
        "data_key_sealed = NULL, key_id = 'k2025' WHERE user_id = $1",
        ATHLETE,
        seal_directly(tokens.access_token, "access"),
        seal_directly(tokens.refresh_token, "refresh"),
    )
    handed = await hand_out(connections_service, "strava", user_id=ATHLETE)
    assert (
        handed.status_code == 200 and handed.json()["access_token"] == tokens.access_token.get_secret_value()
    )

    done = await reseal_all(connections_service.sessionmaker, keyring)

    assert (done.resealed, done.remaining) == (1, {})
    row = await stored(connections_service, ATHLETE, "strava")
    assert row.key_id == "k2026" and row.data_key_sealed is not None
    assert await stored_tokens(connections_service, ATHLETE, "strava") == tokens
    without_older = Keyring(keys={"k2026": keyring.keys["k2026"]}, active_kid="k2026")
    assert open_tokens(without_older, row) == tokens


# A dump of the database


async def test_a_database_dump_holds_no_token_and_no_password(
    connections_service: ConnectionsUnderTest,
) -> None:
    strava_tokens: list[str] = []
    for provider in EVERY_OAUTH_PROVIDER:
        await link_new_account(connections_service, ATHLETE, provider)
    await link_with_password(connections_service, ATHLETE)
    linked_strava = await stored_tokens(connections_service, ATHLETE, "strava")
    for provider in ("strava", "garmin", "whoop", "fitbit"):
        await set_access_expiry(
            connections_service, ATHLETE, provider, datetime.now(UTC) + timedelta(minutes=1)
        )
        refreshed = await hand_out(connections_service, provider, user_id=ATHLETE)
        assert refreshed.status_code == 200 and refreshed.json()["refreshed"] is True, refreshed.text
    signed_in, grant = await strava_sign_in(connections_service, "usr_signed_in_5e3a", 81_726_354)
    await connections_service.deliver(signed_in)
    for tokens in (linked_strava, await stored_tokens(connections_service, ATHLETE, "strava")):
        strava_tokens += [tokens.access_token.get_secret_value()]
        strava_tokens += [tokens.refresh_token.get_secret_value()] if tokens.refresh_token else []
    strava_tokens += [grant["access_token"], grant["refresh_token"]]
    provider_tokens = await connections_service.providers.issued_tokens()
    assert len(provider_tokens) > 2 * len(EVERY_OAUTH_PROVIDER)

    dump = await pg_dump(connections_service.database_url)

    # The rows are there, sealed.
    assert "provider_connections" in dump and "usr_signed_in_5e3a" in dump and "v1.k2026." in dump
    assert [t for t in provider_tokens if t in dump] == []
    assert [t for t in strava_tokens if t in dump] == []
    assert COROS_PASSWORD not in dump
    assert password_digest(SecretStr(COROS_PASSWORD)) not in dump


async def pg_dump(database_url: str) -> str:
    dumping = await asyncio.create_subprocess_exec(
        "pg_dump",
        "--no-owner",
        "--dbname",
        database_url.replace("+asyncpg", ""),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await dumping.communicate()
    assert dumping.returncode == 0, err.decode()
    return out.decode()
