"""Storage: async engine, base model, encrypted column types and migrations."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.config import Settings
from dentalvoice.db.crypto import CipherSetup, PhiCipher, cipher_from_settings
from dentalvoice.db.engine import Database
from dentalvoice.db.types import install_cipher

# The session type domains name in their signatures, so that only `db/`, models and services
# import SQLAlchemy itself.
DbSession = AsyncSession

__all__ = ["CipherSetup", "Database", "DbSession", "PhiCipher", "open_database"]


def open_database(settings: Settings) -> tuple[Database, CipherSetup]:
    """Build the cipher (installing it for the encrypted columns) and the engine."""
    setup = cipher_from_settings(settings)
    install_cipher(setup.cipher)
    return Database(settings.effective_database_url, cipher=setup.cipher), setup
