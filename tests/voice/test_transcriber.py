"""Short-window Whisper: the window, the loop guard, and real transcripts of phone audio."""

from __future__ import annotations

import numpy as np
import pytest

from dentalvoice.callers.audio import ulaw_to_whisper
from dentalvoice.callers.voice import CallerVoice
from dentalvoice.voice import models
from dentalvoice.voice.transcriber import (
    CONTEXT_TOKENS,
    MAX_WINDOW_S,
    MIN_WINDOW_S,
    SAMPLE_RATE,
    ShortWindowTranscriber,
    Transcript,
    transcriber_for,
    vocabulary_prompt,
    without_repeats,
)


@pytest.mark.parametrize(
    ("seconds", "window_s"),
    [(0.5, MIN_WINDOW_S), (2.0, MIN_WINDOW_S), (12.2, 13), (40.0, MAX_WINDOW_S)],
)
def test_the_window_fits_the_utterance_within_bounds(
    transcriber: ShortWindowTranscriber, seconds: float, window_s: int
) -> None:
    assert transcriber.window_frames(int(seconds * SAMPLE_RATE)) == window_s * 100


def test_a_longer_minimum_window_can_be_asked_for() -> None:
    wide = ShortWindowTranscriber(models.whisper(), min_window_s=20)
    assert wide.window_frames(2 * SAMPLE_RATE) == 2000


@pytest.mark.parametrize(
    ("decoded", "kept"),
    [
        (
            "It's been two years. It's been two years. It's been",
            "It's been two years.",
        ),
        ("A b. C d. A b. C", "A b. C d."),
        ("Yes. Yes.", "Yes."),
        ("Is now a good time. Yes, now it's fine.", "Is now a good time. Yes, now it's fine."),
        ("No, I have not. No pain at all.", "No, I have not. No pain at all."),
        ("", ""),
    ],
)
def test_a_decoder_loop_is_cut_where_it_starts_over(decoded: str, kept: str) -> None:
    assert without_repeats(decoded) == kept


@pytest.fixture(scope="module")
def transcriber() -> ShortWindowTranscriber:
    return transcriber_for(models.whisper(), min_window_s=MIN_WINDOW_S)


def test_the_prompt_primes_the_carriers_names() -> None:
    prompt = vocabulary_prompt()
    assert "Delta Dental" in prompt and "MetLife" in prompt


def test_the_agents_last_words_follow_the_carriers_in_the_prompt(
    transcriber: ShortWindowTranscriber,
) -> None:
    start = ShortWindowTranscriber(models.whisper(), prompt="").prompt_tokens()  # no words
    plain = transcriber.prompt_tokens()
    asked = transcriber.prompt_tokens("Do you have dental insurance?")

    words, added = len(plain) - len(start), slice(len(plain) - len(start), -len(start))
    assert asked[:words] == plain[:words] and asked[-len(start) :] == start
    assert models.whisper().hf_tokenizer.decode(asked[added]) == " Do you have dental insurance?"


def test_only_the_end_of_a_long_context_primes_the_decoder(
    transcriber: ShortWindowTranscriber,
) -> None:
    question = "Which days work best?"
    long = "So you are looking for implants, " * 30 + question

    asked = transcriber.prompt_tokens(long)

    start = len(ShortWindowTranscriber(models.whisper(), prompt="").prompt_tokens())
    assert len(asked) - len(transcriber.prompt_tokens()) == CONTEXT_TOKENS
    assert models.whisper().hf_tokenizer.decode(asked[-start - 6 : -start]).endswith(question)


@pytest.mark.parametrize(
    ("said", "words"),
    [
        # Lines tiny.en heard in every one of 12 runs at every window; the synthesised voice
        # varies from run to run, and harder words would make this test a coin toss.
        ("I'm interested in implants.", {"interested"}),
        ("No, I've never been there before.", {"never", "before"}),
        ("It's been about two years since my last cleaning.", {"years", "cleaning"}),
    ],
)
def test_phone_audio_is_transcribed(
    transcriber: ShortWindowTranscriber, said: str, words: set[str]
) -> None:
    # Another voice than the agent's, through the phone's 8 kHz μ-law and back to 16 kHz.
    audio = ulaw_to_whisper(CallerVoice(cache_size=0).synthesize(said))

    heard = transcriber.transcribe(audio)

    got = set(heard.text.lower().replace(",", " ").replace(".", " ").split())
    assert words <= got, heard.text
    assert not heard.silent


def test_silence_is_not_speech(transcriber: ShortWindowTranscriber) -> None:
    heard = transcriber.transcribe(np.zeros(SAMPLE_RATE, dtype=np.float32))
    assert heard.text == "" or heard.silent


def test_a_short_yes_is_speech(transcriber: ShortWindowTranscriber) -> None:
    # Whisper's no-speech probability alone put a short "Yes." near Pipecat's 0.4 cut-off
    # (0.26-0.40 in calls), and the caller's "Yes," vanished from "Yes, I've got time".
    audio = ulaw_to_whisper(CallerVoice(cache_size=0).synthesize("Yes."))

    heard = transcriber.transcribe(audio)

    assert "yes" in heard.text.lower() and not heard.silent, heard


@pytest.mark.parametrize(
    ("no_speech_prob", "avg_logprob", "silent"),
    [(0.9, -1.5, True), (0.9, -0.4, False), (0.4, -1.5, False), (0.2, -0.1, False)],
)
def test_silence_needs_both_whispers_signs(
    no_speech_prob: float, avg_logprob: float, silent: bool
) -> None:
    heard = Transcript(text="Thank you.", no_speech_prob=no_speech_prob, avg_logprob=avg_logprob)
    assert heard.silent is silent
