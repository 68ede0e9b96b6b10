"""What an attempt's outcome means for its job: stop, or call again and when (pure)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


class Outcome(enum.StrEnum):
    """How one dial ended, as far as the job is concerned."""

    CONVERSATION = "conversation"  # a person answered and the call ran its course
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"  # the network could not complete it
    VOICEMAIL = "voicemail"
    LOST = "lost"  # dialed, but no final status ever arrived
    DIAL_ERROR = "dial_error"  # Twilio refused the request or did not answer it
    NOT_PLACED = "not_placed"  # recorded, but no sign the call ever reached Twilio
    INVALID_NUMBER = "invalid_number"
    GEO_BLOCKED = "geo_permission"
    FAX = "fax"
    OPTED_OUT = "opted_out"
    WRONG_NUMBER = "wrong_number"
    TRANSFERRED = "transferred"  # the agent handed the caller to the clinic's front desk
    CANCELED = "canceled"  # we cancelled it (DND or opt-out arrived while ringing)


# Worth another try later; everything else ends the job.
RETRYABLE = frozenset(
    {
        Outcome.NO_ANSWER,
        Outcome.BUSY,
        Outcome.FAILED,
        Outcome.VOICEMAIL,
        Outcome.LOST,
    }
)

# Consecutive refusals by Twilio before a job is given up as `dial_errors`.
MAX_DIAL_ERRORS = 8


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to call again after an unanswered attempt (a clinic's options build one).

    Attributes:
        delays: The wait after the 1st, 2nd, … unanswered attempt; past the end of the list,
            the next attempt is the next morning.
        max_attempts: Dials per job, after which the job ends `attempts_exhausted`.
        morning: The wall-clock time "next morning" means, in the lead's zone. The gate moves
            it later if that is not a lawful moment (state hours, clinic hours, holidays).
    """

    delays: Sequence[timedelta] = (timedelta(minutes=10), timedelta(hours=2))
    max_attempts: int = 5
    morning: time = time(9, 0)


@dataclass(frozen=True, slots=True)
class NextStep:
    """What the job does after an attempt: `due_at` set means call again then."""

    due_at: datetime | None
    reason: str


def next_step(
    *,
    policy: RetryPolicy,
    outcome: Outcome,
    attempts_made: int,
    ended_at: datetime,
    zone: ZoneInfo,
) -> NextStep:
    """Decide whether the job calls again.

    Args:
        policy: The clinic's retry policy.
        outcome: How the attempt ended.
        attempts_made: Dials made for this job so far, this one included.
        ended_at: When the attempt ended (timezone-aware).
        zone: The lead's time zone, for "next morning".

    Returns:
        The next due time (UTC) and why, or no due time and the reason the job ends.
    """
    if outcome not in RETRYABLE:
        return NextStep(due_at=None, reason=outcome.value)
    if attempts_made >= policy.max_attempts:
        return NextStep(due_at=None, reason="attempts_exhausted")
    index = max(attempts_made - 1, 0)
    if index < len(policy.delays):
        return NextStep(
            due_at=ended_at.astimezone(UTC) + policy.delays[index], reason=outcome.value
        )
    return NextStep(due_at=next_morning(ended_at, zone, policy.morning), reason=outcome.value)


def next_morning(moment: datetime, zone: ZoneInfo, at: time) -> datetime:
    """The next day's `at` in `zone` after `moment`, in UTC (DST handled by zoneinfo).

    Args:
        moment: Now (timezone-aware).
        zone: The lead's zone.
        at: The local wall-clock time.

    Returns:
        The UTC moment.
    """
    local = moment.astimezone(zone)
    candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate.astimezone(UTC)


def policy_from(
    *, delays_minutes: Sequence[int], max_attempts: int, morning: time = time(9, 0)
) -> RetryPolicy:
    """Build a policy from a clinic's options.

    Args:
        delays_minutes: Waits after the first unanswered attempts, in minutes.
        max_attempts: Dials per job.
        morning: What "next morning" means locally.

    Returns:
        The policy.
    """
    return RetryPolicy(
        delays=tuple(timedelta(minutes=m) for m in delays_minutes),
        max_attempts=max_attempts,
        morning=morning,
    )


def dial_error_backoff(*, kind: str, failures: int) -> timedelta:
    """How long a job waits after Twilio refused (or did not answer) its dial request.

    Not the human cadence: these are our own or Twilio's limits, so the pause is short and
    grows with each consecutive failure.

    Args:
        kind: The Twilio outcome (`rate_limited`, `concurrency_limit`, `unavailable`, …).
        failures: Consecutive dial errors for this job, this one included (≥ 1).

    Returns:
        The pause before the next dial.
    """
    base = {
        "rate_limited": timedelta(seconds=2),
        "concurrency_limit": timedelta(seconds=30),
    }.get(kind, timedelta(seconds=60))
    # Capped exponent: a long run of failures must not overflow timedelta.
    grown: timedelta = base * (2 ** min(max(failures - 1, 0), 16))
    return min(grown, timedelta(minutes=30))
