"""Fixtures: the Twilio emulator and a receiver app to put a talking caller on the phone with.

The same fixtures as the emulator's own tests (one receiver and emulator per test module, each
test starting from a reset), reused rather than redefined.
"""

from tests.emulators.twilio.conftest import (  # noqa: F401 - fixtures, found by name
    emulator,
    harness,
    receiver,
    servers,
    twilio,
    twilio_url,
)
