"""GHL-looking identifiers and secrets, drawn from one seedable RNG so runs can be repeated.

GHL ids are 20 alphanumeric characters (`ve9EPM428h8vShlRW1KT`); pipeline stage ids are
UUIDs; Private Integration Tokens are `pit-<uuid>`. The emulator draws all of them from a
`random.Random`, so a seeded emulator hands out the same ids (and tokens) every run, which
keeps demo output and benchmark logs comparable. Not for real secrets.
"""

from __future__ import annotations

import random
import string
import uuid

_ALPHABET = string.ascii_letters + string.digits


class IdFactory:
    """Draws ids and opaque tokens from a seeded RNG.

    Attributes:
        seed: What the RNG was seeded with (None: from the OS, not repeatable).
    """

    def __init__(self, seed: int | None = 0) -> None:
        """Seed the RNG; the same seed gives the same sequence of ids."""
        self.seed = seed
        # Emulator ids only need to look like GHL's and repeat per seed; not a CSPRNG.
        self._rng = random.Random(seed)  # noqa: S311

    def reseed(self, seed: int | None) -> None:
        """Start the sequence over (for `reset`)."""
        self.seed = seed
        self._rng.seed(seed)

    def object_id(self) -> str:
        """A 20-character alphanumeric id, like every GHL object id."""
        return "".join(self._rng.choices(_ALPHABET, k=20))

    def uuid(self) -> str:
        """A version-4 UUID string (pipeline stage ids look like this)."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def secret(self, prefix: str) -> str:
        """An opaque token: `prefix` followed by 40 hex digits."""
        return f"{prefix}{self._rng.getrandbits(160):040x}"

    def pit(self) -> str:
        """A Private Integration Token value, `pit-<uuid>`."""
        return f"pit-{self.uuid()}"
