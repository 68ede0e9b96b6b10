"""The pieces every API handler uses: the route table entry, the request context, the reply.

A `Route` says which token kind an operation accepts and which scope it needs (both taken
from the operation's `security` in GHL's spec), so `api` can authenticate before any
handler runs. Handlers are plain functions `Ctx -> Reply` that raise `GhlError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

from dentalvoice.emulators.ghl.auth import Principal
from dentalvoice.emulators.ghl.errors import GhlError, forbidden, not_found
from dentalvoice.emulators.ghl.state import Contact, GhlState

if TYPE_CHECKING:
    from dentalvoice.emulators.ghl.emulator import GhlEmulator

Access = Literal["location", "company", "any", "none"]
"""Which tokens an operation takes: sub-account (Location token or PIT), agency (Company
token), either, or no token at all (`/oauth/token`)."""


@dataclass
class Reply:
    """A JSON answer."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    """One request, authenticated and (when enabled) checked against the spec.

    Attributes:
        emulator: The emulator serving it.
        principal: The token's identity; None on `/oauth/token`.
        params: Path parameters by name.
        query: Query parameters, every value per name.
        body: The raw body.
    """

    emulator: GhlEmulator
    principal: Principal | None
    params: dict[str, str]
    query: dict[str, list[str]]
    body: bytes

    @property
    def state(self) -> GhlState:
        """The emulator's data."""
        return self.emulator.state

    def now(self) -> datetime:
        """The emulator clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self.emulator.clock(), UTC)

    def arg(self, name: str) -> str | None:
        """The last value of query parameter `name`."""
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (the spec check has vouched for it).

        Raises:
            GhlError: 422 when it is not an object (only reachable with validation off).
        """
        try:
            parsed = json.loads(self.body or b"{}")
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise GhlError(422, ["body: must be a JSON object"])
        return parsed

    def form(self) -> dict[str, str]:
        """The body as form fields (last value wins)."""
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def require_location(self, location_id: str) -> None:
        """Refuse (403) unless the token may act for `location_id`.

        A Location token or PIT reaches its own location; a Company token reaches the
        locations of its company.
        """
        principal = self.principal
        if principal is None:
            raise forbidden()
        if principal.user_type == "Location":
            if principal.location_id != location_id:
                raise forbidden()
            return
        location = self.state.locations.get(location_id)
        if location is None or location.company_id != principal.company_id:
            raise forbidden()

    def contact(self, contact_id: str) -> Contact:
        """The contact, after checking the token may reach its location.

        Raises:
            GhlError: 400 unknown contact; 403 another location's contact.
        """
        contact = self.state.contacts.get(contact_id)
        if contact is None:
            raise not_found("Contact")
        self.require_location(contact.location_id)
        return contact


Handler = Callable[[Ctx], Reply]


@dataclass(frozen=True)
class Route:
    """One operation the emulator serves.

    Attributes:
        method: The HTTP method.
        template: GHL's path template, e.g. `/contacts/{contactId}/notes`.
        handler: The function answering it.
        scope: The OAuth scope the spec requires, or None.
        access: Which token kinds it takes.
    """

    method: str
    template: str
    handler: Handler
    scope: str | None = None
    access: Access = "location"
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Compile the template; a trailing slash is optional, as on GHL."""
        body = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template.rstrip("/")))
        object.__setattr__(self, "pattern", re.compile(f"^{body}/?$"))

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters if `path` fits the template, else None."""
        found = self.pattern.match(path)
        return found.groupdict() if found else None
