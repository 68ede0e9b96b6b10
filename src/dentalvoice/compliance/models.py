"""Tables of the compliance gate: do-not-call lists, the national registry, and decisions."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dentalvoice.db.base import Base, IdMixin, utcnow
from dentalvoice.db.types import UTCDateTime, str_enum


class DncScope(enum.StrEnum):
    """Where an internal do-not-call entry applies."""

    LOCATION = "location"  # one clinic
    AGENCY = "agency"  # every clinic the agency runs


class DncSource(enum.StrEnum):
    """How a number reached the internal list."""

    CALL_OPT_OUT = "call_opt_out"  # the caller said so during a call
    OPERATOR = "operator"  # `dentalvoice dnc add`
    GHL_DND = "ghl_dnd"  # GHL's DND flag for calls


class DncEntry(IdMixin, Base):
    """A number not to call, by its blind index; removal keeps the row for the audit trail."""

    __tablename__ = "dnc_entry"

    phone_hash: Mapped[str] = mapped_column(String(64))
    phone_masked: Mapped[str] = mapped_column(String(24))
    scope: Mapped[DncScope] = mapped_column(str_enum(DncScope))
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("location.id"))
    source: Mapped[DncSource] = mapped_column(str_enum(DncSource))
    note: Mapped[str | None] = mapped_column(String(200))  # operator's words; never PHI
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_dnc_entry_phone_hash_removed_at", "phone_hash", "removed_at"),)


class RegistryImportKind(enum.StrEnum):
    """A registry download: every number of its area codes, or the changes since the last."""

    FULL = "full"
    CHANGES = "changes"


class RegistryImport(IdMixin, Base):
    """One imported National DNC Registry file, and the registry date it stands for."""

    __tablename__ = "registry_import"

    registry_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[RegistryImportKind] = mapped_column(str_enum(RegistryImportKind))
    area_codes: Mapped[list[str]] = mapped_column(JSON)
    file_name: Mapped[str] = mapped_column(String(255))
    numbers_added: Mapped[int] = mapped_column(Integer, default=0)
    numbers_removed: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegistryNumber(Base):
    """A number on the National DNC Registry, by blind index, with its area code."""

    __tablename__ = "registry_number"

    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    area_code: Mapped[str] = mapped_column(String(3), index=True)
    import_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("registry_import.id"))


class DecisionKind(enum.StrEnum):
    """What the gate decided."""

    ALLOW = "allow"
    DEFER = "defer"
    BLOCK = "block"


class DecisionPurpose(enum.StrEnum):
    """When the gate was asked."""

    SCHEDULE = "schedule"  # a lead arrived or changed
    DIAL = "dial"  # the moment of dialing
    OPERATOR = "operator"  # `dentalvoice compliance check`


class ComplianceDecision(IdMixin, Base):
    """Every decision, with the (PHI-free) inputs that produced it: the audit trail."""

    __tablename__ = "compliance_decision"

    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the moment asked about
    purpose: Mapped[DecisionPurpose] = mapped_column(str_enum(DecisionPurpose))
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("lead.id"), index=True)
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("location.id"))
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[DecisionKind] = mapped_column(str_enum(DecisionKind))
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    rules_version: Mapped[str] = mapped_column(String(64))
    # Zones, states, counts and flags the decision used; no names, numbers or free text.
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
