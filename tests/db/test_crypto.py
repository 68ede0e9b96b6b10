"""AES-GCM envelope, key rotation, column binding and the blind index."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from dentalvoice.config import ConfigurationError
from dentalvoice.db.crypto import DecryptionError, PhiCipher, cipher_from_settings, parse_keys
from tests.conftest import make_settings

K1 = base64.b64encode(b"1" * 32).decode()
K2 = base64.b64encode(b"2" * 32).decode()


def cipher(keys: str) -> PhiCipher:
    return cipher_from_settings(make_settings(phi_encryption_key=keys)).cipher


def test_round_trip_and_no_plaintext() -> None:
    c = cipher(K1)
    sealed = c.encrypt(b"+13055550123", context="lead.phone_e164")
    assert b"5550123" not in sealed
    assert c.decrypt(sealed, context="lead.phone_e164") == b"+13055550123"
    # Random nonces: the same value encrypts differently each time.
    assert sealed != c.encrypt(b"+13055550123", context="lead.phone_e164")


def test_a_value_moved_to_another_column_does_not_decrypt() -> None:
    c = cipher(K1)
    sealed = c.encrypt(b"Testina", context="lead.first_name")
    with pytest.raises(DecryptionError):
        c.decrypt(sealed, context="lead.last_name")


def test_tampering_is_detected() -> None:
    c = cipher(K1)
    sealed = bytearray(c.encrypt(b"x", context="c"))
    sealed[-1] ^= 1
    with pytest.raises(DecryptionError):
        c.decrypt(bytes(sealed), context="c")


def test_rotation_old_values_read_and_blind_index_stays() -> None:
    old = cipher(K1)
    sealed = old.encrypt(b"v", context="c")
    rotated = cipher(f"new:{K2},old:{K1}")
    assert rotated.decrypt(sealed, context="c") == b"v"
    assert rotated.primary_key_id != old.primary_key_id
    assert rotated.encrypt(b"v", context="c")[1:5] != sealed[1:5]
    assert rotated.blind_index("+13055550123", purpose="phone") == old.blind_index(
        "+13055550123", purpose="phone"
    )
    with pytest.raises(DecryptionError, match="no configured key"):
        cipher(K2).decrypt(sealed, context="c")


def test_blind_index_depends_on_purpose() -> None:
    c = cipher(K1)
    assert c.blind_index("x", purpose="phone") != c.blind_index("x", purpose="email")
    assert len(c.blind_index(b"x", purpose="phone")) == 64


@pytest.mark.parametrize("bad", ["not-base64!!", base64.b64encode(b"short").decode(), ","])
def test_bad_keys_name_the_variable(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="PHI_ENCRYPTION_KEY"):
        parse_keys(bad) or cipher(bad)


def test_sqlite_without_key_generates_a_private_key_file(tmp_path: Path) -> None:
    settings = make_settings(phi_encryption_key=None, data_dir=tmp_path, database_url=None)
    first = cipher_from_settings(settings)
    assert first.generated_key_file == tmp_path / "phi.key"
    assert (tmp_path / "phi.key").stat().st_mode & 0o777 == 0o600
    second = cipher_from_settings(settings)
    assert second.generated_key_file is None
    sealed = first.cipher.encrypt(b"v", context="c")
    assert second.cipher.decrypt(sealed, context="c") == b"v"


def test_postgres_without_key_refuses(tmp_path: Path) -> None:
    settings = make_settings(
        phi_encryption_key=None,
        data_dir=tmp_path,
        database_url="postgresql+asyncpg://postgres@127.0.0.1/test",
    )
    with pytest.raises(ConfigurationError, match="PHI_ENCRYPTION_KEY: required with PostgreSQL"):
        cipher_from_settings(settings)
    assert not (tmp_path / "phi.key").exists()
