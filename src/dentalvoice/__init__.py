"""dentalvoice: an AI phone agent that calls dental leads from GoHighLevel, lawfully and fast."""

__version__ = "0.1.0"
