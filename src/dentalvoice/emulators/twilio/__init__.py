"""A Twilio emulator: the REST Calls API, status/AMD callbacks, TwiML and Media Streams.

Point the project's `TwilioClient` at it (`api_base_url=`) and it places calls to simulated
callees, calls the app back with signed webhooks and opens the Media Stream WebSocket, the way
Twilio would. Everything it does is recorded for assertions (`emulator.calls`, `.events`).
"""

from dentalvoice.emulators.twilio.audio import beep, silence, speech_like, tone
from dentalvoice.emulators.twilio.callees import (
    CALLEE_FACTORIES,
    AudioCallee,
    Busy,
    Callee,
    Fails,
    NoAnswer,
    PickUp,
    SilentHuman,
    Voicemail,
    as_callee,
    callee_from_name,
)
from dentalvoice.emulators.twilio.emulator import TwilioEmulator, create_emulator
from dentalvoice.emulators.twilio.line import CallerLine, HeardFrame
from dentalvoice.emulators.twilio.records import (
    AmdRecord,
    CallRecord,
    DialRecord,
    ErrorRecord,
    Event,
    HttpExchange,
    StreamRecord,
    UpdateRecord,
    VerbRecord,
    VoicemailRecord,
    WaitTimeout,
)
from dentalvoice.emulators.twilio.rules import ApiError
from dentalvoice.emulators.twilio.server import (
    parse_route,
    run_twilio_emulator,
    serve_twilio_emulator,
)
from dentalvoice.emulators.twilio.settings import EmulatorSettings
from dentalvoice.emulators.twilio.spec import (
    DEFAULT_SPEC_PATH,
    SpecNotFoundError,
    TwilioSpec,
    load_spec,
)

__all__ = [
    "CALLEE_FACTORIES",
    "DEFAULT_SPEC_PATH",
    "AmdRecord",
    "ApiError",
    "AudioCallee",
    "Busy",
    "CallRecord",
    "Callee",
    "CallerLine",
    "DialRecord",
    "EmulatorSettings",
    "ErrorRecord",
    "Event",
    "Fails",
    "HeardFrame",
    "HttpExchange",
    "NoAnswer",
    "PickUp",
    "SilentHuman",
    "SpecNotFoundError",
    "StreamRecord",
    "TwilioEmulator",
    "TwilioSpec",
    "UpdateRecord",
    "VerbRecord",
    "Voicemail",
    "VoicemailRecord",
    "WaitTimeout",
    "as_callee",
    "beep",
    "callee_from_name",
    "create_emulator",
    "load_spec",
    "parse_route",
    "run_twilio_emulator",
    "serve_twilio_emulator",
    "silence",
    "speech_like",
    "tone",
]
