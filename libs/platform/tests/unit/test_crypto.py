"""Secrets at rest under a keyring: what a service storing provider tokens relies on."""

import base64
import re

import pytest

from relay_platform.crypto import Keyring, SealError, generate_key

TOKEN = b"strava-refresh-token-5f2c9a"


def keyring(*kids: str) -> Keyring:
    return Keyring.parse(",".join(f"{kid}:{generate_key()}" for kid in kids))


def with_payload(sealed: str, change: bytes) -> str:
    """The sealed value with its nonce, ciphertext and tag XOR-ed with `change` from the first byte."""
    version, kid, payload = sealed.split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload))
    for index, byte in enumerate(change):
        raw[index] ^= byte
    return f"{version}.{kid}.{base64.urlsafe_b64encode(bytes(raw)).decode()}"


def test_a_sealed_value_opens_to_its_plaintext_in_the_same_context() -> None:
    ring = keyring("2026-01")
    sealed = ring.seal(TOKEN, context="connection:41")
    assert ring.open(sealed, context="connection:41") == TOKEN


def test_an_empty_secret_round_trips() -> None:
    ring = keyring("k1")
    assert ring.open(ring.seal(b"", context="c"), context="c") == b""


def test_a_sealed_value_names_its_key_and_never_contains_the_plaintext() -> None:
    ring = keyring("2026-01")
    sealed = ring.seal(TOKEN, context="connection:41")
    assert sealed.startswith("v1.2026-01.")
    assert TOKEN.decode() not in sealed
    assert base64.b64encode(TOKEN).decode() not in sealed
    assert TOKEN not in base64.urlsafe_b64decode(sealed.split(".")[2])


def test_sealing_the_same_secret_twice_gives_different_values() -> None:
    ring = keyring("k1")
    assert ring.seal(TOKEN, context="c") != ring.seal(TOKEN, context="c")


def test_a_value_copied_into_another_record_does_not_open() -> None:
    ring = keyring("k1")
    sealed = ring.seal(TOKEN, context="connection:41")
    with pytest.raises(SealError):
        ring.open(sealed, context="connection:42")


@pytest.mark.parametrize(
    "change",
    [b"\x01", b"\x00" * 12 + b"\x80", b"\x00" * (12 + len(TOKEN)) + b"\x01"],
    ids=["nonce", "ciphertext", "tag"],
)
def test_a_tampered_value_does_not_open(change: bytes) -> None:
    ring = keyring("k1")
    sealed = ring.seal(TOKEN, context="c")
    with pytest.raises(SealError):
        ring.open(with_payload(sealed, change), context="c")


def test_a_truncated_value_does_not_open() -> None:
    ring = keyring("k1")
    sealed = ring.seal(TOKEN, context="c")
    version, kid, payload = sealed.split(".")
    raw = base64.urlsafe_b64decode(payload)
    truncated = f"{version}.{kid}.{base64.urlsafe_b64encode(raw[:-1]).decode()}"
    with pytest.raises(SealError):
        ring.open(truncated, context="c")


@pytest.mark.parametrize(
    "garbage",
    ["", "not a sealed value", "v1.k1", "v1.k1.", "v1.k1.@@@not-base64@@@", "v1.k1.AAAA", "v2.k1.AAAA"],
)
def test_a_malformed_value_is_refused_with_a_seal_error(garbage: str) -> None:
    with pytest.raises(SealError):
        keyring("k1").open(garbage, context="c")


@pytest.mark.parametrize("garbage", ["", "no-dots-at-all", "v1.k1", "v2.k1.AAAA"])
def test_asking_whether_a_malformed_value_needs_resealing_is_a_seal_error(garbage: str) -> None:
    with pytest.raises(SealError):
        keyring("k1").needs_resealing(garbage)


def test_a_value_sealed_under_a_key_the_keyring_does_not_hold_is_refused() -> None:
    sealed = keyring("old").seal(TOKEN, context="c")
    with pytest.raises(SealError):
        keyring("other").open(sealed, context="c")


def test_a_value_sealed_under_another_key_with_the_same_kid_is_refused() -> None:
    sealed = keyring("k1").seal(TOKEN, context="c")
    with pytest.raises(SealError):
        keyring("k1").open(sealed, context="c")


def test_after_rotation_the_new_first_key_seals_and_old_values_still_open() -> None:
    old_key, new_key = generate_key(), generate_key()
    before = Keyring.parse(f"2026-01:{old_key}")
    sealed_before = before.seal(TOKEN, context="connection:41")

    after = Keyring.parse(f"2026-02:{new_key},2026-01:{old_key}")
    sealed_after = after.seal(TOKEN, context="connection:41")

    assert after.open(sealed_before, context="connection:41") == TOKEN
    assert after.key_id_of(sealed_after) == "2026-02"
    assert after.needs_resealing(sealed_before)
    assert not after.needs_resealing(sealed_after)
    resealed = after.seal(after.open(sealed_before, context="connection:41"), context="connection:41")
    assert not after.needs_resealing(resealed)


def test_spaces_and_empty_entries_in_the_spec_are_ignored() -> None:
    key = generate_key()
    ring = Keyring.parse(f" k1:{key} , ,")
    assert ring.active_kid == "k1"
    assert list(ring.keys) == ["k1"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        (" , ", "empty"),
        ("k1:not base64!", "'k1' is not base64"),
        (f"k1:{base64.b64encode(b'x' * 16).decode()}", "'k1' must be 32 bytes (AES-256), not 16"),
        (f"k1:{base64.b64encode(b'x' * 33).decode()}", "not 33"),
        ("k1:", "not 0"),
        (generate_key(), "kid:base64key"),
        (f":{generate_key()}", "kid:base64key"),
        (f"2026.01:{generate_key()}", "without dots"),
    ],
    ids=[
        "empty",
        "only-separators",
        "bad-base64",
        "short-key",
        "long-key",
        "no-key",
        "no-kid",
        "empty-kid",
        "dotted-kid",
    ],
)
def test_a_malformed_spec_is_refused_with_a_clear_error(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        Keyring.parse(spec)
    assert not isinstance(refused.value, SealError)


def test_the_error_for_a_bad_key_does_not_echo_the_key() -> None:
    almost_a_key = base64.b64encode(b"s" * 31).decode()
    with pytest.raises(ValueError, match="k1") as refused:
        Keyring.parse(f"k1:{almost_a_key}")
    assert almost_a_key not in str(refused.value)


def test_a_keyring_does_not_show_its_keys_when_printed() -> None:
    key = generate_key()
    ring = Keyring.parse(f"k1:{key}")
    shown = repr(ring) + str(ring)
    assert "k1" in shown
    assert key not in shown
    assert repr(base64.b64decode(key)) not in shown
