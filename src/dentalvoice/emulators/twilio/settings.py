"""The emulator's knobs: rate limits, rejected numbers and how long simulated things take.

Durations default to small values so tests run in milliseconds; a demo sets realistic ones.
Every field may be changed on a running emulator (`emulator.settings.cps = 5`); each new
call reads the values current when it gets to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Twilio's default maximum call duration when `TimeLimit` is not given (4 hours).
DEFAULT_TIME_LIMIT_S = 4 * 60 * 60


@dataclass
class EmulatorSettings:
    """Behaviour of a `TwilioEmulator`.

    Attributes:
        cps: Calls per second the account may start; creates above the rate are queued.
        cps_tolerance_s: Slack when counting creates that arrived faster than `cps` allows,
            for scheduler jitter on the sender's side.
        max_concurrent_calls: Active (queued, ringing, in progress) calls allowed at once;
            a create beyond it fails with 10004. None means no limit.
        invalid_numbers: `To` numbers answered with 21211, as if they did not exist.
        geo_blocked_numbers: `To` numbers answered with 21215 (geo permissions).
        amd_human_s: Time from answer to the `human` AMD verdict.
        say_seconds_per_char: How long `<Say>` takes per character of text.
        play_s: How long one `<Play>` takes.
        pause_scale: Factor applied to `<Pause length>` seconds.
        dial_answer_s: Time for a `<Dial>` target to answer.
        dial_bridge_s: How long a bridged `<Dial>` lasts before the target hangs up.
        webhook_timeout_s: Bound on every HTTP request the emulator makes (Twilio: 15 s).
        stream_open_timeout_s: Bound on the Media Streams WebSocket handshake.
        stream_close_timeout_s: Bound on the WebSocket closing handshake after `stop`.
        callee_grace_s: Time a callee's `converse` gets to return after the line ends.
        max_response_chars: TwiML and webhook answers longer than this are truncated in records.
    """

    cps: float = 1.0
    cps_tolerance_s: float = 0.02
    max_concurrent_calls: int | None = None
    invalid_numbers: set[str] = field(default_factory=set)
    geo_blocked_numbers: set[str] = field(default_factory=set)
    amd_human_s: float = 0.05
    say_seconds_per_char: float = 0.001
    play_s: float = 0.01
    pause_scale: float = 0.01
    dial_answer_s: float = 0.01
    dial_bridge_s: float = 0.05
    webhook_timeout_s: float = 15.0
    stream_open_timeout_s: float = 10.0
    stream_close_timeout_s: float = 2.0
    callee_grace_s: float = 1.0
    max_response_chars: int = 65536

    def __post_init__(self) -> None:
        """Refuse settings that would make the emulator misbehave rather than fail loudly."""
        if self.cps <= 0:
            raise ValueError("cps must be positive")
        if self.max_concurrent_calls is not None and self.max_concurrent_calls < 1:
            raise ValueError("max_concurrent_calls must be at least 1 (or None)")
        if self.webhook_timeout_s <= 0 or self.stream_open_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
