"""Run the fake OpenAI server on a port until interrupted: `python -m dentalvoice.emulators.openai`.

It answers chat completions with the script-following policy and transcribes uploads with the
local Whisper model. Point dentalvoice at it with OPENAI_BASE_URL=http://HOST:PORT/v1 and any
OPENAI_API_KEY (or the one given with --api-key), e.g. STT_PROVIDER=openai, LLM_PROVIDER=openai.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from loguru import logger

from dentalvoice.emulators.openai.policies import ScriptFollowingPolicy
from dentalvoice.emulators.openai.server import create_app, serve_fake_openai


async def _run(args: argparse.Namespace) -> None:
    app = create_app(ScriptFollowingPolicy(), api_key=args.api_key)
    app.whisper_model = args.whisper_model
    app.transcription_delay_s = args.transcription_delay_s
    app.first_token_delay_s = args.first_token_delay_s
    async with serve_fake_openai(app, host=args.host, port=args.port) as url:
        logger.info("openai emulator listening on {}", url)
        await asyncio.Event().wait()


def main() -> None:
    """Parse the options and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m dentalvoice.emulators.openai")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8124)
    parser.add_argument("--api-key", default=None, help="the only bearer token accepted")
    parser.add_argument("--whisper-model", default=None, help="a CTranslate2 Whisper directory")
    parser.add_argument("--transcription-delay-s", type=float, default=0.0)
    parser.add_argument("--first-token-delay-s", type=float, default=0.0)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
