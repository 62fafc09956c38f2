"""AES-256-GCM sealing of credentials: round trip, and every way a sealed value must not open."""

from __future__ import annotations

import base64

import pytest

from storage.sealing import Sealer, SealingError, decode_sealed, encode_sealed, new_key_text, parse_key

KEY = bytes(range(32))
SECRET = "s3cret-value-Ä-0123456789"


def test_a_sealed_value_opens_with_its_key_account_and_field():
    sealer = Sealer(KEY)
    sealed = sealer.seal(SECRET, "account-1", "api_secret")

    assert SECRET.encode() not in sealed
    assert sealer.unseal(sealed, "account-1", "api_secret") == SECRET
    assert sealer.unseal(decode_sealed(encode_sealed(sealed)), "account-1", "api_secret") == SECRET


def test_each_sealing_takes_a_fresh_nonce():
    sealer = Sealer(KEY)
    assert sealer.seal(SECRET, "a", "api_key") != sealer.seal(SECRET, "a", "api_key")


@pytest.mark.parametrize("byte", [0, 1, 12, 13, -1])
def test_a_flipped_bit_anywhere_is_detected(byte):
    sealer = Sealer(KEY)
    sealed = bytearray(sealer.seal(SECRET, "account-1", "api_key"))
    sealed[byte] ^= 0x01

    with pytest.raises(SealingError):
        sealer.unseal(bytes(sealed), "account-1", "api_key")


def test_a_value_moved_to_another_account_or_field_does_not_open():
    sealer = Sealer(KEY)
    sealed = sealer.seal(SECRET, "account-1", "api_secret")

    with pytest.raises(SealingError, match="account-2"):
        sealer.unseal(sealed, "account-2", "api_secret")
    with pytest.raises(SealingError):
        sealer.unseal(sealed, "account-1", "api_key")


def test_the_wrong_key_is_a_clear_error_that_shows_no_secret():
    sealed = Sealer(KEY).seal(SECRET, "account-1", "password")

    with pytest.raises(SealingError) as raised:
        Sealer(bytes(32)).unseal(sealed, "account-1", "password")
    assert "wrong key" in str(raised.value)
    assert SECRET not in str(raised.value)


def test_keys_are_read_as_hex_or_base64_and_must_be_32_bytes():
    assert parse_key(KEY.hex()) == KEY
    assert parse_key(base64.b64encode(KEY).decode()) == KEY
    assert parse_key(base64.urlsafe_b64encode(KEY).decode().rstrip("=") + "\n") == KEY
    assert len(parse_key(new_key_text())) == 32
    for bad in ("", "short", KEY.hex()[:-2], base64.b64encode(bytes(31)).decode(), "z" * 64):
        with pytest.raises(ValueError, match="32 bytes") as raised:
            parse_key(bad)
        assert bad not in str(raised.value) or bad == ""
