"""A GoHighLevel (API v2) emulator: contacts, tags, notes, opportunities, calendars, OAuth.

Point the project's GHL client at it (`base_url=emulator.url`, or
`httpx.ASGITransport(app=emulator)`) and it answers the way
`https://services.leadconnectorhq.com` does: every request checked against GHL's OpenAPI
files (`load_ghl_spec`), GHL's auth, 403 and rate-limit behaviour, free slots computed from
seeded open hours. Faults can be injected, and everything it did can be inspected.
"""

from dentalvoice.emulators.ghl.auth import Principal, TokenStore
from dentalvoice.emulators.ghl.clock import Clock, ManualClock, system_clock
from dentalvoice.emulators.ghl.demo import seed_demo
from dentalvoice.emulators.ghl.emulator import GhlEmulator
from dentalvoice.emulators.ghl.errors import GhlError
from dentalvoice.emulators.ghl.faults import Fault, FaultKind
from dentalvoice.emulators.ghl.records import RequestRecord
from dentalvoice.emulators.ghl.seeding import WEEKDAYS_9_TO_5, parse_open_hours
from dentalvoice.emulators.ghl.server import (
    load_seed_file,
    run_ghl_emulator,
    serve_ghl_emulator,
)
from dentalvoice.emulators.ghl.settings import GhlSettings
from dentalvoice.emulators.ghl.spec import (
    CALENDARS_VERSION,
    DEFAULT_SPEC_DIR,
    VERSION,
    GhlSpec,
    Problem,
    SpecNotFoundError,
    load_ghl_spec,
)
from dentalvoice.emulators.ghl.state import (
    Appointment,
    Calendar,
    Contact,
    CustomField,
    GhlState,
    Location,
    Note,
    OAuthClient,
    Opportunity,
    Pipeline,
    PrivateToken,
    Stage,
)

__all__ = [
    "CALENDARS_VERSION",
    "DEFAULT_SPEC_DIR",
    "VERSION",
    "WEEKDAYS_9_TO_5",
    "Appointment",
    "Calendar",
    "Clock",
    "Contact",
    "CustomField",
    "Fault",
    "FaultKind",
    "GhlEmulator",
    "GhlError",
    "GhlSettings",
    "GhlSpec",
    "GhlState",
    "Location",
    "ManualClock",
    "Note",
    "OAuthClient",
    "Opportunity",
    "Pipeline",
    "Principal",
    "PrivateToken",
    "Problem",
    "RequestRecord",
    "SpecNotFoundError",
    "Stage",
    "TokenStore",
    "load_ghl_spec",
    "load_seed_file",
    "parse_open_hours",
    "run_ghl_emulator",
    "seed_demo",
    "serve_ghl_emulator",
    "system_clock",
]
