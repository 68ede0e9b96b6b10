"""The retry policy: which outcomes call again, and when."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dentalvoice.dialer.retry import (
    RETRYABLE,
    Outcome,
    RetryPolicy,
    dial_error_backoff,
    next_morning,
    next_step,
)

NY = ZoneInfo("America/New_York")
ENDED = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York


@pytest.mark.parametrize("outcome", sorted(RETRYABLE))
def test_unanswered_outcomes_call_again_after_10_min_then_2_h_then_next_morning(
    outcome: Outcome,
) -> None:
    policy = RetryPolicy()
    due = [
        next_step(policy=policy, outcome=outcome, attempts_made=n, ended_at=ENDED, zone=NY).due_at
        for n in (1, 2, 3, 4)
    ]
    morning = datetime(2026, 12, 3, 9, 0, tzinfo=NY).astimezone(UTC)
    assert due == [ENDED + timedelta(minutes=10), ENDED + timedelta(hours=2), morning, morning]


@pytest.mark.parametrize(
    "outcome", [o for o in Outcome if o not in RETRYABLE], ids=lambda o: o.value
)
def test_final_outcomes_stop_the_job(outcome: Outcome) -> None:
    step = next_step(
        policy=RetryPolicy(), outcome=outcome, attempts_made=1, ended_at=ENDED, zone=NY
    )
    assert (step.due_at, step.reason) == (None, outcome.value)


def test_the_attempt_budget_ends_the_job() -> None:
    step = next_step(
        policy=RetryPolicy(max_attempts=3),
        outcome=Outcome.NO_ANSWER,
        attempts_made=3,
        ended_at=ENDED,
        zone=NY,
    )
    assert (step.due_at, step.reason) == (None, "attempts_exhausted")


def test_next_morning_is_in_the_leads_zone_across_a_dst_change() -> None:
    # 23:30 New York on the night clocks go back: the next morning is 09:00 EST (14:00 UTC).
    before = datetime(2026, 11, 1, 3, 30, tzinfo=UTC)
    assert next_morning(before, NY, time(9, 0)) == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)


def test_dial_error_backoff_grows_and_is_capped() -> None:
    pauses = [dial_error_backoff(kind="rate_limited", failures=n) for n in (1, 2, 3)]
    assert pauses == [timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=8)]
    assert dial_error_backoff(kind="unavailable", failures=50) == timedelta(minutes=30)
