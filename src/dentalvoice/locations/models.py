"""The `location` table: a clinic, i.e. one GHL sub-account."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from dentalvoice.db.base import Base, IdMixin, TimestampMixin
from dentalvoice.db.types import EncryptedText


class Location(IdMixin, TimestampMixin, Base):
    """A clinic. Secrets are encrypted; everything else here is business data, not PHI."""

    __tablename__ = "location"

    name: Mapped[str] = mapped_column(String(200))
    ghl_location_id: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2), default="US")
    webhook_secret: Mapped[str | None] = mapped_column(EncryptedText("location.webhook_secret"))
    ghl_token: Mapped[str | None] = mapped_column(EncryptedText("location.ghl_token"))
    twilio_from_number: Mapped[str | None] = mapped_column(String(20))
    transfer_number: Mapped[str | None] = mapped_column(String(20))
    calendar_id: Mapped[str | None] = mapped_column(String(64))
    pipeline_id: Mapped[str | None] = mapped_column(String(64))
    # outcome -> GHL pipeline stage id
    pipeline_stages: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # weekday ("mon".."sun") -> [["08:00", "17:00"], ...] in the clinic's time zone
    business_hours: Mapped[dict[str, list[list[str]]]] = mapped_column(JSON, default=dict)
    # Free-form per-clinic options later issues read (consent keys, script, caps, tags...).
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
