"""The app's start-up warm-up."""

from __future__ import annotations

from loguru import logger

from dentalvoice.app import _warm_up


async def test_a_failed_step_is_logged_and_the_next_still_runs() -> None:
    done: list[str] = []
    lines: list[str] = []

    async def fails() -> None:
        raise RuntimeError("rules file unreadable")

    async def works() -> None:
        done.append("speech models")

    sink = logger.add(lambda message: lines.append(str(message)), format="{level} {message}")
    try:
        await _warm_up(("compliance rules", fails), ("speech models", works))
    finally:
        logger.remove(sink)

    assert done == ["speech models"]
    (warning,) = [line for line in lines if line.startswith("WARNING")]
    assert warning.startswith("WARNING warm-up of the compliance rules failed: RuntimeError")
