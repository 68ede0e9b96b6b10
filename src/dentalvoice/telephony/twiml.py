"""TwiML documents dentalvoice returns to Twilio, built (and escaped) by the SDK's VoiceResponse."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from twilio.twiml.voice_response import VoiceResponse  # type: ignore[import-untyped]

# twilio.md §1.1: "The combined length of each <Parameter> name and value ... under 500".
MAX_PARAMETER_CHARS: Final = 499

# Characters XML 1.0 cannot carry at all; ElementTree would write them and Twilio would reject
# the whole document, so refuse them up front.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def connect_stream(*, ws_url: str, parameters: Mapping[str, str]) -> str:
    """Hand the call to our WebSocket: `<Connect><Stream url=…><Parameter …/></Stream></Connect>`.

    Nothing follows `</Connect>`, so closing the socket ends the call (twilio.md §1.7).

    Args:
        ws_url: Absolute `wss://` URL without a query string (Twilio drops queries); put ids
            in the path or in `parameters`.
        parameters: Custom parameters, delivered in the `start` message's `customParameters`.

    Returns:
        The TwiML document.

    Raises:
        ValueError: A non-wss URL, a query string, or a parameter over Twilio's size limit.
    """
    parts = urlsplit(ws_url)
    if parts.scheme != "wss" or not parts.netloc:
        raise ValueError("the stream URL must be an absolute wss:// URL")
    if parts.query or parts.fragment:
        raise ValueError("the stream URL must not carry a query string or fragment")
    response = VoiceResponse()
    stream = response.connect().stream(url=_clean(ws_url))
    for name, value in parameters.items():
        if not name or len(name) + len(value) > MAX_PARAMETER_CHARS:
            raise ValueError("stream parameter name+value must be 1..499 characters")
        stream.parameter(name=_clean(name), value=_clean(value))
    return _render(response)


def dial_transfer(
    *,
    number: str,
    caller_id: str | None,
    whisper_url: str | None = None,
    timeout_s: int = 20,
) -> str:
    """Transfer the call to a person: `<Dial callerId timeout><Number url=whisper>…</Dial>`.

    Args:
        number: Where to transfer, in E.164.
        caller_id: The number shown to the person called; None keeps Twilio's default.
        whisper_url: TwiML URL played to the person called before the two sides connect.
        timeout_s: Seconds to ring the transfer target.

    Returns:
        The TwiML document.
    """
    if timeout_s <= 0:
        raise ValueError("timeout_s must be positive")
    response = VoiceResponse()
    dial = response.dial(
        caller_id=_clean(caller_id) if caller_id is not None else None, timeout=timeout_s
    )
    number_attrs: dict[str, Any] = {}
    if whisper_url is not None:
        number_attrs = {"url": _clean(whisper_url), "method": "POST"}
    dial.number(_clean(number), **number_attrs)
    return _render(response)


def voicemail(*, text: str, voice: str | None = None) -> str:
    """Leave a message and end the call: `<Say>text</Say><Hangup/>`.

    Args:
        text: What to say; plain text, escaped by the SDK.
        voice: A Twilio voice name (e.g. `Polly.Joanna`); None uses Twilio's default.

    Returns:
        The TwiML document.
    """
    response = VoiceResponse()
    response.say(_clean(text), voice=_clean(voice) if voice is not None else None)
    response.hangup()
    return _render(response)


def whisper(*, text: str, voice: str | None = None) -> str:
    """What the person taking a transfer hears before the caller is connected: `<Say>text</Say>`.

    Nothing follows the `<Say>`: when the document ends, Twilio bridges the two sides (a
    `<Hangup/>` here would refuse the transfer instead).

    Args:
        text: The summary to say; plain text, escaped by the SDK.
        voice: A Twilio voice name; None uses Twilio's default.

    Returns:
        The TwiML document.
    """
    response = VoiceResponse()
    response.say(_clean(text), voice=_clean(voice) if voice is not None else None)
    return _render(response)


def hangup() -> str:
    """End the call: `<Hangup/>`.

    Returns:
        The TwiML document.
    """
    response = VoiceResponse()
    response.hangup()
    return _render(response)


def _clean(value: str) -> str:
    if _NOT_XML.search(value):
        raise ValueError("TwiML values must not contain XML control characters")
    return value


def _render(response: Any) -> str:
    return str(response.to_xml())
