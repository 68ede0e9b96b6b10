"""The dialer's Twilio side: one `calls.create` per attempt, with every callback wired."""

from __future__ import annotations

import uuid

from dentalvoice.errors import DentalVoiceError
from dentalvoice.telephony.client import TwilioClient
from dentalvoice.telephony.urls import CallbackUrls


class NoCallerId(DentalVoiceError):
    """Neither the clinic nor TWILIO_FROM_NUMBER gives a number to call from."""


class TwilioDialer:
    """Places calls for `dialer.worker.DialWorker` through the Twilio REST API."""

    def __init__(
        self,
        *,
        client: TwilioClient,
        urls: CallbackUrls,
        default_from: str | None,
        ring_timeout_s: int = 25,
    ) -> None:
        """Create the dialer.

        Args:
            client: The process's Twilio client.
            urls: Our public callback URLs.
            default_from: TWILIO_FROM_NUMBER, for clinics without their own number.
            ring_timeout_s: How long the phone rings before Twilio gives up (`no-answer`).
        """
        self._client = client
        self._urls = urls
        self._default_from = default_from
        self._ring_timeout_s = ring_timeout_s

    async def place_call(
        self,
        *,
        attempt_id: uuid.UUID,
        idempotency_key: str,
        to: str,
        from_: str | None,
        lead_id: uuid.UUID,
        location_id: uuid.UUID,
    ) -> str:
        """Start the call; see `dialer.worker.Dialer.place_call`.

        Raises:
            NoCallerId: No number to call from.
            TwilioError: Twilio refused the call or did not answer.
        """
        caller = from_ or self._default_from
        if caller is None:
            raise NoCallerId("set the clinic's twilio_from_number or TWILIO_FROM_NUMBER")
        return await self._client.create_call(
            to=to,
            from_=caller,
            url=self._urls.voice(attempt_id),
            status_callback=self._urls.status(attempt_id),
            amd_callback=self._urls.amd(attempt_id),
            timeout_s=self._ring_timeout_s,
            idempotency_key=idempotency_key,
        )
