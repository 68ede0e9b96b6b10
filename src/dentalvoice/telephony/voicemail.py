"""The message left on an answering machine: who called, why, how to call back; nothing more.

Whoever hears a voicemail may not be the lead, so it carries no name and no health detail
(the minimum necessary): the clinic, a neutral purpose, and the number to call back.
"""

from __future__ import annotations

import phonenumbers


def voicemail_message(*, clinic_name: str, callback_number: str | None) -> str:
    """The words of the voicemail.

    Args:
        clinic_name: The clinic as callers know it.
        callback_number: Where to call back (E.164), or None to leave it out.

    Returns:
        One short paragraph for `<Say>`.
    """
    text = (
        f"Hello, this is the automated assistant for {clinic_name}, "
        "returning your request about a dental appointment."
    )
    if callback_number:
        text += f" Please call us back at {_spoken(callback_number)}."
    return text + " Thank you, and have a good day."


def _spoken(number: str) -> str:
    # National format reads naturally ("(305) 555-0123"); Twilio's voices speak digits singly.
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
