"""Twilio adapter: REST calls, TwiML documents and request-signature checks."""

from dentalvoice.telephony.client import TwilioClient
from dentalvoice.telephony.errors import TwilioError, TwilioOutcome, translate

__all__ = ["TwilioClient", "TwilioError", "TwilioOutcome", "translate"]
