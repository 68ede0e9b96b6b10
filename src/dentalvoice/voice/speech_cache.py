"""Synthesised sentences kept in memory, so a fixed prompt costs no synthesis on a call.

Most of what the scripted agent says is the same on every call ("Do you have dental
insurance?"); Piper takes 40–220 ms to the first audio of a sentence, a cache hit none. Fixed
sentences are synthesised when the process warms up; sentences with a clinic's or a lead's
name are synthesised on demand and kept too (a clinic's name repeats across its calls), within
a bound so a long-running server's memory stays flat.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from functools import cache

from dentalvoice.conversation.script import Script
from dentalvoice.conversation.scripted import sentences

# ~2.5 s of 22 kHz 16-bit audio a sentence: 512 sentences is ~55 MB at most.
DEFAULT_ENTRIES = 512


class SpeechCache:
    """A bounded, thread-safe map of sentence text → PCM audio (least recently used dropped)."""

    def __init__(self, *, entries: int = DEFAULT_ENTRIES) -> None:
        """Create an empty cache.

        Args:
            entries: Sentences kept at most; 0 keeps none.
        """
        self._entries = entries
        self._audio: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, text: str) -> bytes | None:
        """The audio of `text`, if synthesised before."""
        with self._lock:
            audio = self._audio.get(_key(text))
            if audio is None:
                self.misses += 1
                return None
            self._audio.move_to_end(_key(text))
            self.hits += 1
            return audio

    def put(self, text: str, audio: bytes) -> None:
        """Keep the whole audio of `text` (never a part: an interrupted sentence is not kept)."""
        if self._entries <= 0 or not audio:
            return
        with self._lock:
            self._audio[_key(text)] = audio
            self._audio.move_to_end(_key(text))
            while len(self._audio) > self._entries:
                self._audio.popitem(last=False)

    def __contains__(self, text: object) -> bool:
        with self._lock:
            return isinstance(text, str) and _key(text) in self._audio

    def __len__(self) -> int:
        with self._lock:
            return len(self._audio)


@cache
def cache_for(voice: str | None = None) -> SpeechCache:
    """The process's cache of one voice's sentences (None: the bundled voice)."""
    return SpeechCache()


def _key(text: str) -> str:
    return " ".join(text.split())


def fixed_sentences(script: Script) -> list[str]:
    """The script's sentences that are the same on every call (no `{placeholder}`), in order.

    Args:
        script: The conversation script.

    Returns:
        Distinct sentences, the questions first (they are what the agent says most).
    """
    texts: list[str] = []
    for step in script.steps:
        texts += [step.ask, step.reask]
    texts += list(script.lines.values())
    return list(dict.fromkeys(_fixed(texts)))


def _fixed(texts: Iterable[str]) -> Iterable[str]:
    for text in texts:
        for sentence in sentences(text):
            if "{" not in sentence:
                yield sentence
