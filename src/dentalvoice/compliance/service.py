"""The gate as a service: gather a lead's facts from the database, decide, and audit it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.compliance import dnc, registry
from dentalvoice.compliance.consent import consent_facts
from dentalvoice.compliance.facts import ClinicPolicy, ConsentFacts, Decision, LeadFacts
from dentalvoice.compliance.models import ComplianceDecision, DecisionPurpose
from dentalvoice.compliance.policy import decide
from dentalvoice.db.base import utcnow
from dentalvoice.db.crypto import PhiCipher
from dentalvoice.dialer.models import CallAttempt
from dentalvoice.leads.models import Lead
from dentalvoice.locations.models import Location
from dentalvoice.locations.service import options_of

# Attempt outcomes that prove the phone never rang (see dialer.retry.Outcome).
NEVER_RANG = ("dial_error", "not_placed", "invalid_number", "geo_permission")

# The longest attempt-cap window any rule uses; older attempts never matter.
ATTEMPT_LOOKBACK = timedelta(days=14)


def clinic_policy(location: Location) -> ClinicPolicy:
    """The clinic's own limits, from its row."""
    options = options_of(location)
    return ClinicPolicy(
        timezone=location.timezone,
        business_hours={
            day: [(start, end) for start, end in spans]
            for day, spans in (location.business_hours or {}).items()
        },
        require_consent=options.require_consent,
        max_attempts_24h=options.max_attempts_24h,
        max_attempts_14d=options.max_attempts_14d,
    )


async def attempts_for(
    *, session: AsyncSession, phone_hash: str, since: datetime
) -> list[datetime]:
    """When this number was dialed since `since` (for any lead of any clinic)."""
    rows = await session.execute(
        select(CallAttempt.started_at).where(
            CallAttempt.phone_hash == phone_hash,
            CallAttempt.started_at >= since,
            # A dial Twilio refused never rang the phone; an unknown outcome still counts.
            or_(CallAttempt.outcome.is_(None), CallAttempt.outcome.not_in(NEVER_RANG)),
        )
    )
    return list(rows.scalars())


async def lead_facts(
    *, session: AsyncSession, cipher: PhiCipher, lead: Lead, location: Location, at: datetime
) -> LeadFacts:
    """Everything the policy needs about `lead`, read now (DNC honoured immediately)."""
    if lead.phone_e164 is None or lead.phone_hash is None:
        raise ValueError("a lead without a phone cannot be checked")
    internal = await dnc.is_blocked(
        session=session, phone_hash=lead.phone_hash, location_id=location.id
    )
    required = options_of(location).consent_required_keys
    return LeadFacts(
        phone_e164=lead.phone_e164,
        explicit_timezone=lead.timezone,
        state=lead.state,
        postal_code=(lead.address or {}).get("postal_code"),
        country=lead.country,
        dnd=lead.dnd,
        dnd_call=lead.dnd_call,
        internal_dnc=internal,
        registry=await registry.lookup(session=session, cipher=cipher, phone_e164=lead.phone_e164),
        inquiry_at=lead.created_at,
        consent=consent_facts(evidence=lead.consent_evidence, required=required, revoked=internal),
        attempts=await attempts_for(
            session=session, phone_hash=lead.phone_hash, since=at - ATTEMPT_LOOKBACK
        ),
    )


def _inputs(facts: LeadFacts, decision: Decision) -> dict[str, object]:
    """What the audit keeps of the facts: flags, counts, zones and states; no number."""
    return {
        "zones": list(decision.zones),
        "states": list(decision.states),
        "explicit_timezone": facts.explicit_timezone,
        "state": facts.state,
        "country": facts.country,
        "dnd": facts.dnd,
        "dnd_call": facts.dnd_call,
        "internal_dnc": facts.internal_dnc,
        "registry_listed": facts.registry.listed if facts.registry else None,
        "registry_date": (
            facts.registry.data_date.isoformat()
            if facts.registry and facts.registry.data_date
            else None
        ),
        "inquiry_at": facts.inquiry_at.isoformat() if facts.inquiry_at else None,
        "consent": facts.consent.has_evidence,
        "consent_missing": list(facts.consent.missing),
        "consent_revoked": facts.consent.revoked,
        "attempts_14d": len(facts.attempts),
    }


async def record(
    *,
    session: AsyncSession,
    facts: LeadFacts,
    decision: Decision,
    at: datetime,
    purpose: DecisionPurpose,
    lead_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
    phone_hash: str | None,
) -> uuid.UUID:
    """Store a decision with its inputs in the audit table; returns its id.

    A Core insert: the gate runs inside every webhook's transaction, and the ORM's unit of
    work costs more than the decision itself.
    """
    row_id = uuid.uuid4()
    await session.execute(
        insert(ComplianceDecision),
        {
            "id": row_id,
            "decided_at": utcnow(),
            "evaluated_at": at,
            "purpose": purpose,
            "lead_id": lead_id,
            "location_id": location_id,
            "phone_hash": phone_hash,
            "kind": decision.kind,
            "not_before": decision.not_before,
            "reasons": list(decision.reasons),
            "rules_version": decision.rules_version,
            "inputs": _inputs(facts, decision),
        },
    )
    return row_id


async def decide_for_lead(
    *,
    session: AsyncSession,
    cipher: PhiCipher,
    lead: Lead,
    location: Location,
    at: datetime,
    purpose: DecisionPurpose,
) -> Decision:
    """Decide whether `lead` may be called at `at`, and audit the decision."""
    facts = await lead_facts(session=session, cipher=cipher, lead=lead, location=location, at=at)
    decision = decide(facts, clinic_policy(location), at)
    await record(
        session=session,
        facts=facts,
        decision=decision,
        at=at,
        purpose=purpose,
        lead_id=lead.id,
        location_id=location.id,
        phone_hash=lead.phone_hash,
    )
    return decision


async def check_phone(
    *,
    session: AsyncSession,
    cipher: PhiCipher,
    phone_e164: str,
    at: datetime,
    state: str | None = None,
    timezone: str | None = None,
    location: Location | None = None,
    consent: bool = True,
) -> Decision:
    """An operator's question: may this number be called at `at`? Audited as OPERATOR."""
    phone_hash = cipher.blind_index(phone_e164, purpose="phone")
    location_id = location.id if location is not None else None
    internal = await dnc.is_blocked(session=session, phone_hash=phone_hash, location_id=location_id)
    facts = LeadFacts(
        phone_e164=phone_e164,
        explicit_timezone=timezone,
        state=state,
        internal_dnc=internal,
        registry=await registry.lookup(session=session, cipher=cipher, phone_e164=phone_e164),
        inquiry_at=at if consent else None,
        consent=ConsentFacts(has_evidence=consent, revoked=internal),
        attempts=await attempts_for(
            session=session, phone_hash=phone_hash, since=at - ATTEMPT_LOOKBACK
        ),
    )
    policy = (
        clinic_policy(location)
        if location is not None
        else ClinicPolicy(timezone=timezone or "America/New_York")
    )
    decision = decide(facts, policy, at)
    await record(
        session=session,
        facts=facts,
        decision=decision,
        at=at,
        purpose=DecisionPurpose.OPERATOR,
        lead_id=None,
        location_id=location_id,
        phone_hash=phone_hash,
    )
    return decision
