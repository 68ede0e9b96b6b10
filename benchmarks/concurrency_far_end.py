"""The far end of `concurrency.py`: the Twilio emulator and one light caller per number.

Run by `concurrency.py` as its own process (`python concurrency_far_end.py CONFIG RESULT`), so
the app under test has its process to itself, as it would against real Twilio; or imported and
awaited in the app's process with `--same-process`. The configuration and the report are
pickles of the dataclasses below; the emulator's URL is printed on the first line of stdout.

`BenchCaller` is cheap enough for a hundred calls on two cores: no speech recognition and no
synthesis during the call. It waits for the agent's turn to end (no voiced frame for `gap_s`),
pauses for a random human reaction time, plays its next pre-synthesised answer, and repeats;
after its last answer it hears the agent's reply and hangs up. It measures, from the frames the
emulator played to it:

- voice-to-voice: end of its answer (the last 20 ms slot sent) to the first voiced frame of the
  agent's reply;
- frame gaps: the time between consecutive frames while the agent is speaking (from the first
  to the last voiced frame of a reply). The emulator plays what the app sent in real time and
  only inserts nothing when its buffer ran dry, so 20 ms is nominal and a longer gap is an
  underrun the callee heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import random
import resource
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dentalvoice.emulators.twilio import (
    Callee,
    CallerLine,
    HeardFrame,
    WaitTimeout,
    create_emulator,
    serve_twilio_emulator,
)
from dentalvoice.emulators.twilio.audio import FRAME_S, SAMPLE_RATE
from dentalvoice.logging import configure_logging

# Mean square of each μ-law code's linear value: a frame's power is a table look-up and a mean.
_CODES = ~np.arange(256, dtype=np.int32) & 0xFF
_MAGNITUDE = ((((_CODES & 0x0F) << 3) + 0x84) << ((_CODES >> 4) & 0x07)) - 0x84
_POWER = (_MAGNITUDE.astype(np.float64)) ** 2


def cpu_seconds() -> float:
    """CPU time of this process so far, every thread, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(slots=True)
class Probe:
    """This process's event-loop lag and CPU time, sampled with the moments they were taken.

    Lag is how late a 20 ms sleep wakes up: a loop busy with other work wakes it late. Every
    25th sample also reads the process's CPU time, so the CPU use of any stretch of the run can
    be computed afterwards.
    """

    interval_s: float = 0.02
    lags: list[tuple[float, float]] = field(default_factory=list)  # (monotonic, ms late)
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (monotonic, CPU seconds)

    async def run(self) -> None:
        """Sample until cancelled."""
        self.cpu.append((time.monotonic(), cpu_seconds()))
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.interval_s)  # the probe itself, not a wait for work
            after = time.monotonic()
            self.lags.append((after, (after - before - self.interval_s) * 1000))
            if len(self.lags) % 25 == 0:
                self.cpu.append((after, cpu_seconds()))

    def lag_ms(self, start: float, end: float) -> list[float]:
        """The lags sampled between `start` and `end`."""
        return [ms for at, ms in self.lags if start <= at <= end]

    def cpu_percent(self, start: float, end: float) -> float | None:
        """CPU time over wall time between the samples nearest inside `start`..`end`, in %."""
        inside = [(at, cpu) for at, cpu in self.cpu if start <= at <= end]
        if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
            return None
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        return 100 * (c1 - c0) / (t1 - t0)


@dataclass(frozen=True, slots=True)
class CallerPlan:
    """What every caller says and how it takes turns.

    Attributes:
        answers: 8 kHz μ-law answers, played in order, one per agent turn.
        ring_s: Range of the time the phone rings before the caller picks up (uniform, seeded):
            it spreads the calls' phases, as real calls are never in step.
        gap_s: Silence after the agent's last voiced frame that ends its turn.
        reaction_s: Range of the caller's pause before it answers (uniform, seeded).
        answer_timeout_s: How long the caller waits for the agent to start a reply.
        max_call_s: The caller hangs up after this long whatever happens.
        threshold_dbfs: A frame louder than this (RMS) is voiced.
    """

    answers: tuple[bytes, ...]
    ring_s: tuple[float, float] = (1.0, 8.0)
    gap_s: float = 0.9
    reaction_s: tuple[float, float] = (0.3, 1.2)
    answer_timeout_s: float = 20.0
    max_call_s: float = 240.0
    threshold_dbfs: float = -40.0


@dataclass(frozen=True, slots=True)
class FarEndConfig:
    """Everything the far end needs to take the app's calls."""

    account_sid: str
    auth_token: str
    public_url: str  # the app's public base URL in its TwiML
    app_url: str  # where that is served on this machine
    phones: tuple[str, ...]  # E.164; one caller each
    plan: CallerPlan
    cps: float = 100.0
    deadline_s: float = 600.0  # give up on calls that have not ended by then
    seed: int = 7
    probe: bool = True  # sample this process's loop lag and CPU (not when sharing the app's)


@dataclass(slots=True)
class CallMeasure:
    """One call as its caller lived it (times are `time.monotonic()`, shared by processes)."""

    phone: str
    answered_at: float
    ended_at: float = 0.0
    answers_said: int = 0
    v2v_ms: list[float] = field(default_factory=list)
    unanswered: int = 0  # answers the agent never replied to
    replies: int = 0  # agent turns heard, the opening included
    gaps_ms: list[float] = field(default_factory=list)
    completed: bool = False  # every answer said and replied to
    hung_up_by: str = "app"


@dataclass(slots=True)
class FarEndReport:
    """What the far end saw: every call, the emulator's errors, its own loop lag and CPU."""

    calls: list[CallMeasure]
    created: int
    errors: list[str]
    probe: Probe | None


class BenchCaller(Callee):
    """A callee that answers from a plan and measures the agent's audio."""

    def __init__(self, phone: str, plan: CallerPlan, rng: random.Random) -> None:
        self.ring_s = rng.uniform(*plan.ring_s)
        self.phone = phone
        self.plan = plan
        self._rng = rng
        power = 32768.0**2 * 10 ** (plan.threshold_dbfs / 10)
        self._voiced_power = power
        self._frames: list[tuple[float, float, bool]] = []  # (at, seconds, voiced)
        self._last_voiced_end: float | None = None
        self._heard = asyncio.Event()
        self._speech_ends: list[float] = []
        self.measure: CallMeasure | None = None
        self.done = asyncio.Event()

    async def converse(self, line: CallerLine) -> None:
        """Take turns with the agent until the plan is done or the call ends."""
        measure = self.measure = CallMeasure(phone=self.phone, answered_at=time.monotonic())
        heard = line.heard()
        ears = asyncio.create_task(self._listen(heard))
        try:
            async with asyncio.timeout(self.plan.max_call_s):
                since = measure.answered_at
                for answer in self.plan.answers:
                    if not await self._agent_turn_over(line, since):
                        break
                    await asyncio.sleep(self._rng.uniform(*self.plan.reaction_s))
                    ended = await self._say(line, answer)
                    if ended is None:
                        break
                    measure.answers_said += 1
                    since = ended
                else:
                    measure.completed = await self._agent_turn_over(line, since)
                if not line.ended:
                    measure.hung_up_by = "caller"
                    await line.hang_up()
        except TimeoutError:
            measure.hung_up_by = "caller (time limit)"
            await line.hang_up()
        finally:
            measure.ended_at = time.monotonic()
            ears.cancel()
            await asyncio.gather(ears, return_exceptions=True)
            self._analyse(measure)
            self.done.set()

    async def _listen(self, heard: AsyncIterator[HeardFrame]) -> None:
        async for frame in heard:
            codes = np.frombuffer(frame.audio, dtype=np.uint8)
            voiced = bool(codes.size) and float(_POWER[codes].mean()) > self._voiced_power
            seconds = len(frame.audio) / SAMPLE_RATE
            self._frames.append((frame.at, seconds, voiced))
            if voiced:
                self._last_voiced_end = frame.at + seconds
                self._heard.set()

    async def _agent_turn_over(self, line: CallerLine, since: float) -> bool:
        """Wait until the agent spoke after `since` and then stayed quiet for `gap_s`."""
        deadline = time.monotonic() + self.plan.answer_timeout_s
        while not line.ended:
            last = self._last_voiced_end
            if last is not None and last > since:
                remaining = last + self.plan.gap_s - time.monotonic()
                if remaining <= 0:
                    return True
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False  # the agent never answered
            self._heard.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._heard.wait()
        return False

    async def _say(self, line: CallerLine, audio: bytes) -> float | None:
        """Play `audio`; the end of its last 20 ms slot, or None when the call ended."""
        await line.say(audio)  # returns once the last frame has been sent
        if line.ended:
            return None
        ended = time.monotonic() + FRAME_S
        self._speech_ends.append(ended)
        return ended

    def _analyse(self, measure: CallMeasure) -> None:
        frames = self._frames
        voiced_at = [at for at, _, voiced in frames if voiced]
        for end in self._speech_ends:
            first = next((at for at in voiced_at if at >= end), None)
            if first is None:
                measure.unanswered += 1
            else:
                measure.v2v_ms.append((first - end) * 1000)
        # Gaps between consecutive frames from a reply's first voiced frame to its last one.
        gap_s = self.plan.gap_s
        last_voiced_end: float | None = None
        previous_at = 0.0
        pending: list[float] = []
        for at, seconds, voiced in frames:
            if last_voiced_end is not None and at >= last_voiced_end + gap_s:
                last_voiced_end = None  # the reply ended before this frame
                pending.clear()
            if last_voiced_end is not None:
                pending.append((at - previous_at) * 1000)
            if voiced:
                if last_voiced_end is None:
                    measure.replies += 1
                measure.gaps_ms += pending
                pending.clear()
                last_voiced_end = at + seconds
            previous_at = at


async def run_far_end(config: FarEndConfig, on_url: Callable[[str], None]) -> FarEndReport:
    """Serve the emulator with a caller on every number until every call has ended.

    Args:
        config: The account, the app's address, the numbers and the plan.
        on_url: Called with the emulator's base URL once it listens.

    Returns:
        Every caller's measures, the emulator's errors and this side's CPU time.
    """
    emulator = create_emulator(
        account_sid=config.account_sid,
        auth_token=config.auth_token,
        cps=config.cps,
        route={config.public_url: config.app_url},
    )
    rng = random.Random(config.seed)
    callers = [
        BenchCaller(phone, config.plan, random.Random(rng.random())) for phone in config.phones
    ]
    for caller in callers:
        emulator.set_callee(caller.phone, caller)
    probe = Probe() if config.probe else None
    sampling = asyncio.create_task(probe.run()) if probe is not None else None
    try:
        async with serve_twilio_emulator(emulator) as url:
            on_url(url)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(config.deadline_s):
                    await asyncio.gather(*(caller.done.wait() for caller in callers))
            # The calls' last status callbacks, before the emulator stops and cuts them off.
            with contextlib.suppress(WaitTimeout):
                await emulator.wait_for(
                    lambda: all(call.finished for call in emulator.calls.values()), timeout=15
                )
            errors = list(emulator.internal_errors)
            created = len(emulator.calls)
    finally:
        if sampling is not None:
            sampling.cancel()
            await asyncio.gather(sampling, return_exceptions=True)
    return FarEndReport(
        calls=[caller.measure for caller in callers if caller.measure is not None],
        created=created,
        errors=errors,
        probe=probe,
    )


def main() -> None:
    """`python concurrency_far_end.py CONFIG.pickle REPORT.pickle` (started by concurrency.py)."""
    config_path, report_path = Path(sys.argv[1]), Path(sys.argv[2])
    config: FarEndConfig = pickle.loads(config_path.read_bytes())
    configure_logging(level="WARNING")

    def announce(url: str) -> None:
        print(url, flush=True)  # the parent reads the URL from this line

    report = asyncio.run(run_far_end(config, announce))
    report_path.write_bytes(pickle.dumps(report))


if __name__ == "__main__":
    # Through the module's own name, so the pickled report names `concurrency_far_end`'s
    # classes rather than `__main__`'s, and the parent can load it.
    import concurrency_far_end

    concurrency_far_end.main()
