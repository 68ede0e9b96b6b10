"""Simultaneous calls: how many one process holds before the audio stutters or replies slow down.

Two ramps of N simultaneous calls, each N a fresh run of the real path on the embedded defaults
(a temporary SQLite database, the app with its dialer on a loopback port, N leads posted to
demo clinics, the Twilio emulator placing the calls and streaming their media):

- cloud-like: speech providers that only wait, as remote ones do — STT answers 300 ms after
  the caller's speech segment ends, the LLM's first sentence comes 400 ms after the turn ends,
  TTS's first audio 150 ms after a sentence is asked for (then a tone as long as the sentence
  would take to say). Silero VAD and Smart Turn stay real. So the run measures our
  orchestration, transport and the two local turn models. Target: ≥ 100 calls per process with
  no audio underrun (heard frame gap p99 ≤ 60 ms) and stable voice-to-voice (p50 within
  +15 % and p90 within +25 % of the first step's).
- local: the default providers (Whisper tiny.en, Piper). Target: p50 voice-to-voice ≤ 1 s with
  ≥ 4 calls on 2 cores.

Each ramp stops after two steps in a row miss their target (`--keep-going` runs them all).

The emulator and the callers run in a process of their own (`concurrency_far_end.py`), as
Twilio and the people are elsewhere in production; `--same-process` puts them in the app's.
Each caller picks up after 1-8 s of ringing (so the calls are not in step), then answers the
agent with the first sentences of a scenario's facts, pre-synthesised in the caller voice, one
after each agent turn, after a random 0.3-1.2 s pause, and hangs up after the agent's reply to
its last answer. The fake STT returns those same sentences in order.

Voice-to-voice is the end of the caller's answer to the first voiced frame of the reply; a
frame gap is the time between consecutive frames the caller heard within one agent reply
(20 ms nominal; the emulator plays what arrived in real time, so a longer gap is a stretch of
silence the app failed to fill: an underrun). Pipecat's websocket output sends each 40 ms chunk
when the previous one would have finished playing, with no lead, so an event-loop stall of
more than 40 ms in the app reaches the caller as a gap of more than 60 ms. CPU is the app
process's (and the far end's) CPU time while calls were live, over that wall time, 100 % = one
core; loop lag is how late a 20 ms sleep in the app's event loop woke up meanwhile. The detail
line gives the app's own per-turn moments (the handler's `TurnLatency`), in ms after the VAD
decided speech ended.

    python benchmarks/concurrency.py                 # both ramps, about 12 minutes
    python benchmarks/concurrency.py --quick         # fewer steps and answers, about 6 minutes
    python benchmarks/concurrency.py --run cloud --max-calls 100
    python benchmarks/concurrency.py --run local --local-steps 1,2,3
    python benchmarks/concurrency.py --run overhead   # instant providers, 3 calls, ~2 minutes
    python benchmarks/concurrency.py --run overhead --overhead-calls 1 --rounds 3

`--run overhead` is the orchestration overhead: instant providers (the fake STT's transcript
at the segment's end, the scripted agent with no delay, the tone at once), so the time from the
turn's decision to its first audio sent is the pipeline's own, measured with the far end in its
own process as in production (`benchmarks/latency.py --config overhead` measures the same
beside the emulator and a caller that runs Whisper in the app's process).

Benchmarks print; they never assert.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import pickle
import secrets
import sys
import tempfile
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from pipecat.frames.frames import (
    Frame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.settings import STTSettings, TTSSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.services.tts_service import TTSService
from pipecat.utils.time import time_now_iso8601

from bench_support import orchestration_ms, percentile
from concurrency_far_end import (
    CallerPlan,
    CallMeasure,
    FarEndConfig,
    FarEndReport,
    Probe,
    run_far_end,
)
from dentalvoice.app import create_app
from dentalvoice.callers.voice import CallerVoice
from dentalvoice.clock import process_clock
from dentalvoice.config import Settings
from dentalvoice.conversation.agent import Agent, CallContext, TurnEvent
from dentalvoice.conversation.evaluation.caller import split_sentences
from dentalvoice.conversation.evaluation.scenario import Scenario, load_scenarios
from dentalvoice.conversation.factory import build_agent
from dentalvoice.db import open_database
from dentalvoice.db.migrate import upgrade
from dentalvoice.demo import morning, throwaway_settings
from dentalvoice.locations import service as location_service
from dentalvoice.locations.schemas import LocationCreate
from dentalvoice.logging import configure_logging
from dentalvoice.serving import bind, serve_asgi, url_of
from dentalvoice.voice.handler import VoiceCallHandler, VoiceCallResult
from dentalvoice.voice.providers import SpeechProviders

ROOT = Path(__file__).resolve().parents[1]
FAR_END = Path(__file__).resolve().with_name("concurrency_far_end.py")
PUBLIC = "https://concurrency.dentalvoice.test"
ACCOUNT_SID = "AC" + "cc" * 16
FROM_NUMBER = "+12125550199"  # outside the callers' numbers
ZONE = "America/New_York"
AREAS = ("305", "786", "954", "561", "407", "813", "904", "850", "239", "727")
CALLS_PER_CLINIC = 100  # DIALER_LOCATION_CONCURRENCY's maximum

STT_S = 0.300  # speech segment end → transcript
LLM_FIRST_S = 0.400  # turn end → first sentence
TTS_FIRST_S = 0.150  # sentence → first audio
TTS_CHARS_PER_S = 15.0  # how long the tone for a sentence lasts

UNDERRUN_MS = 60.0
LOCAL_V2V_TARGET_MS = 1000.0
CLOUD_STEPS = (1, 2, 3, 5, 10, 25, 50, 100, 150)
LOCAL_STEPS = (1, 2, 4, 6, 8)
QUICK_CLOUD_STEPS = (1, 3, 10, 25)
QUICK_LOCAL_STEPS = (1, 2, 4)


# -- cloud-like providers: they wait, they do not compute ---------------------------------------


async def provider_latency(seconds: float) -> None:
    """Wait as a remote provider's round trip would (a deadline, not a wait for work).

    An instant provider (0 s) takes no turn of the event loop: a real one with nothing to wait
    for would not, and `--run overhead` would count each such turn as orchestration.
    """
    if seconds:
        await asyncio.sleep(seconds)


class CloudLikeSTT(SegmentedSTTService):
    """A remote STT: each speech segment's transcript comes `delay_s` after the segment ends.

    The transcripts are the caller's answers, in the order the caller says them. When the VAD
    cuts one answer in two (a pause after "Yes,"), both segments are that answer: a segment
    starting within `same_answer_s` of the previous one's end belongs to the same answer,
    since the next answer only comes after the agent's reply.
    """

    def __init__(
        self, *, transcripts: Sequence[str], delay_s: float = STT_S, same_answer_s: float = 1.5
    ) -> None:
        """Create the service.

        Args:
            transcripts: What the caller's successive answers say (cycled).
            delay_s: Time from a segment's end to its transcript.
            same_answer_s: Longest pause within one answer.
        """
        super().__init__(ttfs_p99_latency=delay_s, settings=STTSettings(model=None, language=None))
        self._transcripts = list(transcripts)
        self._delay_s = delay_s
        self._same_answer_s = same_answer_s
        self._answer = -1
        self._stopped_at: float | None = None
        self._segments: deque[int] = deque()  # the answer of each queued segment

    @property
    def wants_wav_segments(self) -> bool:
        """Raw PCM: nothing reads the segment, so no WAV container is built for it."""
        return False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Follow the VAD to tell which answer each segment belongs to."""
        if isinstance(frame, VADUserStartedSpeakingFrame):
            stopped = self._stopped_at
            if stopped is None or time.monotonic() - stopped > self._same_answer_s:
                self._answer += 1
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._stopped_at = time.monotonic()
            self._segments.append(max(self._answer, 0))
        await super().process_frame(frame, direction)

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        """Wait as a round trip would, then give the segment's answer."""
        answer = self._segments.popleft() if self._segments else max(self._answer, 0)
        await provider_latency(self._delay_s)
        text = self._transcripts[answer % len(self._transcripts)]
        yield TranscriptionFrame(text, self._user_id, time_now_iso8601())


_TONES: dict[int, bytes] = {}


def _tone(sample_rate: int) -> bytes:
    """60 s of a voice-like tone (150 Hz and harmonics, syllable-rate swell) as 16-bit PCM."""
    if sample_rate not in _TONES:
        t = np.arange(60 * sample_rate) / sample_rate
        wave = np.sin(2 * np.pi * 150 * t) + 0.5 * np.sin(2 * np.pi * 300 * t)
        wave += 0.25 * np.sin(2 * np.pi * 450 * t)
        envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
        pcm = (wave / 1.75 * envelope * 0.3 * 32767).astype(np.int16)
        _TONES[sample_rate] = pcm.tobytes()
    return _TONES[sample_rate]


class CloudLikeTTS(TTSService):
    """A remote TTS: first audio `first_audio_s` after a sentence, then all of it at once.

    The audio is a tone as long as the sentence would take to say at `chars_per_s`.
    """

    def __init__(
        self, *, first_audio_s: float = TTS_FIRST_S, chars_per_s: float = TTS_CHARS_PER_S
    ) -> None:
        """Create the service.

        Args:
            first_audio_s: Time from a sentence to its first audio.
            chars_per_s: Speaking rate that sets the tone's length.
        """
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=TTSSettings(model=None, voice="tone", language=None),
        )
        self._first_audio_s = first_audio_s
        self._chars_per_s = chars_per_s

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        """Wait as a round trip would, then stream the sentence's tone in 200 ms chunks."""
        await provider_latency(self._first_audio_s)
        rate = self.sample_rate
        size = 2 * round(rate * max(0.3, len(text) / self._chars_per_s))
        pcm = _tone(rate)[:size]  # at most the tone's 60 s
        step = 2 * rate // 5

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(pcm), step):
                yield pcm[start : start + step]

        async for frame in self._stream_audio_frames_from_iterator(
            chunks(), in_sample_rate=rate, context_id=context_id
        ):
            yield frame


class CloudLikeAgent(Agent):
    """The scripted agent behind an LLM's latency: its first event of a turn comes late."""

    def __init__(self, inner: Agent, *, first_event_s: float = LLM_FIRST_S) -> None:
        """Wrap `inner`, sharing its state (the handler reads the qualification from it)."""
        super().__init__(inner.state)
        self._inner = inner
        self._first_event_s = first_event_s

    def opening(self) -> AsyncIterator[TurnEvent]:
        """The greeting is fixed text: no model call before it."""
        return self._inner.opening()

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:
        """Wait for the "first token", then answer as the scripted agent does."""
        await provider_latency(self._first_event_s)
        async for event in self._inner.respond(utterance):
            yield event


def cloud_like(
    transcripts: Sequence[str],
    *,
    stt_s: float = STT_S,
    llm_s: float = LLM_FIRST_S,
    tts_s: float = TTS_FIRST_S,
) -> tuple[SpeechProviders, Callable[..., Agent]]:
    """The providers and the agent factory of the cloud-like run (all delays 0: instant)."""

    def agent(context: CallContext) -> Agent:
        return CloudLikeAgent(build_agent(context=context), first_event_s=llm_s)

    providers = SpeechProviders(
        stt=lambda: CloudLikeSTT(transcripts=transcripts, delay_s=stt_s),
        tts=lambda: CloudLikeTTS(first_audio_s=tts_s),
        name="cloud-like" if stt_s or llm_s or tts_s else "instant",
    )
    return providers, agent


# -- one step: N calls ---------------------------------------------------------------------------


@dataclass
class Step:
    """What one run of N simultaneous calls measured."""

    kind: str
    n: int
    far: FarEndReport
    results: list[VoiceCallResult]
    probe: Probe  # the app's process
    wall_s: float
    calls: list[CallMeasure] = field(init=False)
    live: tuple[float, float] = field(init=False)  # first answer to last hang-up

    def __post_init__(self) -> None:
        """Index the far end's calls and find the stretch when calls were live."""
        self.calls = self.far.calls
        self.live = (
            (min(c.answered_at for c in self.calls), max(c.ended_at for c in self.calls))
            if self.calls
            else (0.0, 0.0)
        )

    @property
    def loop_lag_ms(self) -> list[float]:
        """The app's loop lag while calls were live."""
        return self.probe.lag_ms(*self.live)

    @property
    def app_cpu(self) -> float | None:
        """The app process's CPU while calls were live, in % of one core."""
        return self.probe.cpu_percent(*self.live)

    @property
    def far_cpu(self) -> float | None:
        """The far end's CPU while calls were live (None when it shares the app's process)."""
        return self.far.probe.cpu_percent(*self.live) if self.far.probe is not None else None

    @property
    def completed(self) -> int:
        """Calls whose caller said every answer and heard every reply."""
        return sum(call.completed for call in self.calls)

    @property
    def v2v_ms(self) -> list[float]:
        """Every answered turn's voice-to-voice."""
        return [ms for call in self.calls for ms in call.v2v_ms]

    @property
    def gaps_ms(self) -> list[float]:
        """Every frame gap heard within agent replies."""
        return [ms for call in self.calls for ms in call.gaps_ms]

    @property
    def peak_calls(self) -> int:
        """Most calls answered and not yet ended at one moment."""
        events = sorted(
            [(c.answered_at, 1) for c in self.calls] + [(c.ended_at, -1) for c in self.calls]
        )
        peak = live = 0
        for _, change in events:
            live += change
            peak = max(peak, live)
        return peak

    def stages_ms(self) -> dict[str, list[float]]:
        """App side, per turn: each pipeline moment in ms after the VAD heard speech end."""
        stages: dict[str, list[float]] = {}
        for result in self.results:
            for turn in result.turns:
                as_ms = getattr(turn, "as_ms", None)  # `TurnLatency`, where the handler has it
                for name, ms in (as_ms() if as_ms is not None else {}).items():
                    if ms is not None:
                        stages.setdefault(name, []).append(ms)
        return stages


def phone(i: int) -> str:
    """A distinct fictional Florida number (555-01xx) per call, up to 1000."""
    return f"+1{AREAS[i // 100]}55501{i % 100:02d}"


@contextlib.asynccontextmanager
async def far_end(
    config: FarEndConfig, *, same_process: bool, workdir: Path
) -> AsyncIterator[tuple[str, Callable[[], Awaitable[FarEndReport]]]]:
    """The emulator and the callers, in a child process or in this one.

    Yields:
        The emulator's URL, and a function waiting for the far end's report.
    """
    if same_process:
        listening: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(run_far_end(config, listening.set_result))
        either: list[asyncio.Future[Any]] = [listening, task]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if not listening.done():
            await task  # raises what stopped it
            raise RuntimeError("the far end stopped before it listened")

        async def report() -> FarEndReport:
            return await task

        try:
            yield listening.result(), report
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return

    config_path, report_path = workdir / "far-end.pickle", workdir / "far-end-report.pickle"
    config_path.write_bytes(pickle.dumps(config))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(FAR_END),
        str(config_path),
        str(report_path),
        stdout=asyncio.subprocess.PIPE,
        cwd=str(ROOT),
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(120):
            line = (await proc.stdout.readline()).decode().strip()
        if not line.startswith("http"):
            raise RuntimeError(f"the far end did not start (exit {await proc.wait()})")

        async def child_report() -> FarEndReport:
            await proc.wait()
            report: FarEndReport = pickle.loads(report_path.read_bytes())
            return report

        yield line, child_report
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()


def bench_settings(
    *, data_dir: Path, twilio_url: str, token: str, cps: float, log_level: str
) -> Settings:
    """Settings for one step: its own SQLite file, keys, the emulator, a fast dialer."""
    return throwaway_settings(
        data_dir=data_dir,
        twilio_url=twilio_url,
        auth_token=token,
        account_sid=ACCOUNT_SID,
        from_number=FROM_NUMBER,
        public_url=PUBLIC,
        clock_start=morning(ZONE),
        database_name="bench.db",
        log_level=log_level,
        dialer_calls_per_second=cps,
        dialer_location_concurrency=CALLS_PER_CLINIC,
        dialer_batch=min(100, max(1, math.ceil(cps))),
    )


async def post_leads(
    http: httpx.AsyncClient, settings: Settings, phones: Sequence[str], first_name: str
) -> None:
    """Post one GHL lead per number, spread over the clinics, a few requests at a time."""
    assert settings.ghl_webhook_secret is not None
    secret = settings.ghl_webhook_secret.get_secret_value()
    slots = asyncio.Semaphore(16)

    async def one(i: int, number: str) -> None:
        body = {
            "contact_id": f"ctconc{i:06d}",
            "first_name": first_name,
            "phone": number,
            "state": "FL",
            "country": "US",
            "location": {"id": clinic_id(i // CALLS_PER_CLINIC)},
            "customData": {"consent": "yes", "consent_text": "I agree to automated calls"},
        }
        async with slots:
            response = await http.post("/webhooks/ghl", params={"token": secret}, json=body)
        if response.status_code != 202 or "next_call_at" not in response.json():
            raise RuntimeError(f"lead {i} was not scheduled: {response.status_code}")

    await asyncio.gather(*(one(i, number) for i, number in enumerate(phones)))


def clinic_id(j: int) -> str:
    """The GHL location id of benchmark clinic `j`."""
    return f"LocConcurrency{j:06d}"


async def run_step(
    *,
    kind: str,
    n: int,
    answers: Sequence[tuple[str, bytes]],
    scenario: Scenario,
    args: argparse.Namespace,
    workdir: Path,
) -> Step:
    """N simultaneous calls end to end; what the callers heard and what it cost."""
    data_dir = workdir / f"{kind}-{n}"
    data_dir.mkdir(parents=True)
    token = secrets.token_urlsafe(24)
    phones = tuple(phone(i) for i in range(n))
    plan = CallerPlan(answers=tuple(audio for _, audio in answers), max_call_s=150.0)
    deadline_s = n / args.cps + plan.max_call_s + 30
    app_sock = bind()
    config = FarEndConfig(
        account_sid=ACCOUNT_SID,
        auth_token=token,
        public_url=PUBLIC,
        app_url=url_of(app_sock),
        phones=phones,
        plan=plan,
        deadline_s=deadline_s,
        probe=not args.same_process,
    )
    if kind == "cloud-like":
        providers, agent_factory = cloud_like([text for text, _ in answers])
    elif kind == "instant":
        texts = [text for text, _ in answers]
        providers, agent_factory = cloud_like(texts, stt_s=0.0, llm_s=0.0, tts_s=0.0)
    else:
        providers, agent_factory = None, None  # the defaults: local models, scripted agent
    probe = Probe()
    with app_sock:
        async with far_end(config, same_process=args.same_process, workdir=data_dir) as (
            twilio_url,
            far_report,
        ):
            settings = bench_settings(
                data_dir=data_dir,
                twilio_url=twilio_url,
                token=token,
                cps=args.cps,
                log_level=args.log_level,
            )
            db, _ = open_database(settings)
            await upgrade(db)
            async with db.transaction() as session:
                for j in range(math.ceil(n / CALLS_PER_CLINIC)):
                    await location_service.create_location(
                        session=session,
                        location_in=LocationCreate(
                            name=f"{scenario.location.name} {j + 1}",
                            ghl_location_id=clinic_id(j),
                            timezone=ZONE,
                        ),
                    )
            clock = process_clock(settings)
            handler = VoiceCallHandler(
                settings=settings,
                db=db,
                clock=clock,
                providers=providers,
                agent_factory=agent_factory,
                results=deque(),  # every call's result, not the last 100
            )
            await handler.warm_up()
            app = create_app(settings, media_handler=handler, clock=clock)
            async with (
                app.router.lifespan_context(app),
                serve_asgi(app, sock=app_sock, websockets=True) as app_url,
                httpx.AsyncClient(base_url=app_url, timeout=60) as http,
            ):
                sampling = asyncio.create_task(probe.run())
                started = time.monotonic()
                try:
                    await post_leads(http, settings, phones, scenario.lead.first_name or "Sam")
                    far = await far_report()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(30):
                            await handler.wait_results(len(far.calls))
                finally:
                    wall_s = time.monotonic() - started
                    sampling.cancel()
                    await asyncio.gather(sampling, return_exceptions=True)
            await db.dispose()
    return Step(
        kind=kind,
        n=n,
        far=far,
        results=list(handler.results),
        probe=probe,
        wall_s=wall_s,
    )


# -- reporting -----------------------------------------------------------------------------------


def fmt(values: Sequence[float], q: float) -> str:
    """A percentile in whole milliseconds, or a dash without data."""
    return f"{percentile(values, q):.0f}" if values else "-"


HEADER = (
    f"{'run':<10} {'N':>4} {'done':>7} {'peak':>4} {'turns':>5} {'V2V p50':>7} {'p90':>5} "
    f"{'gap p50':>7} {'p99':>4} {'max':>5} {'underruns':>9} {'lag p99':>7} {'CPU app':>7} "
    f"{'far end':>7}"
)


def row(step: Step) -> str:
    """One line of the table (times in ms, CPU in % of one core)."""
    v2v, gaps = step.v2v_ms, step.gaps_ms
    underruns = sum(gap > UNDERRUN_MS for gap in gaps)
    app = f"{step.app_cpu:.0f}%" if step.app_cpu is not None else "-"
    far = f"{step.far_cpu:.0f}%" if step.far_cpu is not None else "(same)"
    return (
        f"{step.kind:<10} {step.n:>4} {f'{step.completed}/{step.n}':>7} {step.peak_calls:>4} "
        f"{len(v2v):>5} {fmt(v2v, 0.5):>7} {fmt(v2v, 0.9):>5} {fmt(gaps, 0.5):>7} "
        f"{fmt(gaps, 0.99):>4} {fmt(gaps, 1.0):>5} {underruns:>9} {fmt(step.loop_lag_ms, 0.99):>7} "
        f"{app:>7} {far:>7}"
    )


def detail(step: Step) -> str:
    """A second line: where the time went and what went wrong, if anything."""
    unanswered = sum(call.unanswered for call in step.calls)
    stages = ", ".join(f"{name} {fmt(ms, 0.5)}" for name, ms in step.stages_ms().items())
    parts = [
        f"calls created {step.far.created}",
        f"app results {len(step.results)}",
        f"app p50 after VAD speech end: {stages or 'n/a'}",
        f"unanswered answers {unanswered}",
        f"loop lag max {fmt(step.loop_lag_ms, 1.0)} ms",
        f"wall {step.wall_s:.0f} s",
    ]
    if step.far.errors:
        parts.append(f"emulator errors {len(step.far.errors)}: {step.far.errors[0][:80]}")
    return "    " + ", ".join(parts)


def cloud_ok(step: Step, base: Step) -> tuple[bool, str]:
    """The cloud-like target at this N: every call done, no underrun, V2V like the first step's.

    Stable V2V: p50 within +15 % and p90 within +25 % of the first step's (the first step is
    the reference, so only its calls and its frame gaps can make it miss).
    """
    v2v, gaps, v2v0 = step.v2v_ms, step.gaps_ms, base.v2v_ms
    if step.completed < step.n or not v2v or not gaps or not v2v0:
        return False, f"{step.completed}/{step.n} calls completed"
    if percentile(gaps, 0.99) > UNDERRUN_MS:
        return False, f"frame gap p99 {percentile(gaps, 0.99):.0f} ms > {UNDERRUN_MS:.0f} ms"
    p50, p90 = percentile(v2v, 0.5), percentile(v2v, 0.9)
    limit50, limit90 = 1.15 * percentile(v2v0, 0.5), 1.25 * percentile(v2v0, 0.9)
    if p50 > limit50 or p90 > limit90:
        return False, (
            f"V2V p50/p90 {p50:.0f}/{p90:.0f} ms past {limit50:.0f}/{limit90:.0f} "
            f"(N={base.n}'s +15 %/+25 %)"
        )
    return True, "meets"


def local_ok(step: Step) -> tuple[bool, str]:
    """The local target at this N: every call done, p50 V2V ≤ 1 s."""
    v2v = step.v2v_ms
    if step.completed < step.n or not v2v:
        return False, f"{step.completed}/{step.n} calls completed"
    p50 = percentile(v2v, 0.5)
    if p50 > LOCAL_V2V_TARGET_MS:
        return False, f"V2V p50 {p50:.0f} ms > {LOCAL_V2V_TARGET_MS:.0f} ms"
    return True, "meets"


# -- the ramps -----------------------------------------------------------------------------------


def caller_answers(scenario: Scenario, count: int) -> list[tuple[str, bytes]]:
    """The first sentence of each of the scenario's facts, in order, in the caller's voice.

    Spoken without the pause a comma brings: after "Yes," the VAD may cut the answer in two and
    the agent answer the first half, which adds a second to that turn's voice-to-voice whatever
    the load, and would drown the effect of the load in the small steps' p90.
    """
    voice = CallerVoice()
    texts = [split_sentences(text)[0] for text in scenario.caller.facts.values() if text]
    return [(text, voice.synthesize(text.replace(",", ""))) for text in texts[:count]]


def steps_arg(text: str) -> tuple[int, ...]:
    """`1,10,25` → (1, 10, 25)."""
    values = tuple(int(part) for part in text.split(",") if part.strip())
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("give positive call counts separated by commas")
    return values


async def ramp(
    kind: str,
    steps: Sequence[int],
    *,
    answers: Sequence[tuple[str, bytes]],
    scenario: Scenario,
    args: argparse.Namespace,
    workdir: Path,
) -> list[tuple[Step, bool, str]]:
    """Run the steps in order, printing each; stop after two misses in a row.

    One step past the first miss shows the trend; further steps would only overload the
    machine for longer (each is bounded by the callers' time limit).
    """
    done: list[tuple[Step, bool, str]] = []
    for n in steps:
        step = await run_step(
            kind=kind, n=n, answers=answers, scenario=scenario, args=args, workdir=workdir
        )
        base = done[0][0] if done else step
        ok, why = local_ok(step) if kind == "local" else cloud_ok(step, base)
        done.append((step, ok, why))
        print(row(step), flush=True)
        print(detail(step) + f"; {why}", flush=True)
        misses = [ok for _, ok, _ in done[-2:]]
        if len(misses) == 2 and not any(misses) and not args.keep_going:
            break
    return done


def answer(kind: str, done: Sequence[tuple[Step, bool, str]], target: str) -> str:
    """The largest N that met the target, and the first that did not."""
    met = [step.n for step, ok, _ in done if ok]
    missed = [step.n for step, ok, _ in done if not ok]
    verdict = f"N = {max(met)}" if met else "none of the steps"
    first_miss = f", first miss at N = {missed[0]}" if missed else ""
    tried = ", ".join(str(step.n) for step, _, _ in done)
    return f"{kind}: largest N meeting {target}: {verdict}{first_miss} (tried {tried})"


async def run(args: argparse.Namespace) -> None:
    """Both ramps, then the two answers."""
    configure_logging(level=args.log_level)
    scenario = load_scenarios([args.scenario])[0]
    answers = await asyncio.to_thread(caller_answers, scenario, args.answers)
    print(
        f"{os.cpu_count()} CPUs; {args.answers} caller answers per call "
        f"({', '.join(repr(text) for text, _ in answers)}); dialer {args.cps:g} calls/s; "
        f"far end {'in this process' if args.same_process else 'in its own process'}"
    )
    print(
        f"cloud-like: STT {STT_S * 1000:.0f} ms, LLM first sentence {LLM_FIRST_S * 1000:.0f} ms, "
        f"TTS first audio {TTS_FIRST_S * 1000:.0f} ms; times in ms, CPU in % of one core"
    )
    print(HEADER, flush=True)
    summaries = []
    with tempfile.TemporaryDirectory(prefix="dv-concurrency-") as tmp:
        workdir = Path(tmp)
        if args.run in ("cloud", "both"):
            steps = [n for n in args.cloud_steps if n <= args.max_calls]
            done = await ramp(
                "cloud-like",
                steps,
                answers=answers,
                scenario=scenario,
                args=args,
                workdir=workdir,
            )
            summaries.append(
                answer(
                    "cloud-like",
                    done,
                    f"gap p99 <= {UNDERRUN_MS:.0f} ms and stable V2V (target >= 100)",
                )
            )
        if args.run in ("local", "both"):
            steps = [n for n in args.local_steps if n <= args.max_calls]
            done = await ramp(
                "local", steps, answers=answers, scenario=scenario, args=args, workdir=workdir
            )
            summaries.append(
                answer(
                    "local",
                    done,
                    f"V2V p50 <= {LOCAL_V2V_TARGET_MS:.0f} ms (target >= 4 on 2 cores)",
                )
            )
    for line in summaries:
        print(line)


async def overhead(args: argparse.Namespace) -> None:
    """Calls with instant providers: what the pipeline itself adds to each turn."""
    configure_logging(level=args.log_level)
    scenario = load_scenarios([args.scenario])[0]
    answers = await asyncio.to_thread(caller_answers, scenario, args.answers or 99)
    print(
        f"{os.cpu_count()} CPUs; {args.rounds} round(s) of {args.overhead_calls} simultaneous"
        f" call(s), {len(answers)} caller answers each; instant providers (the transcript at the"
        f" segment's end, the scripted agent at once, a tone at once); far end"
        f" {'in this process' if args.same_process else 'in its own process'}"
    )
    print(HEADER, flush=True)
    agent: list[float] = []
    turns: list[tuple[float, int, int]] = []  # (ms, round, turn) for each answered turn
    with tempfile.TemporaryDirectory(prefix="dv-overhead-") as tmp:
        for round_ in range(args.rounds):
            step = await run_step(
                kind="instant",
                n=args.overhead_calls,
                answers=answers,
                scenario=scenario,
                args=args,
                workdir=Path(tmp) / str(round_),
            )
            print(row(step))
            print(detail(step), flush=True)
            for result in step.results:
                for index, turn in enumerate(result.turns):
                    added = orchestration_ms(turn)
                    if added is not None:
                        turns.append((added[0], round_, index))
                        if added[1] is not None:
                            agent.append(added[1])
    whole = [ms for ms, _, _ in turns]
    if not whole:
        print("orchestration: no turn was answered")
        return
    print(
        f"orchestration (turn decided -> first audio sent): {len(whole)} turns,"
        f" p50={percentile(whole, 0.5):.1f} ms p99={percentile(whole, 0.99):.1f} ms"
        f" max={max(whole):.1f} ms; the agent's part (-> first sentence pushed)"
        f" p50={percentile(agent, 0.5):.1f} ms p99={percentile(agent, 0.99):.1f} ms"
    )
    slowest = ", ".join(f"round {r} turn {t}: {ms:.1f}" for ms, r, t in sorted(turns)[-5:])
    print(f"  slowest turns (ms): {slowest}")


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join((__doc__ or "").split("\n\n")[1:]),
    )
    parser.add_argument(
        "--run",
        choices=["cloud", "local", "both", "overhead"],
        default="both",
        help="which ramps (both), or the orchestration overhead with instant providers",
    )
    parser.add_argument(
        "--overhead-calls", type=int, default=3, help="simultaneous calls of --run overhead (3)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="rounds of --run overhead, one after another (1)"
    )
    parser.add_argument(
        "--max-calls", type=int, default=150, help="largest N tried in either ramp (150)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"cloud-like N {QUICK_CLOUD_STEPS}, local N {QUICK_LOCAL_STEPS}, 3 answers a call",
    )
    parser.add_argument("--cloud-steps", type=steps_arg, help=f"default {CLOUD_STEPS}")
    parser.add_argument("--local-steps", type=steps_arg, help=f"default {LOCAL_STEPS}")
    parser.add_argument("--answers", type=int, help="caller answers per call (5; quick 3)")
    parser.add_argument(
        "--cps", type=float, default=20.0, help="dialer calls per second, at most 100 (20)"
    )
    parser.add_argument(
        "--same-process", action="store_true", help="run the emulator and callers in this process"
    )
    parser.add_argument(
        "--keep-going", action="store_true", help="run every step, even after two misses in a row"
    )
    parser.add_argument(
        "--log-level",
        choices=["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"],
        default="ERROR",
        help="the app's log level (ERROR)",
    )
    parser.add_argument(
        "--scenario",
        default=str(ROOT / "scenarios" / "standard-molar-pain.yaml"),
        help="whose facts the callers answer with (standard-molar-pain)",
    )
    args = parser.parse_args()
    if args.cloud_steps is None:
        args.cloud_steps = QUICK_CLOUD_STEPS if args.quick else CLOUD_STEPS
    if args.local_steps is None:
        args.local_steps = QUICK_LOCAL_STEPS if args.quick else LOCAL_STEPS
    if args.answers is None and args.run != "overhead":  # overhead: every fact
        args.answers = 3 if args.quick else 5
    if args.answers is not None and args.answers < 1:
        parser.error("--answers must be >= 1")
    if (
        not 0 < args.cps <= 100
        or not 1 <= args.max_calls <= 1000
        or min(args.overhead_calls, args.rounds) < 1
    ):
        parser.error("--cps in (0, 100], --max-calls in 1..1000, --overhead-calls, --rounds >= 1")
    asyncio.run(overhead(args) if args.run == "overhead" else run(args))


if __name__ == "__main__":
    main()
