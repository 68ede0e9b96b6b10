"""The GHL emulator's knobs: rate limits, token lifetimes, validation.

Defaults are GHL's documented values (100 requests / 10 s burst, 200,000 a day, tokens valid
86,399 s). Every field can be changed on a running emulator (`emulator.settings.burst_max =
5`); each request reads the values current when it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

# GHL's own figures (docs/oauth/Authorization.md and the token response example).
DEFAULT_BURST_MAX = 100
DEFAULT_BURST_INTERVAL_S = 10.0
DEFAULT_DAILY_MAX = 200_000
DEFAULT_ACCESS_TOKEN_TTL_S = 86_399
# GHL changelog: concurrent refreshes with the same refresh token within 30 s get the same
# new refresh token instead of failing.
DEFAULT_REFRESH_REUSE_S = 30.0


@dataclass
class GhlSettings:
    """Behaviour of a `GhlEmulator`.

    Attributes:
        burst_max: Requests allowed per app and resource within `burst_interval_s`.
        burst_interval_s: The burst window (a sliding window).
        daily_max: Requests allowed per app and resource per UTC day.
        access_token_ttl_s: Lifetime of OAuth access tokens (`expires_in`).
        refresh_reuse_s: How long a rotated refresh token still answers with its successor.
        validate_requests: Check every API request against GHL's OpenAPI files.
        max_body_bytes: Larger request bodies are refused with 413.
    """

    burst_max: int = DEFAULT_BURST_MAX
    burst_interval_s: float = DEFAULT_BURST_INTERVAL_S
    daily_max: int = DEFAULT_DAILY_MAX
    access_token_ttl_s: int = DEFAULT_ACCESS_TOKEN_TTL_S
    refresh_reuse_s: float = DEFAULT_REFRESH_REUSE_S
    validate_requests: bool = True
    max_body_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        """Refuse settings that would make the emulator misbehave instead of failing loudly."""
        if self.burst_max < 1 or self.daily_max < 1:
            raise ValueError("rate limits must allow at least one request")
        if self.burst_interval_s <= 0 or self.access_token_ttl_s <= 0:
            raise ValueError("intervals and lifetimes must be positive")
        if self.refresh_reuse_s < 0:
            raise ValueError("refresh_reuse_s must not be negative")
