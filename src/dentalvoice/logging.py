"""Logging set up once: loguru, with the standard library (uvicorn, SQLAlchemy) routed into it.

Log lines carry ids and masked numbers only; request paths are never logged because a workflow
webhook carries its secret in the query string.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from loguru import Record

_INFO = 20


class _InterceptHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def _no_speech_text(record: Record) -> bool:
    # Pipecat's DEBUG lines quote transcripts and the text sent to TTS (names, symptoms): PHI
    # that no log level may show.
    return not (record["name"] or "").startswith("pipecat") or record["level"].no >= _INFO


def configure_logging(*, level: str = "INFO", json: bool = False) -> None:
    """Send every log line to stderr at `level`, as text or JSON lines."""
    logger.remove()
    logger.add(
        sys.stderr,
        level=level,
        serialize=json,
        backtrace=False,
        diagnose=False,
        filter=_no_speech_text,
    )
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.INFO, force=True)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = [_InterceptHandler()]
        logging.getLogger(name).propagate = False
    # Access lines would include `?token=` secrets; client request lines can carry phone
    # numbers in query strings (GHL's duplicate search).
    logging.getLogger("uvicorn.access").disabled = True
    # The Twilio SDK logs every request's headers at INFO.
    for name in ("httpx", "httpcore", "twilio"):
        logging.getLogger(name).setLevel(logging.WARNING)


def describe_exception(exc: BaseException) -> str:
    """`ValueError at leads/normalize.py:42 <- OperationalError`: where, never the message.

    Exception messages can quote the data that caused them (a name, a phone, an SQL
    parameter), so log lines name the types and the innermost frame only.
    """
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 4:
        frames = traceback.extract_tb(current.__traceback__)
        where = ""
        if frames:
            last = frames[-1]
            path = last.filename.split("/src/", 1)[-1].split("site-packages/", 1)[-1]
            where = f" at {path}:{last.lineno}"
        parts.append(f"{type(current).__name__}{where}")
        current = current.__cause__ or current.__context__
    return " <- ".join(parts)
