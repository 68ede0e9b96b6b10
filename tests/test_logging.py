"""Logging keeps speech text out at every level."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from loguru import logger

from dentalvoice.logging import configure_logging

if TYPE_CHECKING:
    from loguru import Logger


def _from(name: str) -> Logger:
    return logger.patch(lambda record: record.update(name=name))


def test_pipecats_debug_lines_never_show_even_at_debug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(level="DEBUG")  # after capsys replaced stderr
    try:
        _from("pipecat.services.whisper.stt").debug("Transcription: [ my tooth hurts ]")
        _from("pipecat.serializers.twilio").info("Successfully terminated Twilio call")
        _from("dentalvoice.dialer.worker").debug("dialed: job=1")
    finally:
        configure_logging(level="INFO")
    err = capsys.readouterr().err
    assert "tooth" not in err
    assert "Successfully terminated" in err and "dialed: job=1" in err
