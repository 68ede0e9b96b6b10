"""Throughput of the compliance gate: `decide` over 10,000 random leads (allow/defer/block mix)."""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from dentalvoice.compliance.facts import ClinicPolicy, ConsentFacts, LeadFacts, RegistryFacts
from dentalvoice.compliance.policy import decide
from dentalvoice.compliance.rules_model import default_rules

# Real-format area codes across states and provinces, multi-zone ones included; 555-01XX numbers.
# fmt: off
AREA_CODES = [
    "205", "208", "212", "213", "214", "219", "250", "270", "305", "312", "401", "404", "405",
    "416", "423", "503", "541", "601", "602", "604", "605", "615", "617", "701", "702", "717",
    "801", "808", "850", "907", "915", "928", "986", "800", "888",
]
# fmt: on
STATES = [None, None, "GA", "FL", "TX", "ID", "IN", "CA", "NY", "PA", "AL", "ON", "BC", "UT"]
ZONES = [None, None, None, "America/New_York", "America/Chicago", "America/Denver",
         "America/Los_Angeles", "America/Toronto"]  # fmt: skip
CLINIC_HOURS = [
    {},
    {d: [("08:00", "18:00")] for d in ("mon", "tue", "wed", "thu", "fri")},
    {d: [("09:00", "12:00"), ("13:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "sat")},
]


def random_case(rng: random.Random) -> tuple[LeadFacts, ClinicPolicy, datetime]:
    """One lead, clinic and moment; about a third of the leads hit a hard block."""
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(365 * 86_400))
    attempts = [
        at - timedelta(minutes=rng.randrange(1, 14 * 1440)) for _ in range(rng.randrange(6))
    ]
    lead = LeadFacts(
        phone_e164=f"+1{rng.choice(AREA_CODES)}55501{rng.randrange(100):02d}",
        explicit_timezone=rng.choice(ZONES),
        state=rng.choice(STATES),
        dnd=rng.random() < 0.03,
        internal_dnc=rng.random() < 0.03,
        registry=RegistryFacts(
            listed=rng.random() < 0.15,
            data_date=(at - timedelta(days=rng.randrange(40))).date(),
        ),
        inquiry_at=at - timedelta(days=rng.randrange(150)) if rng.random() < 0.5 else None,
        consent=ConsentFacts(has_evidence=rng.random() < 0.95, revoked=rng.random() < 0.02),
        attempts=attempts,
    )
    clinic = ClinicPolicy(
        timezone=rng.choice(["America/New_York", "America/Chicago", "America/Los_Angeles"]),
        business_hours=rng.choice(CLINIC_HOURS),
    )
    return lead, clinic, at


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261117)
    args = parser.parse_args()
    default_rules()  # load the data outside the timing, as a worker does at start
    rng = random.Random(args.seed)
    cases = [random_case(rng) for _ in range(args.count)]
    for label in ("cold caches", "warm caches"):
        kinds: Counter[str] = Counter()
        durations = []
        started = time.perf_counter()
        for lead, clinic, at in cases:
            begin = time.perf_counter_ns()
            decision = decide(lead, clinic, at)
            durations.append((time.perf_counter_ns() - begin) / 1000)
            kinds[decision.kind.value] += 1
        total = time.perf_counter() - started
        cuts = statistics.quantiles(durations, n=100)
        print(
            f"{label}: count={len(cases)} total={total:.3f}s "
            f"decisions/s={len(cases) / total:,.0f} p50={cuts[49]:.1f}us p99={cuts[98]:.1f}us "
            f"mix={dict(sorted(kinds.items()))}"
        )


if __name__ == "__main__":
    main()
