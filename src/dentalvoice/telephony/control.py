"""Steering a live call: leave a voicemail, transfer to a person, hang up.

The agent's `transfer` and `end_call` actions and the AMD callback come through here; each is a
`calls(sid).update` with TwiML that replaces whatever the call is doing (the media stream gets
`stop` and closes).
"""

from __future__ import annotations

from loguru import logger

from dentalvoice.telephony import twiml
from dentalvoice.telephony.client import TwilioClient
from dentalvoice.telephony.errors import TwilioError

# "Call is not in-progress" / "not found": the call ended before our update reached it.
_ENDED_CODES = frozenset({21220, 20404})


class CallControl:
    """Live-call operations over the process's Twilio client."""

    def __init__(self, *, client: TwilioClient) -> None:
        """Create the service.

        Args:
            client: The process's Twilio client.
        """
        self._client = client

    async def leave_voicemail(self, *, call_sid: str, text: str) -> bool:
        """Say `text` to the answering machine, then hang up.

        Args:
            call_sid: The live call.
            text: The message (see `telephony.voicemail`).

        Returns:
            False when the call had already ended.

        Raises:
            TwilioError: Twilio refused for another reason.
        """
        return await self._update(call_sid, twiml.voicemail(text=text), action="voicemail")

    async def transfer(
        self,
        *,
        call_sid: str,
        number: str,
        caller_id: str | None,
        whisper_url: str | None = None,
    ) -> bool:
        """Connect the caller to a person at `number` (`<Dial>`), optionally whispering first.

        Args:
            call_sid: The live call.
            number: Where to transfer (E.164).
            caller_id: The number the person sees (the clinic's), or None.
            whisper_url: TwiML played to the person before connecting (a summary).

        Returns:
            False when the call had already ended.

        Raises:
            TwilioError: Twilio refused for another reason.
        """
        document = twiml.dial_transfer(number=number, caller_id=caller_id, whisper_url=whisper_url)
        return await self._update(call_sid, document, action="transfer")

    async def hang_up(self, *, call_sid: str) -> None:
        """End the call (an already ended call counts as hung up).

        Args:
            call_sid: The call.

        Raises:
            TwilioError: Twilio refused for another reason.
        """
        try:
            await self._client.hang_up(call_sid)
        except TwilioError as exc:
            if exc.code not in _ENDED_CODES:
                raise

    async def _update(self, call_sid: str, document: str, *, action: str) -> bool:
        try:
            await self._client.update_call(call_sid, twiml=document)
        except TwilioError as exc:
            if exc.code in _ENDED_CODES:
                logger.info("call {} ended before {}", call_sid, action)
                return False
            raise
        logger.info("call {} redirected: {}", call_sid, action)
        return True
