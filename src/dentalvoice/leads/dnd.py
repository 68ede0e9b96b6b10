"""GHL's do-not-disturb, mirrored onto the clinic's do-not-call list and the lead's waiting calls.

Runs inside intake's transaction, after the lead is written and before the gate's listeners:
the DNC entry, the cancelled jobs and the lead commit together, and the gate already reads the
new entry when it decides.

Which DNC entries a GHL toggle may lift:

- DND turned on (Call channel or the contact-wide flag) puts the number on the clinic's list
  with source `ghl_dnd` — unless an entry for it is already active there (the caller's own
  opt-out, an operator's, or an earlier GHL one). That is also what makes the echo of our own
  write-back harmless: after an opt-out on a call we set DND in GHL, GHL tells us about it,
  and the caller's entry is already there.
- DND turned off lifts the clinic's entry only when GHL alone put it there: every active entry
  has source `ghl_dnd` and no call of this clinic to this number ended in an opt-out. A
  person's "stop calling me" on a call, and an operator's entry, outrank a CRM toggle and are
  never lifted here. Lifting a GHL-only entry keeps the CRM the clinic's single switch for
  what it put there itself (otherwise a DND set by mistake could only be undone on our CLI);
  the row stays, stamped `removed_at`, for the audit trail.
- Lifting DND never restarts calling: the jobs it cancelled stay cancelled, and the gate's
  listener does not re-open a lead that has no waiting job.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from loguru import logger
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.compliance import dnc
from dentalvoice.compliance.models import DncEntry, DncScope, DncSource
from dentalvoice.db.crypto import PhiCipher
from dentalvoice.dialer import service as dialer_service
from dentalvoice.dialer.models import CallAttempt
from dentalvoice.dialer.retry import Outcome
from dentalvoice.leads.models import Lead

# The job reason the gate's listener also uses for GHL's DND.
CANCEL_REASON = "ghl_dnd"


class DncChange(enum.StrEnum):
    """What a GHL DND event did to the clinic's do-not-call list."""

    NONE = "none"  # the event changed nothing about DND
    ADDED = "added"  # a new `ghl_dnd` entry
    PRESENT = "present"  # already on the clinic's list (e.g. the caller's own opt-out)
    LIFTED = "lifted"  # a GHL-only entry was removed
    KEPT = "kept"  # DND lifted in GHL, but the entry is the caller's or an operator's


@dataclass(frozen=True, slots=True)
class DndSync:
    """The outcome of mirroring one event's DND state."""

    dnc: DncChange
    calls_cancelled: int = 0


@dataclass(frozen=True, slots=True)
class DndState:
    """A lead's DND and number before and after one event."""

    was_blocked: bool
    now_blocked: bool
    global_dnd: bool  # the contact-wide flag (else only the Call channel)
    phone_changed: bool
    created: bool


async def sync_dnd(
    *,
    session: AsyncSession,
    cipher: PhiCipher,
    lead_id: uuid.UUID,
    location_id: uuid.UUID,
    phone_e164: str | None,
    state: DndState,
) -> DndSync:
    """Apply one event's DND transition to the clinic's DNC list and the waiting calls.

    Args:
        session: Intake's session (the event's transaction).
        cipher: The PHI cipher, for the number's blind index.
        lead_id: The lead the event changed.
        location_id: The lead's clinic.
        phone_e164: The lead's number after the event.
        state: DND and phone before and after the event.

    Returns:
        What changed on the list and how many waiting jobs were cancelled.
    """
    if phone_e164 is None:  # pragma: no cover - a lead always has a number
        return DndSync(DncChange.NONE)
    # Only a change acts: a repeated or echoed DND changes nothing, so it writes nothing
    # (and an entry an operator removed on purpose is not put back by the next echo).
    newly = not state.was_blocked or state.phone_changed or state.created
    if state.now_blocked and newly:
        return await _honour(
            session=session,
            cipher=cipher,
            lead_id=lead_id,
            location_id=location_id,
            phone_e164=phone_e164,
            global_dnd=state.global_dnd,
        )
    if state.was_blocked and not state.now_blocked:
        return DndSync(
            await _lift(
                session=session, cipher=cipher, location_id=location_id, phone_e164=phone_e164
            )
        )
    return DndSync(DncChange.NONE)


async def _active_sources(
    *, session: AsyncSession, phone_hash: str, location_id: uuid.UUID
) -> set[DncSource]:
    """Sources of the clinic's own active entries for the number (agency ones not included)."""
    rows = await session.scalars(
        select(DncEntry.source).where(
            DncEntry.phone_hash == phone_hash,
            DncEntry.removed_at.is_(None),
            DncEntry.scope == DncScope.LOCATION,
            DncEntry.location_id == location_id,
        )
    )
    return set(rows)


async def _honour(
    *,
    session: AsyncSession,
    cipher: PhiCipher,
    lead_id: uuid.UUID,
    location_id: uuid.UUID,
    phone_e164: str,
    global_dnd: bool,
) -> DndSync:
    phone_hash = dnc.phone_hash(cipher=cipher, phone_e164=phone_e164)
    change = DncChange.PRESENT
    if not await _active_sources(session=session, phone_hash=phone_hash, location_id=location_id):
        await dnc.add(
            session=session,
            cipher=cipher,
            phone_e164=phone_e164,
            scope=DncScope.LOCATION,
            location_id=location_id,
            source=DncSource.GHL_DND,
            note="GHL DND on (all channels)" if global_dnd else "GHL DND on (calls)",
        )
        change = DncChange.ADDED
    # Every waiting job for this number at this clinic stops now, the lead's own and those of
    # any other contact sharing the number. Jobs being dialed or on a call are left alone:
    # the worker re-checks the gate (which reads the new entry) before it dials.
    same_number = await session.scalars(
        select(Lead.id).where(Lead.location_id == location_id, Lead.phone_hash == phone_hash)
    )
    cancelled = 0
    for other in {lead_id, *same_number}:
        cancelled += await dialer_service.cancel_calls(
            session=session, lead_id=other, reason=CANCEL_REASON
        )
    logger.info("GHL DND on: lead_id={} dnc={} jobs_cancelled={}", lead_id, change.value, cancelled)
    return DndSync(change, cancelled)


async def _lift(
    *, session: AsyncSession, cipher: PhiCipher, location_id: uuid.UUID, phone_e164: str
) -> DncChange:
    phone_hash = dnc.phone_hash(cipher=cipher, phone_e164=phone_e164)
    sources = await _active_sources(session=session, phone_hash=phone_hash, location_id=location_id)
    if not sources:
        return DncChange.NONE
    # `dnc.add` keeps one active entry per number and clinic, so a caller who opts out while
    # a GHL entry exists leaves no entry of their own: their call's outcome is the evidence.
    opted_out = await session.scalar(
        select(
            exists().where(
                CallAttempt.phone_hash == phone_hash,
                CallAttempt.location_id == location_id,
                CallAttempt.outcome == Outcome.OPTED_OUT.value,
            )
        )
    )
    if sources != {DncSource.GHL_DND} or opted_out:
        logger.info("GHL DND off: DNC entry kept (not GHL's alone) location_id={}", location_id)
        return DncChange.KEPT
    await dnc.remove(
        session=session,
        cipher=cipher,
        phone_e164=phone_e164,
        scope=DncScope.LOCATION,
        location_id=location_id,
    )
    logger.info("GHL DND off: GHL's DNC entry lifted location_id={}", location_id)
    return DncChange.LIFTED
