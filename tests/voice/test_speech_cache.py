"""The sentence cache: bounded, whole sentences only, and the script's fixed lines."""

from __future__ import annotations

from pipecat.frames.frames import TTSAudioRawFrame, TTSSpeakFrame
from pipecat.tests.utils import run_test

from dentalvoice.conversation.script import load_script
from dentalvoice.voice.services import LocalPiperTTS
from dentalvoice.voice.speech_cache import SpeechCache, fixed_sentences


def test_the_least_recently_used_sentence_goes_first() -> None:
    cache = SpeechCache(entries=2)
    cache.put("One.", b"1")
    cache.put("Two.", b"2")
    assert cache.get("One.") == b"1"
    cache.put("Three.", b"3")
    assert "Two." not in cache and cache.get("One.") == b"1" and cache.get("Three.") == b"3"
    assert len(cache) == 2


def test_whitespace_does_not_make_a_new_sentence() -> None:
    cache = SpeechCache()
    cache.put("Do you have  insurance?", b"x")
    assert cache.get(" Do you have insurance? ") == b"x"


def test_fixed_sentences_leave_out_the_personal_ones() -> None:
    fixed = fixed_sentences(load_script())
    assert "Do you have dental insurance?" in fixed
    assert all("{" not in sentence for sentence in fixed)
    assert len(fixed) == len(set(fixed))


async def test_a_cached_sentence_sounds_the_same_as_a_synthesised_one() -> None:
    cache = SpeechCache()
    text = "When did you last see a dentist?"

    async def spoken() -> bytes:
        down, _ = await run_test(LocalPiperTTS(cache=cache), frames_to_send=[TTSSpeakFrame(text)])
        return b"".join(f.audio for f in down if isinstance(f, TTSAudioRawFrame))

    first = await spoken()
    assert (cache.hits, cache.misses) == (0, 1) and text in cache
    second = await spoken()
    assert cache.hits == 1
    assert len(first) > 8000 and second == first
