"""`dentalvoice worker`, run as a separate process for the SIGKILL test.

The same code path as the CLI command (settings from the environment, `open_telephony`,
`run_worker`), except that its clock starts at `WORKER_CLOCK_START` so the gate allows calls
whatever the hour the test runs at.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime, timedelta

from dentalvoice.config import load_settings
from dentalvoice.db import open_database
from dentalvoice.runtime import open_telephony


async def main(start: datetime) -> None:
    t0 = time.monotonic()

    def clock() -> datetime:
        return start + timedelta(seconds=time.monotonic() - t0)

    settings = load_settings()
    db, _ = open_database(settings)
    telephony = open_telephony(settings=settings, db=db, redis=None, clock=clock)
    try:
        await telephony.run_worker()
    finally:
        await telephony.aclose()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(datetime.fromisoformat(sys.argv[1])))
