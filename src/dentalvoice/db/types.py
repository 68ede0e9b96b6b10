"""Column types: encrypted PHI (bytes, text, JSON) and timezone-aware UTC timestamps."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import DateTime, Enum, LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from dentalvoice.db.crypto import PhiCipher

_active: PhiCipher | None = None


def install_cipher(cipher: PhiCipher) -> None:
    """Make `cipher` the one the encrypted column types use in this process."""
    global _active
    _active = cipher


def active_cipher() -> PhiCipher:
    """The cipher installed at start-up; columns cannot be read or written without it."""
    if _active is None:
        raise RuntimeError("no PHI cipher installed: call dentalvoice.db.open_database first")
    return _active


def str_enum(enum_cls: type[enum.StrEnum]) -> Enum:
    """A VARCHAR column holding a StrEnum's values (not its member names)."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


class EncryptedBytes(TypeDecorator[bytes]):
    """Bytes stored AES-GCM encrypted, bound to the column's `context` name."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return active_cipher().encrypt(value, context=self.context)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return active_cipher().decrypt(bytes(value), context=self.context)


class EncryptedText(TypeDecorator[str]):
    """A string stored AES-GCM encrypted."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return active_cipher().encrypt(value.encode(), context=self.context)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return active_cipher().decrypt(bytes(value), context=self.context).decode()


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document stored AES-GCM encrypted (so it cannot be queried, only read)."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return active_cipher().encrypt(orjson.dumps(value), context=self.context)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return orjson.loads(active_cipher().decrypt(bytes(value), context=self.context))


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
