"""Run the fake Polly on a port until interrupted: `python -m dentalvoice.emulators.polly`.

Point dentalvoice at it with TTS_PROVIDER=polly POLLY_ENDPOINT_URL=http://HOST:PORT and any
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (requests must be signed; the signature is not checked
unless --access-key-id is given, which then is the only key accepted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from loguru import logger

from dentalvoice.emulators.polly.server import create_app, serve_fake_polly


async def _run(args: argparse.Namespace) -> None:
    app = create_app(voice=args.voice, access_key_id=args.access_key_id)
    app.first_byte_delay_s = args.first_byte_delay_s
    async with serve_fake_polly(app, host=args.host, port=args.port) as url:
        logger.info(
            "polly emulator listening on {} (first byte after {} s)", url, args.first_byte_delay_s
        )
        await asyncio.Event().wait()


def main() -> None:
    """Parse the options and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m dentalvoice.emulators.polly")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8125)
    parser.add_argument("--voice", default=None, help="a Piper .onnx voice (default joe-medium)")
    parser.add_argument("--access-key-id", default=None, help="the only access key accepted")
    parser.add_argument("--first-byte-delay-s", type=float, default=0.0)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
