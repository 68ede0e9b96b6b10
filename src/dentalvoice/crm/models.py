"""The `ghl_credential` table: OAuth tokens per GHL location or company, encrypted at rest."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dentalvoice.db.base import Base, IdMixin, TimestampMixin
from dentalvoice.db.types import EncryptedText, UTCDateTime, str_enum


class GhlUserType(enum.StrEnum):
    """Whom a token speaks for, in GHL's own words (`user_type` / `userType`)."""

    LOCATION = "Location"  # a sub-account (one clinic)
    COMPANY = "Company"  # an agency: mints location tokens through /oauth/locationToken


class GhlCredential(IdMixin, TimestampMixin, Base):
    """One OAuth grant. Rows are keyed by GHL ids, not by `location.id`.

    The OAuth install can complete before the clinic is set up here, so there is no foreign key
    to `location`. A location row without a refresh token was minted from its agency's token
    (`company_id`) and is renewed through that. Private integration tokens stay in
    `location.ghl_token`.
    """

    __tablename__ = "ghl_credential"

    user_type: Mapped[GhlUserType] = mapped_column(str_enum(GhlUserType))
    # The GHL location id (user_type Location) or company id (user_type Company).
    ghl_id: Mapped[str] = mapped_column(String(64))
    company_id: Mapped[str | None] = mapped_column(String(64))
    access_token: Mapped[str] = mapped_column(EncryptedText("ghl_credential.access_token"))
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_token: Mapped[str | None] = mapped_column(EncryptedText("ghl_credential.refresh_token"))
    scope: Mapped[str | None] = mapped_column(String(2000))
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_type", "ghl_id"),)

    def __repr__(self) -> str:
        return (
            f"GhlCredential(user_type={self.user_type.value!r}, ghl_id={self.ghl_id!r}, "
            f"access_expires_at={self.access_expires_at!r})"
        )
