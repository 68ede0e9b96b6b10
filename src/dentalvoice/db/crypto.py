"""PHI at rest: AES-256-GCM with key ids for rotation, and an HMAC blind index for lookups.

A stored value is `0x01 | key id (4 bytes) | nonce (12 bytes) | ciphertext+tag`. The key id lets
an old value be read after a new key is put first in `PHI_ENCRYPTION_KEY`. Each column passes its
own name as associated data, so a ciphertext copied into another column does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dentalvoice.config import ConfigurationError, Settings

FORMAT_V1 = 1
_KID_LEN = 4
_NONCE_LEN = 12
_HEADER_LEN = 1 + _KID_LEN + _NONCE_LEN


class DecryptionError(Exception):
    """A stored value could not be decrypted (unknown key id, wrong key or tampered bytes)."""


def _decode_key(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        try:
            raw = base64.urlsafe_b64decode(text.strip())
        except (binascii.Error, ValueError) as exc:
            raise ConfigurationError("invalid PHI_ENCRYPTION_KEY: a key is not base64") from exc
    if len(raw) != 32:
        raise ConfigurationError("invalid PHI_ENCRYPTION_KEY: each key must be 32 bytes (base64)")
    return raw


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"dentalvoice-kid" + key).digest()[:_KID_LEN]


class PhiCipher:
    """Encrypts with the first key and decrypts with any configured key."""

    __slots__ = ("_aeads", "_blind_index_key", "_primary")

    def __init__(self, *, keys: tuple[bytes, ...], blind_index_key: bytes) -> None:
        if not keys:
            raise ConfigurationError("invalid PHI_ENCRYPTION_KEY: no key given")
        self._aeads = {_key_id(k): AESGCM(k) for k in keys}
        self._primary = _key_id(keys[0])
        self._blind_index_key = blind_index_key

    def __repr__(self) -> str:
        return f"PhiCipher(primary_key_id={self.primary_key_id!r}, keys={len(self._aeads)})"

    @property
    def primary_key_id(self) -> str:
        """Hex id of the key new values are encrypted with."""
        return self._primary.hex()

    def encrypt(self, plaintext: bytes, *, context: str) -> bytes:
        """Encrypt bytes, binding them to `context` (the column they are stored in)."""
        kid = self._primary
        nonce = os.urandom(_NONCE_LEN)
        sealed = self._aeads[kid].encrypt(nonce, plaintext, context.encode())
        return bytes((FORMAT_V1,)) + kid + nonce + sealed

    def decrypt(self, stored: bytes, *, context: str) -> bytes:
        """Decrypt a value written by `encrypt` under any configured key."""
        if len(stored) < _HEADER_LEN + 16 or stored[0] != FORMAT_V1:
            raise DecryptionError("not a dentalvoice ciphertext")
        kid = stored[1 : 1 + _KID_LEN]
        aead = self._aeads.get(kid)
        if aead is None:
            raise DecryptionError(f"no configured key has id {kid.hex()}")
        nonce = stored[1 + _KID_LEN : _HEADER_LEN]
        try:
            plaintext: bytes = aead.decrypt(nonce, stored[_HEADER_LEN:], context.encode())
        except InvalidTag as exc:
            raise DecryptionError(f"value does not authenticate under key {kid.hex()}") from exc
        return plaintext

    def blind_index(self, value: str | bytes, *, purpose: str) -> str:
        """A keyed hash for equality lookups (phone dedupe, DNC) without storing the value."""
        data = value.encode() if isinstance(value, str) else value
        return hmac.new(
            self._blind_index_key, purpose.encode() + b"\x00" + data, "sha256"
        ).hexdigest()


def _derive_blind_key(key: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"dentalvoice blind index v1"
    ).derive(key)


def parse_keys(value: str) -> tuple[bytes, ...]:
    """Parse `key` or `kid:key,kid:key` (labels are for operators; ids come from the keys)."""
    keys = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        label, sep, key_text = part.partition(":")
        keys.append(_decode_key(key_text if sep else label))
    if not keys:
        raise ConfigurationError("invalid PHI_ENCRYPTION_KEY: no key given")
    return tuple(keys)


def generate_key() -> str:
    """A new random key in the form `PHI_ENCRYPTION_KEY` takes."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True, slots=True)
class CipherSetup:
    """The cipher and, when one was just created, the local key file (to warn about once)."""

    cipher: PhiCipher
    generated_key_file: Path | None = None


def cipher_from_settings(settings: Settings) -> CipherSetup:
    """Build the PHI cipher; on SQLite with no key, use (or create) a local key file.

    With PostgreSQL and no key this refuses: a generated key on one host would make the data
    unreadable from every other host.
    """
    generated: Path | None = None
    if settings.phi_encryption_key is not None:
        keys = parse_keys(settings.phi_encryption_key.get_secret_value())
    elif settings.is_sqlite:
        key_file = settings.data_dir / "phi.key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(generate_key() + "\n")
            generated = key_file
        keys = parse_keys(key_file.read_text())
    else:
        raise ConfigurationError(
            "invalid PHI_ENCRYPTION_KEY: required with PostgreSQL "
            "(generate one with `dentalvoice keys generate`)"
        )
    if settings.phi_blind_index_key is not None:
        blind = _decode_key(settings.phi_blind_index_key.get_secret_value())
    else:
        # The oldest key (last in the list) derives the index, so prepending a new encryption
        # key during rotation keeps every stored blind index valid.
        blind = _derive_blind_key(keys[-1])
    return CipherSetup(
        cipher=PhiCipher(keys=keys, blind_index_key=blind), generated_key_file=generated
    )
