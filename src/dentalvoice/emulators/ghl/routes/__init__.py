"""GHL's API operations the emulator serves, one module per GHL service."""

from __future__ import annotations

from dentalvoice.emulators.ghl.routes.calendars import ROUTES as _CALENDARS
from dentalvoice.emulators.ghl.routes.contacts import ROUTES as _CONTACTS
from dentalvoice.emulators.ghl.routes.locations import ROUTES as _LOCATIONS
from dentalvoice.emulators.ghl.routes.oauth import ROUTES as _OAUTH
from dentalvoice.emulators.ghl.routes.opportunities import ROUTES as _OPPORTUNITIES
from dentalvoice.emulators.ghl.routing import Route

ROUTES: tuple[Route, ...] = (*_OAUTH, *_CONTACTS, *_OPPORTUNITIES, *_CALENDARS, *_LOCATIONS)
"""Every operation; within a service the more specific templates come first."""

__all__ = ["ROUTES"]
