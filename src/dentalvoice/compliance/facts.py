"""What the pure policy is given and what it returns: no database, no clock, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from dentalvoice.compliance.models import DecisionKind


@dataclass(frozen=True, slots=True)
class ConsentFacts:
    """Evidence of prior express written consent, as the clinic's settings read it."""

    has_evidence: bool  # every field the clinic requires is present
    revoked: bool = False  # the lead opted out since (revocation beats consent)
    missing: tuple[str, ...] = ()  # names of required evidence fields that were absent


@dataclass(frozen=True, slots=True)
class RegistryFacts:
    """The lead's number against the National DNC Registry data we hold."""

    listed: bool  # the number is on the registry (per the newest data for its area code)
    data_date: date | None  # registry date of the newest data covering its area code


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """Everything about one lead the gate decides on. Phone in E.164; no other PHI."""

    phone_e164: str
    explicit_timezone: str | None = None  # the contact's own time zone, if GHL gave one
    state: str | None = None  # two-letter US state / Canadian province of the address
    postal_code: str | None = None
    country: str | None = None  # "US" or "CA" of the address
    dnd: bool = False  # GHL's global DND
    dnd_call: bool = False  # GHL's Call channel DND
    internal_dnc: bool = False  # on our list for this clinic or the agency
    registry: RegistryFacts | None = None  # None: no registry data for its area code at all
    inquiry_at: datetime | None = None  # the lead's own inquiry to this clinic
    consent: ConsentFacts = field(default_factory=lambda: ConsentFacts(has_evidence=False))
    attempts: Sequence[datetime] = ()  # earlier dials to this number (any lead), aware


@dataclass(frozen=True, slots=True)
class ClinicPolicy:
    """What one clinic adds on top of the law: its hours, consent setting and tighter caps."""

    timezone: str
    # weekday "mon".."sun" -> [("08:00", "17:00"), ...] in the clinic's zone; empty: no limit
    business_hours: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    require_consent: bool = True
    max_attempts_24h: int | None = None  # None: the product default; can only tighten
    max_attempts_14d: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The gate's answer for a lead at a moment, and why."""

    kind: DecisionKind
    not_before: datetime | None  # for DEFER: the earliest lawful moment (aware, UTC)
    reasons: tuple[str, ...]  # machine codes, e.g. "outside_hours:FL", "national_dnc"
    rules_version: str
    zones: tuple[str, ...] = ()  # the candidate time zones considered
    states: tuple[str, ...] = ()  # the candidate jurisdictions considered (e.g. "US-FL", "CA-ON")

    @property
    def allowed(self) -> bool:
        """Whether the call may be placed now."""
        return self.kind is DecisionKind.ALLOW
