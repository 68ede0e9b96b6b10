"""Call results reach the GHL emulator exactly once, in order, through faults, on both databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from dentalvoice.conversation.agent import MarkDoNotCall
from dentalvoice.conversation.qualification import Outcome
from dentalvoice.crm.mapping import note_marker
from dentalvoice.crm.models import WriteStatus
from dentalvoice.crm.note import AI_LINE
from dentalvoice.crm.options import DEFAULT_OUTCOME_TAGS
from dentalvoice.crm.sender import RetryPolicy
from dentalvoice.db import Database
from dentalvoice.voice.actions import CallActions
from dentalvoice.voice.records import ActionsTaken
from tests.crm.rig import (
    FIELD_KEYS,
    SLOT,
    TRANSCRIPT,
    Rig,
    build_rig,
    open_statuses,
    qualification,
    stage_name,
)


@pytest.fixture
async def rig(db: Database) -> AsyncIterator[Rig]:
    rig = await build_rig(db)
    try:
        yield rig
    finally:
        await rig.aclose()


def _cases() -> list[Any]:
    cases = []
    for outcome in Outcome:
        if outcome is Outcome.BOOKED:
            cases.append(pytest.param(outcome, True, id="booked-in-call"))
            cases.append(pytest.param(outcome, False, id="booked-pending"))
        else:
            cases.append(pytest.param(outcome, False, id=outcome.value))
    return cases


@pytest.mark.parametrize(("outcome", "held_in_call"), _cases())
async def test_each_outcome_makes_exactly_its_ghl_writes(
    rig: Rig, outcome: Outcome, held_in_call: bool
) -> None:
    attempt = await rig.new_call()
    q = qualification(outcome)
    slot_chosen = q.preferred_slot is not None
    held_id = None
    if held_in_call:
        # The call booked the slot in GHL itself: the write-back must not book it again.
        held = rig.emulator.seed_appointment(
            calendar_id=rig.calendar.id, contact_id=rig.contacts[attempt], start=SLOT
        )
        held_id = held.id
    await rig.store(attempt, q, ActionsTaken(booked_slot=q.preferred_slot, appointment_id=held_id))

    await rig.deliver_all()

    state = rig.state(attempt)
    expected_tags = list(DEFAULT_OUTCOME_TAGS.get(outcome.value, ("ai-needs-follow-up",)))
    assert sorted(state["tags"]) == sorted(expected_tags)
    fields = {key.removeprefix("contact."): value for key, value in state["customFields"].items()}
    expected_fields: dict[str, object] = {
        "ai_pain_level": 4,
        "ai_urgency": "soon",
        "ai_insurance_carrier": "Delta Dental",
        "ai_treatment_interest": "implants",
        "ai_last_call_outcome": outcome.value,
    }
    if slot_chosen:
        expected_fields["ai_preferred_slot"] = "2030-01-08T10:00-05:00"
    assert fields == expected_fields
    (note,) = state["notes"]
    assert AI_LINE in note["body"]
    assert note_marker(attempt) in note["body"]
    assert TRANSCRIPT[1][1] not in note["body"]  # minimum necessary: no transcript
    (opportunity,) = state["opportunities"]
    assert opportunity["stageName"] == stage_name(outcome)
    assert opportunity["pipelineId"] == rig.pipeline.id
    call_dnd = state["dndSettings"].get("Call", {}).get("status")
    assert call_dnd == ("active" if outcome is Outcome.OPTED_OUT else None)
    appointments = state["appointments"]
    if slot_chosen:
        (appointment,) = appointments
        assert appointment["calendarId"] == rig.calendar.id
        assert appointment["id"] == (held_id or appointment["id"])
    else:
        assert appointments == []

    # Exactly these writes, in this order: fields and tags, the booking, the note, the stage.
    contact = rig.contacts[attempt]
    expected_writes = []
    if outcome is Outcome.OPTED_OUT:
        expected_writes.append(("PUT", f"/contacts/{contact}"))  # Call DND first
    # Fields, then the tags (for an opt-out: the opted-out tags only, once).
    expected_writes += [("PUT", f"/contacts/{contact}"), ("POST", f"/contacts/{contact}/tags")]
    if slot_chosen and not held_in_call:
        expected_writes.append(("POST", "/calendars/events/appointments"))
    expected_writes += [("POST", f"/contacts/{contact}/notes"), ("POST", "/opportunities/")]
    assert [(m, p) for m, p, _ in rig.writes_to(attempt)] == expected_writes
    assert all(200 <= status < 300 for _, _, status in rig.writes_to(attempt))
    rows = await rig.rows(attempt)
    assert open_statuses(rows) == []
    assert all(r.attempts == 1 for r in rows)
    by_kind = {r.kind: r for r in rows}
    assert by_kind["create_note"].ghl_object_id == note["id"]
    assert by_kind["move_opportunity"].ghl_object_id == opportunity["id"]


async def test_the_stage_of_an_existing_opportunity_is_moved_not_duplicated(rig: Rig) -> None:
    attempt = await rig.new_call()
    existing = rig.emulator.seed_opportunity(
        contact_id=rig.contacts[attempt], pipeline=rig.pipeline.id, stage="New Lead"
    )
    await rig.store(attempt, qualification(Outcome.QUALIFIED))

    await rig.deliver_all()

    (opportunity,) = rig.state(attempt)["opportunities"]
    assert (opportunity["id"], opportunity["stageName"]) == (existing.id, "Contacted")
    assert rig.emulator.requests_matching(method="POST", path="/opportunities/") == []
    assert len(rig.emulator.requests_matching(method="PUT", path=f"/opportunities/{existing.id}"))


async def test_a_mid_call_opt_out_sets_call_dnd_once_and_the_write_back_does_not_repeat_it(
    rig: Rig,
) -> None:
    await rig.configure()  # no custom fields: every contact PUT is the DND one
    attempt = await rig.new_call()
    actions = CallActions(db=rig.db, attempt_id=attempt, clock=rig.now)

    await actions(MarkDoNotCall())
    # The call drops here: GHL hears of the opt-out before (and without) the call's end.
    await rig.deliver_all()
    contact = rig.contacts[attempt]
    state = rig.state(attempt)
    assert state["dndSettings"]["Call"]["status"] == "active"
    assert state["tags"] == ["ai-opted-out"]
    assert state["notes"] == []

    await actions.finished(qualification=qualification(Outcome.OPTED_OUT), transcript=TRANSCRIPT)
    await rig.deliver_all()

    assert len(rig.emulator.requests_matching(method="PUT", path=f"/contacts/{contact}")) == 1
    assert len(rig.emulator.requests_matching(method="POST", path=f"/contacts/{contact}/tags")) == 1
    state = rig.state(attempt)
    assert state["tags"] == ["ai-opted-out"]
    (note,) = state["notes"]
    assert "Call DND set" in note["body"]
    keys = sorted(r.idempotency_key.split(":")[1] for r in await rig.rows(attempt))
    assert keys == ["call_dnd", "note", "opportunity", "opt_out_tags"]


async def test_unanswered_attempts_get_a_tag_and_the_last_outcome_only(rig: Rig) -> None:
    from dentalvoice.dialer import progress

    calls = {}
    for twilio_status in ("no-answer", "busy"):
        attempt = await rig.new_call()
        async with rig.db.transaction() as session:
            row = await progress.get_attempt(session=session, attempt_id=attempt)
            row.status = progress.AttemptStatus.RINGING
            await progress.record_call_status(
                session=session,
                attempt_id=attempt,
                call_sid=row.twilio_call_sid or "",
                call_status=twilio_status,
                duration_s=0,
                at=rig.now(),
            )
        calls[twilio_status] = attempt
    voicemail = await rig.new_call()
    async with rig.db.transaction() as session:
        row = await progress.get_attempt(session=session, attempt_id=voicemail)
        sid = row.twilio_call_sid or ""
        action = await progress.record_answered_by(
            session=session, attempt_id=voicemail, call_sid=sid, answered_by="machine_end_beep",
            at=rig.now(),
        )  # fmt: skip
        assert action is progress.AmdAction.LEAVE_VOICEMAIL
        await progress.record_call_status(
            session=session, attempt_id=voicemail, call_sid=sid, call_status="completed",
            duration_s=20, at=rig.now(),
        )  # fmt: skip

    await rig.deliver_all()

    expected = {
        calls["no-answer"]: (["ai-no-answer"], "no_answer"),
        calls["busy"]: (["ai-no-answer"], "busy"),
        voicemail: (["ai-voicemail"], "voicemail"),
    }
    for attempt, (tags, last) in expected.items():
        state = rig.state(attempt)
        assert state["tags"] == tags
        assert state["customFields"] == {FIELD_KEYS["last_call_outcome"]: last}
        assert state["notes"] == [] and state["opportunities"] == []


async def test_a_machine_conversation_is_not_written_as_a_call(rig: Rig) -> None:
    """AMD said machine: the stream's empty "conversation" leaves no note, only the voicemail."""
    from dentalvoice.dialer import progress

    attempt = await rig.new_call()
    async with rig.db.transaction() as session:
        row = await progress.get_attempt(session=session, attempt_id=attempt)
        await progress.record_answered_by(
            session=session, attempt_id=attempt, call_sid=row.twilio_call_sid or "",
            answered_by="machine_end_beep", at=rig.now(),
        )  # fmt: skip
    await rig.store(attempt, qualification(None), ActionsTaken())

    assert await rig.rows(attempt) == []


async def test_a_429_storm_holds_the_clinic_back_and_everything_lands_once(rig: Rig) -> None:
    attempts = [await rig.new_call() for _ in range(4)]
    for attempt in attempts:
        await rig.store(attempt, qualification(Outcome.QUALIFIED))
    rig.emulator.inject_fault(kind="rate_limit", count=6)

    moves = await rig.deliver_all()

    assert moves >= 1
    limited = rig.emulator.requests_matching(status=429)
    assert len(limited) == 6
    # After each 429 nothing more was sent for the clinic until GHL's window had passed.
    first = limited[0].at
    others = [r for r in rig.emulator.requests if r.at > first and r.status != 429]
    assert all(r.at >= first + 10 for r in others)
    for attempt in attempts:
        state = rig.state(attempt)
        assert len(state["notes"]) == 1
        assert len(state["opportunities"]) == 1
        assert sorted(state["tags"]) == ["ai-qualified"]
        assert open_statuses(await rig.rows(attempt)) == []
    notes = rig.emulator.requests_matching(method="POST", path_prefix="/contacts/", status=201)
    assert len([n for n in notes if n.path.endswith("/notes")]) == len(attempts)


async def test_a_five_minute_outage_delivers_everything_exactly_once_afterwards(
    rig: Rig,
) -> None:
    attempts = [await rig.new_call() for _ in range(3)]
    for i, attempt in enumerate(attempts):
        slot = SLOT + timedelta(minutes=30 * i)
        await rig.store(attempt, qualification(Outcome.BOOKED, preferred_slot=slot))
    outage = rig.emulator.inject_fault(status=503, count=None, duration_s=300)
    started = rig.clock.now

    await rig.deliver_all()

    assert outage.hits >= len(attempts)
    assert rig.clock.now >= started + 300
    for attempt in attempts:
        state = rig.state(attempt)
        assert len(state["notes"]) == 1
        assert len(state["appointments"]) == 1
        assert len(state["opportunities"]) == 1
        rows = await rig.rows(attempt)
        assert open_statuses(rows) == []
        assert max(r.attempts for r in rows) >= 2
    created = rig.emulator.requests_matching(method="POST", status=201)
    assert len([r for r in created if r.path.endswith("/notes")]) == len(attempts)
    for path, status in (("/opportunities/", 201), ("/calendars/events/appointments", 200)):
        done = rig.emulator.requests_matching(method="POST", path=path, status=status)
        assert len(done) == len(attempts)


class LoseAnswers(httpx.AsyncBaseTransport):
    """Forwards requests; for the first `count` matching ones, GHL acts but the answer is lost."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, match: Callable[[httpx.Request], bool], count: int
    ) -> None:
        self.inner = inner
        self.match = match
        self.count = count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.count and self.match(request):
            self.count -= 1
            await response.aread()
            raise httpx.ReadTimeout("the answer never came", request=request)
        return response


async def test_a_note_applied_before_a_timeout_is_found_not_created_again(db: Database) -> None:
    def is_note(request: httpx.Request) -> bool:
        return request.method == "POST" and request.url.path.endswith("/notes")

    rig = await build_rig(db, wrap=lambda inner: LoseAnswers(inner, is_note, 1))
    try:
        attempt = await rig.new_call()
        await rig.store(attempt, qualification(Outcome.QUALIFIED))

        await rig.deliver_all()

        (note,) = rig.state(attempt)["notes"]
        contact = rig.contacts[attempt]
        posted = rig.emulator.requests_matching(method="POST", path=f"/contacts/{contact}/notes")
        looked = rig.emulator.requests_matching(method="GET", path=f"/contacts/{contact}/notes")
        assert (len(posted), len(looked)) == (1, 1)
        row = next(r for r in await rig.rows(attempt) if r.kind == "create_note")
        assert (row.status, row.attempts, row.maybe_applied) == (WriteStatus.DELIVERED, 2, True)
        assert row.ghl_object_id == note["id"]
        # The stage still moved after the note, in order.
        assert rig.state(attempt)["opportunities"][0]["stageName"] == "Contacted"
    finally:
        await rig.aclose()


async def test_an_opportunity_created_before_a_lost_answer_is_found_by_search(
    db: Database,
) -> None:
    def is_create(request: httpx.Request) -> bool:
        return request.method == "POST" and request.url.path == "/opportunities/"

    rig = await build_rig(db, wrap=lambda inner: LoseAnswers(inner, is_create, 1))
    try:
        attempt = await rig.new_call()
        await rig.store(attempt, qualification(Outcome.QUALIFIED))
        await rig.deliver_all()
        assert len(rig.state(attempt)["opportunities"]) == 1
        assert len(rig.emulator.requests_matching(method="POST", path="/opportunities/")) == 1
    finally:
        await rig.aclose()


async def test_an_unknown_field_key_parks_that_write_and_the_rest_is_delivered(rig: Rig) -> None:
    await rig.configure(
        fields={"pain_level": FIELD_KEYS["pain_level"], "insurance_carrier": "contact.no_such_key"}
    )
    attempt = await rig.new_call()
    await rig.store(attempt, qualification(Outcome.QUALIFIED))

    await rig.deliver_all()

    rows = {r.kind: r for r in await rig.rows(attempt)}
    fields = rows.pop("set_fields")
    assert fields.status is WriteStatus.FAILED
    assert fields.last_error is not None and "contact.no_such_key" in fields.last_error
    assert fields.next_attempt_at is None and fields.attempts == 1
    assert {r.status for r in rows.values()} == {WriteStatus.DELIVERED}
    state = rig.state(attempt)
    assert state["customFields"] == {FIELD_KEYS["pain_level"]: 4}
    assert state["tags"] == ["ai-qualified"]
    assert len(state["notes"]) == 1
    assert state["opportunities"][0]["stageName"] == "Contacted"


async def test_a_rejected_write_is_parked_with_ghls_reason(rig: Rig) -> None:
    attempt = await rig.new_call()
    await rig.store(attempt, qualification(Outcome.BOOKED))
    # Someone else took the slot before the write-back could book it.
    other = rig.emulator.seed_contact(location_id=rig.location.id, first_name="Other")
    rig.emulator.seed_appointment(calendar_id=rig.calendar.id, contact_id=other.id, start=SLOT)

    await rig.deliver_all()

    rows = {r.kind: r for r in await rig.rows(attempt)}
    booking = rows.pop("book_appointment")
    assert booking.status is WriteStatus.FAILED
    assert booking.last_error is not None
    assert "400" in booking.last_error and "no longer available" in booking.last_error
    assert "Avery" not in booking.last_error
    assert {r.status for r in rows.values()} == {WriteStatus.DELIVERED}


async def test_an_expired_oauth_token_is_refreshed_once_and_the_writes_delivered(
    db: Database,
) -> None:
    rig = await build_rig(db, oauth=True)
    try:
        attempt = await rig.new_call()
        await rig.store(attempt, qualification(Outcome.QUALIFIED))
        rig.emulator.expire_tokens(location_id=rig.location.id)

        await rig.deliver_all()

        assert open_statuses(await rig.rows(attempt)) == []
        assert len(rig.emulator.requests_matching(method="POST", path="/oauth/token")) == 2
        assert len(rig.emulator.requests_matching(status=401)) == 1
        assert len(rig.state(attempt)["notes"]) == 1
    finally:
        await rig.aclose()


async def test_missing_credentials_back_off_long_and_say_why(db: Database) -> None:
    rig = await build_rig(db)
    try:
        async with db.transaction() as session:
            from dentalvoice.locations.models import Location

            await session.execute(
                update(Location).where(Location.id == rig.location_id).values(ghl_token=None)
            )
        attempt = await rig.new_call()
        await rig.store(attempt, qualification(Outcome.QUALIFIED))

        await rig.sender.drain()

        (head, *rest) = await rig.rows(attempt)
        assert head.status is WriteStatus.PENDING
        assert head.last_error is not None and "credentials" in head.last_error
        assert head.next_attempt_at is not None
        assert head.next_attempt_at - rig.now() >= timedelta(minutes=7)
        assert all(r.attempts == 0 for r in rest)
        assert rig.emulator.requests == []
    finally:
        await rig.aclose()


async def test_a_write_that_keeps_failing_is_parked_after_max_attempts(db: Database) -> None:
    rig = await build_rig(db, policy=RetryPolicy(max_attempts=3))
    try:
        attempt = await rig.new_call()
        await rig.store(attempt, qualification(Outcome.QUALIFIED))
        rig.emulator.inject_fault(status=500, count=None, path=f"/contacts/{rig.contacts[attempt]}")

        await rig.deliver_all()

        head = (await rig.rows(attempt))[0]
        assert head.status is WriteStatus.FAILED and head.attempts == 3
        assert head.last_error is not None and head.last_error.startswith("gave up after 3")
    finally:
        await rig.aclose()


async def test_the_running_sender_wakes_on_a_commit_not_on_a_timer(rig: Rig) -> None:
    noted = asyncio.Event()
    rig.emulator.log.add = _spy(rig.emulator.log.add, noted)  # type: ignore[method-assign]
    rig.sender._max_idle = timedelta(hours=1)
    stop = asyncio.Event()
    running = asyncio.create_task(rig.sender.run(stop))
    try:
        await asyncio.sleep(0)  # the sender's first (empty) round, then its long idle
        attempt = await rig.new_call()
        await rig.store(attempt, qualification(Outcome.QUALIFIED))
        await asyncio.wait_for(noted.wait(), timeout=10)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)
    assert rig.state(attempt)["notes"]


async def test_a_stopping_sender_hands_back_the_write_it_claimed_but_did_not_send(
    rig: Rig,
) -> None:
    attempt = await rig.new_call()
    await rig.store(attempt, qualification(Outcome.QUALIFIED))
    stop = asyncio.Event()
    add = rig.emulator.log.add

    def stop_on_first(entry: Any) -> None:
        add(entry)
        stop.set()  # while the call's first write is in flight

    rig.emulator.log.add = stop_on_first  # type: ignore[method-assign]
    await asyncio.wait_for(rig.sender.run(stop), timeout=10)

    rows = await rig.rows(attempt)
    assert [r.status for r in rows][:2] == [WriteStatus.DELIVERED, WriteStatus.PENDING]
    assert all(r.claimed_by is None and r.lease_until is None for r in rows[1:])
    assert rows[1].attempts == 0
    # Another sender delivers the rest at once, without waiting out a lease.
    rig.emulator.log.add = add  # type: ignore[method-assign]
    await rig.sender.drain()
    assert open_statuses(await rig.rows(attempt)) == []


def _spy(add: Callable[[Any], None], noted: asyncio.Event) -> Callable[[Any], None]:
    def record(entry: Any) -> None:
        add(entry)
        if entry.method == "POST" and entry.path.endswith("/notes"):
            noted.set()

    return record


async def test_writes_of_other_calls_are_not_held_behind_a_failed_one(rig: Rig) -> None:
    first, second = await rig.new_call(), await rig.new_call()
    await rig.store(first, qualification(Outcome.QUALIFIED))
    await rig.store(second, qualification(Outcome.QUALIFIED))
    rig.emulator.inject_fault(status=500, count=None, path=f"/contacts/{rig.contacts[first]}")

    await rig.sender.drain()

    first_rows, second_rows = await rig.rows(first), await rig.rows(second)
    assert open_statuses(second_rows) == []
    # The first call's head is waiting; its later writes were not sent out of order.
    assert [r.status for r in first_rows] == [WriteStatus.PENDING] * len(first_rows)
    assert first_rows[0].attempts == 1 and all(r.attempts == 0 for r in first_rows[1:])


async def test_another_process_wakes_the_sender_through_redis(db: Database, redis_url: str) -> None:
    from redis.asyncio import Redis

    from dentalvoice.crm.sender import OutboxSender, wake_senders

    rig = await build_rig(db)
    redis = Redis.from_url(redis_url)
    sender = OutboxSender(
        db=db, ghl=rig.ghl, worker_id="redis-sender", clock=rig.now, redis=redis,
        max_idle=timedelta(hours=1),
    )  # fmt: skip
    noted = asyncio.Event()
    rig.emulator.log.add = _spy(rig.emulator.log.add, noted)  # type: ignore[method-assign]
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        await asyncio.wait_for(sender.listening.wait(), timeout=10)
        attempt = await rig.new_call()
        async with db.transaction() as session:
            await rig_store_quietly(rig, session, attempt)
        await wake_senders(redis)  # what an operator's `outbox retry` does from its shell
        await asyncio.wait_for(noted.wait(), timeout=10)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)
        await redis.aclose()
        await rig.aclose()


async def rig_store_quietly(rig: Rig, session: Any, attempt: uuid.UUID) -> None:
    """Store the call as another process would: this process's senders are not told."""
    from dentalvoice.voice import records

    await records.store_call(
        session=session,
        attempt_id=attempt,
        qualification=qualification(Outcome.QUALIFIED),
        transcript=TRANSCRIPT,
        actions=ActionsTaken(),
        latency=[],
        ended_at=rig.now(),
    )
    session.info.clear()


async def test_a_team_calendar_booking_names_the_configured_member(rig: Rig) -> None:
    team = rig.emulator.seed_calendar(
        location_id=rig.location.id,
        name="Team consults",
        open_hours={day: [("09:00", "17:00")] for day in range(5)},
        team_member_ids=["user-7", "user-8"],
    )
    async with rig.db.transaction() as session:
        from dentalvoice.locations.models import Location

        await session.execute(
            update(Location).where(Location.id == rig.location_id).values(calendar_id=team.id)
        )
    await rig.configure(calendar_user_id="user-7")
    attempt = await rig.new_call()
    await rig.store(attempt, qualification(Outcome.BOOKED))

    await rig.deliver_all()

    (appointment,) = rig.state(attempt)["appointments"]
    assert (appointment["calendarId"], appointment["assignedUserId"]) == (team.id, "user-7")
