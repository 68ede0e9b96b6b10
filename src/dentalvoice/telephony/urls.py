"""The public URLs Twilio calls us back on, built from PUBLIC_BASE_URL (never from a request)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

VOICE_PATH = "/twilio/voice"
STATUS_PATH = "/twilio/status"
AMD_PATH = "/twilio/amd"
MEDIA_PATH = "/twilio/media"
WHISPER_PATH = "/twilio/whisper"


@dataclass(frozen=True, slots=True)
class CallbackUrls:
    """Builds each callback URL for an attempt; the attempt id rides in the query string."""

    base: str  # PUBLIC_BASE_URL, http(s), without a trailing slash

    @classmethod
    def from_base(cls, base: str) -> CallbackUrls:
        """Validate and normalise PUBLIC_BASE_URL.

        Args:
            base: An absolute http(s) URL, optionally with a path prefix.

        Returns:
            The builder.

        Raises:
            ValueError: Not an absolute http(s) URL, or it has a query or fragment.
        """
        parts = urlsplit(base)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("PUBLIC_BASE_URL must be an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise ValueError("PUBLIC_BASE_URL must not carry a query string or fragment")
        return cls(base=base.rstrip("/"))

    @property
    def ws_base(self) -> str:
        """The same host as `wss://` (Twilio streams only to wss; TLS ends at the proxy)."""
        parts = urlsplit(self.base)
        return urlunsplit(("wss", parts.netloc, parts.path, "", ""))

    def voice(self, attempt_id: uuid.UUID) -> str:
        """Where Twilio fetches the TwiML once the call is answered."""
        return f"{self.base}{VOICE_PATH}?attempt={attempt_id.hex}"

    def status(self, attempt_id: uuid.UUID) -> str:
        """Where Twilio posts call progress."""
        return f"{self.base}{STATUS_PATH}?attempt={attempt_id.hex}"

    def amd(self, attempt_id: uuid.UUID) -> str:
        """Where Twilio posts the answering-machine verdict."""
        return f"{self.base}{AMD_PATH}?attempt={attempt_id.hex}"

    def whisper(self, attempt_id: uuid.UUID) -> str:
        """Where Twilio fetches what the front desk hears before a transfer connects.

        Only the attempt id rides here: the summary is PHI and stays in our database.
        """
        return f"{self.base}{WHISPER_PATH}?attempt={attempt_id.hex}"

    def media(self, attempt_id: uuid.UUID, token: str) -> str:
        """The stream's wss URL: ids in the path, since Twilio drops query strings there."""
        return f"{self.ws_base}{MEDIA_PATH}/{attempt_id.hex}/{token}"
