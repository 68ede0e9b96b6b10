"""dentalvoice's exception tree; adapters translate vendor errors into it at their boundary.

DentalVoiceError
├── NotFoundError          a thing named by id does not exist
├── ConflictError          a create collides with an existing row
└── StorageUnavailable     the database could not store a request (answer 429, GHL retries)
"""

from __future__ import annotations


class DentalVoiceError(Exception):
    """Base of every error dentalvoice raises on purpose."""


class NotFoundError(DentalVoiceError):
    """A thing named by id does not exist."""


class ConflictError(DentalVoiceError):
    """A create collides with an existing row."""


class StorageUnavailable(DentalVoiceError):
    """The database could not store a request; nothing was accepted."""
