"""A fake Amazon Polly: `POST /v1/speech` (SynthesizeSpeech) spoken by the local Piper voice.

botocore and aiobotocore talk to it as to Polly when given its URL as `endpoint_url`: it checks
that the request is SigV4-signed for the `polly` service (the signature itself is not
verified), validates the JSON body as Polly does (`speech`), and streams `audio/pcm` — 16-bit
mono little-endian at the requested 8 or 16 kHz — sentence by sentence as Piper synthesises
it. Every VoiceId speaks with the same Piper voice; the emulator is for the wire protocol and
timing, not for how Polly's voices sound.

Like the fake OpenAI server it is a plain ASGI app (frameworks stay at the service's edges);
latency and faults are attributes a test can change between requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

from dentalvoice.callers.audio import float_to_pcm, resample
from dentalvoice.emulators.polly.speech import PollyError, SpeechRequest
from dentalvoice.serving import answer_lifespan, pause, read_body, serve_asgi, watch_disconnect
from dentalvoice.voice import models

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SPEECH_PATH = "/v1/speech"
# `Credential=AKID/20260101/us-east-1/polly/aws4_request` in a SigV4 Authorization header.
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")


class Fault(enum.StrEnum):
    """A failure the fake can inject into synthesis requests."""

    SERVICE_FAILURE = "service_failure"  # HTTP 500 ServiceFailureException (botocore retries)
    THROTTLING = "throttling"  # HTTP 400 ThrottlingException (botocore retries)
    HANG = "hang"  # no response for `hang_s`, or until the client gives up


@dataclass(frozen=True, slots=True)
class ReceivedSpeech:
    """One valid request, with the region and access key it was signed for."""

    request: SpeechRequest
    region: str
    access_key_id: str


class FakePolly:
    """The fake Polly as an ASGI application. Create it with `create_app`.

    Attributes a test may change at any time:
        voice: The Piper `.onnx` voice every VoiceId speaks with; None for joe-medium.
        access_key_id: When set, the only access key accepted; otherwise any signed request is.
        first_byte_delay_s: Pause before the response starts (Polly's time to first byte).
        fault: The failure to inject, or None.
        fault_times: How many requests get `fault`; None for every request until cleared.
        hang_s: How long a hang lasts if the client does not give up first.

    Read-only observations: `requests` (every valid request, in order) and `bytes_sent`
    (audio bytes streamed).
    """

    def __init__(self, *, voice: str | None = None, access_key_id: str | None = None) -> None:
        self.voice = voice
        self.access_key_id = access_key_id
        self.first_byte_delay_s = 0.0
        self.fault: Fault | None = None
        self.fault_times: int | None = None
        self.hang_s = 60.0
        self.requests: list[ReceivedSpeech] = []
        self.bytes_sent = 0

    def inject(self, fault: Fault, *, times: int | None = None) -> None:
        """Make the next `times` requests (every one when None) fail with `fault`."""
        self.fault, self.fault_times = fault, times

    def clear_fault(self) -> None:
        """Stop injecting failures."""
        self.fault, self.fault_times = None, None

    async def warm_up(self) -> None:
        """Load the Piper voice (in a thread) so the first request does not wait for it."""
        await asyncio.to_thread(models.piper, self.voice)

    # -- ASGI -------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            received = await self._received(scope, receive)
        except PollyError as error:
            await _send_error(send, error)
            return
        self.requests.append(received)
        fault = self._take_fault()
        if fault is Fault.SERVICE_FAILURE:
            await _send_error(send, PollyError(500, "ServiceFailureException", "Service failure"))
            return
        if fault is Fault.THROTTLING:
            await _send_error(send, PollyError(400, "ThrottlingException", "Rate exceeded"))
            return
        gone = asyncio.Event()
        watcher = asyncio.create_task(watch_disconnect(receive, gone))
        try:
            if fault is Fault.HANG and await pause(self.hang_s, gone):
                return
            if await pause(self.first_byte_delay_s, gone):
                return
            await self._speak(received.request, gone, send)
        finally:
            watcher.cancel()
            await asyncio.wait({watcher})

    async def _received(self, scope: Scope, receive: Receive) -> ReceivedSpeech:
        path = str(scope["path"]).rstrip("/")
        if path != SPEECH_PATH:
            raise PollyError(404, "UnknownOperationException", f"No operation at {path}")
        if scope["method"] != "POST":
            raise PollyError(405, "UnknownOperationException", "SynthesizeSpeech is a POST")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        credential = _CREDENTIAL.search(headers.get("authorization", ""))
        if not headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 ") or not credential:
            raise PollyError(
                403, "MissingAuthenticationTokenException", "Missing Authentication Token"
            )
        access_key, region, service = credential.groups()
        if service != "polly" or (
            self.access_key_id is not None and access_key != self.access_key_id
        ):
            raise PollyError(
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        body = await read_body(receive)
        try:
            decoded = json.loads(body or b"{}")
        except ValueError as exc:
            raise PollyError(400, "SerializationException", "Request body is not JSON") from exc
        return ReceivedSpeech(SpeechRequest.from_body(decoded), region, access_key)

    async def _speak(self, request: SpeechRequest, gone: asyncio.Event, send: Send) -> None:
        headers = [
            (b"content-type", b"audio/pcm"),
            (b"x-amzn-requestcharacters", str(len(request.words)).encode()),
            (b"x-amzn-requestid", str(uuid.uuid4()).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        sentences = _sentences(self.voice, request) if request.words else iter(())
        try:
            while not gone.is_set():
                pcm = await asyncio.to_thread(next, sentences, None)
                if pcm is None:
                    break
                await send({"type": "http.response.body", "body": pcm, "more_body": True})
                self.bytes_sent += len(pcm)
        finally:
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _take_fault(self) -> Fault | None:
        fault = self.fault
        if fault is not None and self.fault_times is not None:
            self.fault_times -= 1
            if self.fault_times <= 0:
                self.clear_fault()
        return fault


def create_app(*, voice: str | None = None, access_key_id: str | None = None) -> FakePolly:
    """A fake Polly speaking with a local Piper voice.

    Args:
        voice: A Piper `.onnx` voice; None for the bundled joe-medium.
        access_key_id: When set, the only access key accepted.

    Returns:
        The ASGI app; its attributes control latency and faults.
    """
    return FakePolly(voice=voice, access_key_id=access_key_id)


@contextlib.asynccontextmanager
async def serve_fake_polly(
    app: FakePolly | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Run the fake on a real TCP port with uvicorn, for as long as the block lasts.

    The Piper voice is loaded (in a thread) before the first request.

    Args:
        app: A fake made with `create_app`; None for a default one.
        host: The interface to listen on.
        port: The port; 0 picks a free one.

    Yields:
        The `endpoint_url` for a Polly client, e.g. "http://127.0.0.1:54321".
    """
    asgi = app if app is not None else create_app()
    await asgi.warm_up()
    async with serve_asgi(asgi, host=host, port=port) as url:
        yield url


# -- helpers --------------------------------------------------------------------------------


def _sentences(voice: str | None, request: SpeechRequest) -> Iterator[bytes]:
    """Piper's audio of the request's words, one PCM chunk per sentence at its rate."""
    piper = models.piper(voice)
    for chunk in piper.synthesize(request.words):
        audio = resample(chunk.audio_float_array, chunk.sample_rate, request.sample_rate)
        yield float_to_pcm(audio).astype("<i2").tobytes()


async def _send_error(send: Send, error: PollyError) -> None:
    headers = [
        (b"content-type", b"application/x-amz-json-1.1"),
        (b"x-amzn-errortype", error.code.encode()),
        (b"x-amzn-requestid", str(uuid.uuid4()).encode()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send(
        {"type": "http.response.body", "body": json.dumps({"message": error.message}).encode()}
    )
