"""What the voice handler sets up in its process before the first call."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from dentalvoice.config import load_settings
from dentalvoice.conversation import nlu
from dentalvoice.voice.handler import VoiceCallHandler
from dentalvoice.voice.providers import SpeechProviders


def blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


@pytest.fixture
async def built() -> AsyncIterator[list[str]]:
    """Warm a handler up (its providers record what they built); undo what that did to the
    process afterwards."""
    built: list[str] = []
    providers = SpeechProviders(
        stt=lambda: built.append("stt"), tts=lambda: built.append("tts"), name="recorded"
    )
    # No database: warming up touches none.
    handler = VoiceCallHandler(settings=load_settings(_env_file=None), db=None, providers=providers)
    original = threadpool_info()
    assert blas_threads(), "numpy here links a BLAS"
    threadpool_limits(limits=2, user_api="blas")  # as on a machine with cores to spare
    nlu.warm_up.cache_clear()
    try:
        await handler.warm_up()
        yield built
    finally:
        gc.unfreeze()
        threadpool_limits(limits={pool["prefix"]: pool["num_threads"] for pool in original})


async def test_warm_up_builds_the_speech_services(built: list[str]) -> None:
    assert built == ["stt", "tts"]


async def test_warm_up_leaves_the_process_one_blas_thread(built: list[str]) -> None:
    # Calls are the parallelism: a second BLAS thread only spins beside each model run.
    assert set(blas_threads()) == {1}


async def test_warm_up_loads_the_agents_date_parser(built: list[str]) -> None:
    # Otherwise the first call's agent loads it (~150 ms) on the event loop.
    assert nlu.warm_up.cache_info().currsize == 1


async def test_warm_up_moves_what_it_loaded_out_of_the_cyclic_collector(built: list[str]) -> None:
    assert gc.get_freeze_count() > 0


async def test_a_later_warm_up_keeps_no_garbage_of_the_calls_before_it(built: list[str]) -> None:
    # The demo and the evaluations warm a handler up per call, in one process.
    class Cycle:
        loop: object = None

    collected: list[bool] = []
    garbage = Cycle()
    garbage.loop = garbage
    weakref.finalize(garbage, collected.append, True)
    del garbage
    providers = SpeechProviders(stt=lambda: None, tts=lambda: None, name="recorded")
    handler = VoiceCallHandler(settings=load_settings(_env_file=None), db=None, providers=providers)
    await handler.warm_up()
    gc.collect()
    assert collected == [True]
