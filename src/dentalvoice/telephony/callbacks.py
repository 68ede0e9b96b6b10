"""What Twilio's callbacks do: authenticate, move the attempt along, steer the live call.

The router only parses HTTP; every decision (and every database write) is made here, so the
same code serves the voice URL, status and AMD callbacks and the media stream of any process.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from loguru import logger

from dentalvoice.db.base import utcnow
from dentalvoice.db.engine import Database
from dentalvoice.dialer import progress
from dentalvoice.dialer.progress import AmdAction
from dentalvoice.dialer.wake import WakeRelay
from dentalvoice.locations.service import get_location
from dentalvoice.logging import describe_exception
from dentalvoice.sessions.schemas import CallSession, hash_stream_token
from dentalvoice.sessions.signals import CallSignals
from dentalvoice.sessions.store import SessionStore
from dentalvoice.telephony import twiml
from dentalvoice.telephony.control import CallControl
from dentalvoice.telephony.errors import TwilioError
from dentalvoice.telephony.signature import public_url, validate_http, validate_websocket
from dentalvoice.telephony.urls import CallbackUrls
from dentalvoice.telephony.voicemail import voicemail_message

# Long enough for any call; the stream's session is deleted when the call ends anyway.
SESSION_TTL_S: Final = 4 * 3600
# A retry due this soon wakes the dialer at once rather than at its next idle check.
_WAKE_WITHIN = timedelta(seconds=30)


class WhisperSource(Protocol):
    """Where a transfer's summary is kept until the front desk hears it (ids in, text out)."""

    async def __call__(self, attempt_id: uuid.UUID) -> str | None:
        """The summary for the attempt's transfer, or None when it asked for none."""
        ...


@dataclass(frozen=True, slots=True)
class Callbacks:
    """The process's handlers for Twilio's requests."""

    db: Database
    auth_token: str
    urls: CallbackUrls
    sessions: SessionStore
    signals: CallSignals
    control: CallControl | None = None
    wake: WakeRelay | None = None
    # TWILIO_FROM_NUMBER: the caller id a clinic without its own number calls from, and so
    # the number its voicemails ask to be called back on.
    default_from: str | None = None
    # The summaries transfers whisper to the front desk (kept with the call's record).
    whispers: WhisperSource | None = None
    clock: Callable[[], datetime] = utcnow

    # -- authenticity ---------------------------------------------------------------------

    def authentic(
        self, *, path: str, query: str, params: Mapping[str, str], signature: str | None
    ) -> bool:
        """Whether a form POST carries Twilio's signature for our public URL.

        Args:
            path: The request path as received.
            query: The raw query string as received.
            params: Every form field.
            signature: `X-Twilio-Signature`.

        Returns:
            True only for a valid signature.
        """
        url = public_url(self.urls.base, path, query)
        return validate_http(
            auth_token=self.auth_token, url=url, params=params, signature=signature
        )

    def authentic_stream(self, *, path: str, signature: str | None) -> bool:
        """Whether a WebSocket upgrade carries Twilio's signature for our public wss URL.

        Args:
            path: The upgrade's path.
            signature: The lowercase `x-twilio-signature` header.

        Returns:
            True only for a valid signature.
        """
        url = public_url(self.urls.ws_base, path)
        return validate_websocket(auth_token=self.auth_token, wss_url=url, signature=signature)

    # -- the call -------------------------------------------------------------------------

    async def answer(self, *, attempt_id: uuid.UUID, call_sid: str) -> str:
        """The TwiML for an answered call: our media stream, with a one-time token.

        Args:
            attempt_id: From the voice URL.
            call_sid: Twilio's `CallSid`.

        Returns:
            The TwiML document (`<Hangup/>` when the attempt already ended).

        Raises:
            progress.UnknownAttempt: Not one of our attempts, or another call's.
        """
        now = self.clock()
        async with self.db.transaction() as session:
            answered = await progress.record_answered(
                session=session, attempt_id=attempt_id, call_sid=call_sid, at=now
            )
        if answered is None:
            return twiml.hangup()
        token = secrets.token_urlsafe(32)
        key = attempt_id.hex
        await self.sessions.put(
            key,
            CallSession(
                call_sid=call_sid,
                attempt_id=attempt_id,
                lead_id=answered.lead_id,
                location_id=answered.location_id,
                stream_token_hash=hash_stream_token(token),
                status="in-progress",
                created_at=now,
                updated_at=now,
            ),
            ttl_s=SESSION_TTL_S,
        )
        await self.sessions.link_call_sid(call_sid, key, ttl_s=SESSION_TTL_S)
        return twiml.connect_stream(
            ws_url=self.urls.media(attempt_id, token),
            parameters={
                "attempt": key,
                "lead": answered.lead_id.hex,
                "location": answered.location_id.hex,
            },
        )

    async def status(
        self,
        *,
        attempt_id: uuid.UUID,
        call_sid: str,
        call_status: str,
        duration_s: int | None,
    ) -> progress.StatusResult:
        """Apply a status callback.

        Args:
            attempt_id: From the status URL.
            call_sid: Twilio's `CallSid`.
            call_status: Twilio's `CallStatus`.
            duration_s: `CallDuration`, on the final callback.

        Returns:
            What changed.

        Raises:
            progress.UnknownAttempt: Not one of our attempts, or another call's.
        """
        now = self.clock()
        async with self.db.transaction() as session:
            result = await progress.record_call_status(
                session=session,
                attempt_id=attempt_id,
                call_sid=call_sid,
                call_status=call_status,
                duration_s=duration_s,
                at=now,
            )
        if result.next is not None:
            await self.sessions.delete(attempt_id.hex)
            self.signals.forget(attempt_id.hex)
            due = result.next.due_at
            if self.wake is not None and due is not None and due - now <= _WAKE_WITHIN:
                await self.wake.notify()
        return result

    async def amd(self, *, attempt_id: uuid.UUID, call_sid: str, answered_by: str) -> AmdAction:
        """Act on the answering-machine verdict: go on, leave the voicemail, or hang up.

        Args:
            attempt_id: From the AMD URL.
            call_sid: Twilio's `CallSid`.
            answered_by: Twilio's `AnsweredBy`.

        Returns:
            What was decided (and done, when a Twilio client is configured).

        Raises:
            progress.UnknownAttempt: Not one of our attempts, or another call's.
        """
        async with self.db.transaction() as session:
            action = await progress.record_answered_by(
                session=session,
                attempt_id=attempt_id,
                call_sid=call_sid,
                answered_by=answered_by,
                at=self.clock(),
            )
            text = None
            if action is AmdAction.LEAVE_VOICEMAIL:
                attempt = await progress.get_attempt(session=session, attempt_id=attempt_id)
                location = await get_location(session=session, location_id=attempt.location_id)
                if location is not None:
                    text = voicemail_message(
                        clinic_name=location.name,
                        callback_number=(
                            location.transfer_number
                            or location.twilio_from_number
                            or self.default_from
                        ),
                    )
        self.signals.publish(attempt_id.hex, answered_by)
        if self.control is None or action is AmdAction.CONTINUE:
            return action
        try:
            if action is AmdAction.LEAVE_VOICEMAIL and text is not None:
                await self.control.leave_voicemail(call_sid=call_sid, text=text)
            else:
                await self.control.hang_up(call_sid=call_sid)
        except TwilioError as exc:
            # The call goes on without the message; its final status still settles the job.
            logger.warning("amd action {} failed: {}", action.value, describe_exception(exc))
        return action

    async def whisper(self, *, attempt_id: uuid.UUID) -> str:
        """The TwiML the person taking a transfer hears before the caller is connected.

        Args:
            attempt_id: From the whisper URL (the transfer put it there).

        Returns:
            The TwiML document: the transfer's summary, said once.

        Raises:
            progress.UnknownAttempt: No transfer of ours was made for this attempt.
        """
        summary = await self.whispers(attempt_id) if self.whispers is not None else None
        if summary is None:
            raise progress.UnknownAttempt("no transfer for this attempt")
        return twiml.whisper(text=summary)

    # -- the media stream -----------------------------------------------------------------

    async def open_stream(self, *, attempt_id: uuid.UUID, token: str) -> bool:
        """Spend the stream's one-time token (a replayed or guessed URL gets False).

        Args:
            attempt_id: From the stream URL.
            token: From the stream URL.

        Returns:
            Whether the stream may be accepted.
        """
        return await self.sessions.consume_token(attempt_id.hex, token)

    async def stream_started(
        self, *, attempt_id: uuid.UUID, call_sid: str, stream_sid: str
    ) -> bool:
        """Record the stream's `start`; False when the attempt already ended.

        Raises:
            progress.UnknownAttempt: Not one of our attempts, or another call's.
        """
        async with self.db.transaction() as session:
            return await progress.record_stream(
                session=session,
                attempt_id=attempt_id,
                call_sid=call_sid,
                stream_sid=stream_sid,
                started=True,
                at=self.clock(),
            )

    async def stream_ended(self, *, attempt_id: uuid.UUID, call_sid: str, stream_sid: str) -> None:
        """Record the end of the stream (Twilio's `stop`, or either side closing)."""
        async with self.db.transaction() as session:
            await progress.record_stream(
                session=session,
                attempt_id=attempt_id,
                call_sid=call_sid,
                stream_sid=stream_sid,
                started=False,
                at=self.clock(),
            )
