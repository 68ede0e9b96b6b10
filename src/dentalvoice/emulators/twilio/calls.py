"""Drive one call the way Twilio does, from the CPS queue to the last status callback.

queued (CPS) → initiated → ringing → the callee picks up (or busy / no-answer / failed) →
in-progress: the callee's line opens, answering-machine detection runs (in the background
with `AsyncAmd=true`), the TwiML program runs → completed when the program ends, the callee
hangs up, the app ends the call through the REST API, or `TimeLimit` passes.

Status callbacks go out in order from a per-call queue so a slow app never holds the call up;
the driver finishes ("finished" in the record) once the last one has been delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Any, Final

from loguru import logger

from dentalvoice.emulators.twilio.callees import Callee
from dentalvoice.emulators.twilio.context import Services, rfc2822, voice_params
from dentalvoice.emulators.twilio.line import CallerLine, MachinePhase
from dentalvoice.emulators.twilio.program import Program, Source
from dentalvoice.emulators.twilio.records import AmdRecord, CallRecord, ErrorRecord, StatusChange
from dentalvoice.emulators.twilio.settings import DEFAULT_TIME_LIMIT_S
from dentalvoice.leads.normalize import mask_phone

# Status → the StatusCallbackEvent that reports it.
_EVENT_OF: Final = {
    "initiated": "initiated",
    "ringing": "ringing",
    "in-progress": "answered",
    "completed": "completed",
    "busy": "completed",
    "no-answer": "completed",
    "failed": "completed",
    "canceled": "completed",
}
_MACHINE_VERDICT: Final[dict[MachinePhase, str]] = {
    "greeting": "machine_start",
    "beep": "machine_end_beep",
    "silence": "machine_end_silence",
}
_DEFAULT_RING_TIMEOUT_S: Final = 60
_MAX_RING_TIMEOUT_S: Final = 600


class CallDriver:
    """Runs one call; the REST layer steers it with `cancel`, `hang_up` and `redirect`."""

    def __init__(
        self, *, record: CallRecord, callee: Callee, services: Services, source: Source | None
    ) -> None:
        """Prepare the driver; `run` does the work.

        Args:
            record: The call's record, already in `emulator.calls`.
            callee: Who answers.
            services: The emulator's shared services.
            source: The TwiML to run once answered (`Url` or `Twiml` of the create).
        """
        self.record = record
        self._callee = callee
        self._s = services
        self._source = source
        self._stop = asyncio.Event()
        self._stop_reason: str | None = None
        self._line: CallerLine | None = None
        self._program: asyncio.Task[None] | None = None
        self._swap = asyncio.Lock()
        self._machine = {phase: asyncio.Event() for phase in _MACHINE_VERDICT}
        self._callbacks: asyncio.Queue[dict[str, str] | None] = asyncio.Queue()
        self._sequence = 0
        self._aux: set[asyncio.Task[Any]] = set()
        self._deliveries: set[asyncio.Task[None]] = set()

    # -- steering from the REST layer -----------------------------------------------------

    def cancel(self) -> bool:
        """`Status=canceled`: cancel a queued or ringing call; True if it applied."""
        if self.record.status not in ("queued", "ringing"):
            return False
        self.record.status = "canceled"
        self._request_stop("canceled")
        return True

    def hang_up(self) -> bool:
        """`Status=completed`: end the call (cancel it if queued or ringing); True if applied."""
        if self.record.status in ("queued", "ringing"):
            return self.cancel()
        if self.record.status != "in-progress":
            return False
        self.record.status = "completed"
        self._request_stop("api")
        return True

    def redirect(self, source: Source) -> bool:
        """`Twiml` or `Url`: replace what runs now; True if applied (the call has not ended)."""
        if self.record.ended or self._stop.is_set():
            return False
        if self._program is not None:
            self._spawn(self._replace_program(source), "redirect")
        else:
            self._source = source
        return True

    # -- the call -------------------------------------------------------------------------

    async def run(self) -> None:
        """Take the call from queued to finished."""
        worker = asyncio.create_task(self._deliver_callbacks(), name=f"callbacks-{self.record.sid}")
        try:
            await self._lifecycle()
        except asyncio.CancelledError:
            worker.cancel()
            for delivery in self._deliveries:
                delivery.cancel()
            await self._cancel_aux()
            await asyncio.wait({worker, *self._deliveries})
            raise
        else:
            await self._cancel_aux()
            self._callbacks.put_nowait(None)
            await asyncio.wait({worker, *self._deliveries})
        finally:
            self.record.finished = True
            await self._s.recorder.emit("call.finished", self.record.sid, status=self.record.status)

    async def _lifecycle(self) -> None:
        record = self.record
        if await self._stopped_within(record.start_at - time.monotonic()):
            await self._terminal("canceled")
            return
        await self._progress("initiated")
        pick = self._callee.pick_up(float(self._ring_timeout()))
        if self._stop.is_set():
            await self._terminal("canceled")
            return
        if pick.outcome in ("answered", "no-answer"):
            await self._progress("ringing")
        if await self._stopped_within(pick.after_s):
            await self._terminal("canceled")
            return
        if pick.outcome != "answered":
            await self._terminal(pick.outcome)
            return
        await self._in_progress()

    async def _in_progress(self) -> None:
        record = self.record
        record.answered_at = time.monotonic()
        record.start_time = datetime.now(UTC)
        await self._progress("in-progress")
        line = CallerLine(
            record=record,
            on_hang_up=lambda: self._request_stop("callee"),
            on_machine=self._on_machine,
        )
        self._line = line
        self._spawn(line.run_uplink(), "uplink")
        callee = self._spawn(self._converse(line), "callee")
        extra: dict[str, str] = {}
        mode = record.param("MachineDetection")
        if mode:
            if (record.param("AsyncAmd") or "").lower() == "true":
                self._spawn(self._async_amd(mode), "amd")
            else:
                # Synchronous AMD holds the TwiML until the verdict, then sends it along.
                verdict = await self._detect(mode)
                if verdict is not None:
                    extra["AnsweredBy"] = verdict
        if not self._stop.is_set():
            self._start_program(self._source, extra)
        limit = _int(record.param("TimeLimit"), DEFAULT_TIME_LIMIT_S)
        if not await self._stopped_within(limit - (time.monotonic() - record.answered_at)):
            self._request_stop("time-limit")
        await self._end_answered(line, callee)

    async def _end_answered(self, line: CallerLine, callee: asyncio.Task[None]) -> None:
        async with self._swap:
            program = self._program
            if program is not None and not program.done():
                program.cancel()
                await asyncio.wait({program})
        line.end()
        await asyncio.wait({callee}, timeout=self._s.settings.callee_grace_s)
        self.record.end_reason = self._stop_reason
        await self._set_status("completed")
        logger.info(
            "twilio emulator: call {} to {} completed ({}, {}s)",
            self.record.sid,
            mask_phone(self.record.to),
            self.record.end_reason,
            self.record.duration_s,
        )

    async def _terminal(self, status: str) -> None:
        self.record.end_reason = self._stop_reason or status
        await self._set_status(status)
        logger.info(
            "twilio emulator: call {} to {} ended {}",
            self.record.sid,
            mask_phone(self.record.to),
            status,
        )

    # -- program --------------------------------------------------------------------------

    def _start_program(self, source: Source | None, extra: dict[str, str]) -> None:
        line = self._line
        assert line is not None
        self._program = self._spawn(self._run_program(line, source, extra), "program")

    async def _run_program(
        self, line: CallerLine, source: Source | None, extra: dict[str, str]
    ) -> None:
        if source is None:
            # ApplicationSid calls: the emulator has no applications to run.
            await self._error(21218, "no TwiML: ApplicationSid is not supported by the emulator")
            self._request_stop("error")
            return
        program = Program(
            call=self.record,
            line=line,
            services=self._s,
            request_params=lambda: {**voice_params(self.record, "in-progress"), **extra},
        )
        reason = await program.run(source)
        self._request_stop(reason)

    async def _replace_program(self, source: Source) -> None:
        async with self._swap:
            if self._stop.is_set():
                return
            old = self._program
            if old is not None and not old.done():
                old.cancel()
                await asyncio.wait({old})
            if not self._stop.is_set():
                await self._s.recorder.emit("call.redirected", self.record.sid)
                self._start_program(source, {})

    # -- callee and AMD -------------------------------------------------------------------

    async def _converse(self, line: CallerLine) -> None:
        try:
            await self._callee.converse(line)
        except Exception as exc:
            # A broken callee is a bug in the test's callee, not Twilio behaviour: keep the
            # call going and make the failure visible.
            self._s.internal_errors.append(f"callee of {self.record.sid}: {exc!r}")
            logger.opt(exception=exc).error("twilio emulator: callee raised")

    def _on_machine(self, phase: MachinePhase) -> None:
        self._machine[phase].set()

    async def _async_amd(self, mode: str) -> None:
        verdict = await self._detect(mode)
        if verdict is None:
            return
        url = self.record.param("AsyncAmdStatusCallback")
        if not url:
            return
        assert self.record.amd is not None
        params = {
            "AccountSid": self.record.account_sid,
            "AnsweredBy": verdict,
            "CallSid": self.record.sid,
            "MachineDetectionDuration": str(self.record.amd.duration_ms),
        }
        method = self.record.param("AsyncAmdStatusCallbackMethod") or "POST"
        # Sent outside the call's own tasks: a verdict reached is delivered even if the call
        # ends meanwhile, and the driver waits for it before it reports itself finished.
        delivery = self._s.spawn(
            self._send("amd", url, params, method), name=f"amd-callback-{self.record.sid}"
        )
        self._deliveries.add(delivery)

    async def _send(self, kind: str, url: str, params: dict[str, str], method: str) -> None:
        exchange = await self._s.webhooks.send(kind=kind, url=url, params=params, method=method)
        await self._s.log_exchange(self.record, exchange)

    async def _detect(self, mode: str) -> str | None:
        """The AMD verdict, or None if the call ended before detection finished."""
        answered = self.record.answered_at or time.monotonic()
        if not self._callee.machine:
            if await self._stopped_within(self._s.settings.amd_human_s):
                return None
            verdict = "human"
        else:
            wanted: tuple[MachinePhase, ...] = (
                ("greeting",) if mode == "Enable" else ("beep", "silence")
            )
            timeout = _int(self.record.param("MachineDetectionTimeout"), 30)
            phase = await self._wait_machine(wanted, timeout)
            if self._stop.is_set():
                return None
            verdict = _MACHINE_VERDICT[phase] if phase is not None else "unknown"
        now = time.monotonic()
        self.record.amd = AmdRecord(verdict, int((now - answered) * 1000), now)
        await self._s.recorder.emit("call.amd", self.record.sid, answered_by=verdict)
        return verdict

    async def _wait_machine(
        self, phases: tuple[MachinePhase, ...], limit_s: float
    ) -> MachinePhase | None:
        waiters = {asyncio.create_task(self._machine[p].wait()): p for p in phases}
        stop = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait(
                [*waiters, stop], timeout=limit_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in [*waiters, stop]:
                task.cancel()
            await asyncio.wait([*waiters, stop])
        for task, phase in waiters.items():
            if task in done:
                return phase
        return None

    # -- statuses and callbacks -----------------------------------------------------------

    async def _progress(self, status: str) -> None:
        if status != "initiated":
            self.record.status = status
        await self._set_status(status)

    async def _set_status(self, status: str) -> None:
        record = self.record
        now = time.monotonic()
        if status != "initiated":
            record.status = status
        record.date_updated = datetime.now(UTC)
        extra: dict[str, str] = {}
        if status in _EVENT_OF and _EVENT_OF[status] == "completed":
            record.ended_at = now
            record.end_time = record.date_updated if record.answered_at is not None else None
            seconds = record.duration_s
            extra = {"CallDuration": str(seconds), "Duration": str(-(-seconds // 60))}
            if record.amd is not None:
                extra["AnsweredBy"] = record.amd.answered_by
        record.history.append(StatusChange(status, now))
        await self._s.recorder.emit("call.status", record.sid, status=status)
        self._queue_callback(status, extra)

    def _queue_callback(self, status: str, extra: dict[str, str]) -> None:
        record = self.record
        if not record.param("StatusCallback") or _EVENT_OF[status] not in self._wanted_events():
            return
        params = {
            **voice_params(record, status),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self._sequence),
            "Timestamp": rfc2822(),
            **extra,
        }
        self._sequence += 1
        self._callbacks.put_nowait(params)

    def _wanted_events(self) -> set[str]:
        events = set()
        for value in self.record.params.get("StatusCallbackEvent", []):
            events.update(value.replace(",", " ").split())
        # twilio.md §3.1: with no event listed, only `completed` is sent.
        return events or {"completed"}

    async def _deliver_callbacks(self) -> None:
        url = self.record.param("StatusCallback")
        method = self.record.param("StatusCallbackMethod") or "POST"
        while (params := await self._callbacks.get()) is not None:
            if url is None:
                continue
            exchange = await self._s.webhooks.send(
                kind="status", url=url, params=params, method=method
            )
            await self._s.log_exchange(self.record, exchange)

    # -- helpers --------------------------------------------------------------------------

    def _request_stop(self, reason: str) -> None:
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait up to `seconds`; True as soon as the call is told to stop."""
        if seconds > 0 and not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._stop.wait()
        return self._stop.is_set()

    def _ring_timeout(self) -> int:
        timeout = _int(self.record.param("Timeout"), _DEFAULT_RING_TIMEOUT_S)
        return min(max(timeout, 1), _MAX_RING_TIMEOUT_S)

    def _spawn(self, coro: Any, what: str) -> asyncio.Task[Any]:
        task = self._s.spawn(coro, name=f"{what}-{self.record.sid}")
        self._aux.add(task)
        task.add_done_callback(self._aux.discard)
        return task

    async def _cancel_aux(self) -> None:
        if self._line is not None:
            self._line.end()
        while self._aux:
            tasks = list(self._aux)
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)

    async def _error(self, code: int, message: str) -> None:
        self.record.errors.append(ErrorRecord(code, message, time.monotonic()))
        await self._s.recorder.emit("call.error", self.record.sid, code=code, message=message)


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        return default
