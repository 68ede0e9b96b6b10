"""Everything the emulated GHL account holds: locations, tokens, contacts, pipelines, calendars.

Plain dataclasses in dicts keyed by id, so tests read and change them directly
(`emulator.state.contacts[cid].tags`). Times are aware UTC datetimes; the JSON shapes GHL
answers with are built from these in `views`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

UserType = Literal["Location", "Company"]
OpportunityStatus = Literal["open", "won", "lost", "abandoned"]
Weekday = int
"""0 = Monday … 6 = Sunday, as `datetime.weekday()`."""


@dataclass
class Location:
    """A sub-account (one clinic).

    Attributes:
        id: The location id.
        name: Its name.
        timezone: IANA zone; calendars without their own zone use it.
        company_id: The agency that owns it.
        email: Business email shown by `GET /locations/{id}`.
        phone: Business phone.
    """

    id: str
    name: str
    timezone: str
    company_id: str
    email: str | None = None
    phone: str | None = None


@dataclass
class PrivateToken:
    """A sub-account Private Integration Token (`pit-…`), a static Bearer token.

    Attributes:
        name: What it is called in the GHL UI; the only thing logs show.
        token: The secret value.
        location_id: The sub-account it belongs to.
        scopes: Granted scopes; None grants every scope.
        expired: Rotated with "expire now": refused from then on.
    """

    name: str
    token: str
    location_id: str
    scopes: frozenset[str] | None = None
    expired: bool = False


@dataclass
class OAuthClient:
    """A Marketplace app installed on the company's locations.

    Attributes:
        client_id: `<appId>-<suffix>`, as GHL issues them.
        client_secret: Its secret.
        name: Display name (safe to log).
        company_id: The agency that installed it; its Company tokens reach every location of
            that company.
        scopes: Scopes its tokens carry; None grants every scope.
    """

    client_id: str
    client_secret: str
    name: str
    company_id: str
    scopes: frozenset[str] | None = None

    @property
    def app_id(self) -> str:
        """The app id: the client id's part before the first dash."""
        return self.client_id.split("-", 1)[0]


@dataclass
class AuthorizationCode:
    """A one-time code, as the chooselocation page redirects with `?code=…`.

    Attributes:
        code: The code.
        client_id: The app it was issued to.
        user_type: `Location` (sub-account token) or `Company` (agency token).
        company_id: The agency.
        location_id: The sub-account, for `Location` codes.
        user_id: The user who approved the installation.
        redirect_uri: If set, the token request must repeat it.
        used: Exchanged already (a second exchange fails).
    """

    code: str
    client_id: str
    user_type: UserType
    company_id: str
    location_id: str | None
    user_id: str
    redirect_uri: str | None = None
    used: bool = False


@dataclass
class CustomField:
    """A custom field definition of a location.

    Attributes:
        id: The field id (what API writes key values by).
        location_id: Its location.
        name: Display name (`Pain level`).
        field_key: `contact.pain_level` / `opportunity.treatment`.
        data_type: `TEXT`, `LARGE_TEXT`, `NUMERICAL`, `MONETORY`, `SINGLE_OPTIONS`,
            `MULTIPLE_OPTIONS`, `CHECKBOX`, `RADIO`, `DATE`, `FILE_UPLOAD`, ...
        model: `contact` or `opportunity`.
        picklist_options: Allowed options for option types.
        position: Order in the UI.
    """

    id: str
    location_id: str
    name: str
    field_key: str
    data_type: str = "TEXT"
    model: Literal["contact", "opportunity"] = "contact"
    picklist_options: list[str] = field(default_factory=list)
    position: int = 0

    @property
    def short_key(self) -> str:
        """The key without its model prefix (`pain_level`)."""
        return self.field_key.split(".", 1)[-1]


@dataclass
class Contact:
    """A contact (lead) of a location.

    Attributes:
        custom_fields: Values by custom field id.
        dnd_settings: Per channel (`Call`, `SMS`, ...) `{"status", "message", "code"}`.
        extra: Other writable fields GHL stores verbatim (`address1`, `city`, `source`, ...).
    """

    id: str
    location_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    timezone: str | None = None
    tags: list[str] = field(default_factory=list)
    dnd: bool = False
    dnd_settings: dict[str, dict[str, str]] = field(default_factory=dict)
    inbound_dnd_settings: dict[str, dict[str, str]] = field(default_factory=dict)
    custom_fields: dict[str, Any] = field(default_factory=dict)
    assigned_to: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    date_added: datetime | None = None
    date_updated: datetime | None = None


@dataclass
class Note:
    """A note on a contact."""

    id: str
    contact_id: str
    body: str
    date_added: datetime
    user_id: str | None = None
    title: str | None = None
    color: str | None = None
    pinned: bool = False


@dataclass
class Stage:
    """A pipeline stage (ids are UUIDs in GHL)."""

    id: str
    name: str
    position: int


@dataclass
class Pipeline:
    """A location's sales pipeline and its stages, in order."""

    id: str
    location_id: str
    name: str
    stages: list[Stage] = field(default_factory=list)

    def stage(self, stage_id: str) -> Stage | None:
        """The stage with `stage_id`, if it is in this pipeline."""
        return next((s for s in self.stages if s.id == stage_id), None)


@dataclass
class Opportunity:
    """A contact's opportunity in a pipeline.

    Attributes:
        custom_fields: Values by custom field id.
    """

    id: str
    location_id: str
    pipeline_id: str
    stage_id: str
    contact_id: str
    name: str
    status: OpportunityStatus
    created_at: datetime
    updated_at: datetime
    last_stage_change_at: datetime
    last_status_change_at: datetime
    monetary_value: float | None = None
    assigned_to: str | None = None
    source: str | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Calendar:
    """A booking calendar.

    Attributes:
        id: The calendar id.
        location_id: Its location.
        name: Display name.
        open_hours: Per weekday (0 = Monday), the open intervals in the calendar's zone.
        slot_minutes: Appointment length.
        slot_interval_minutes: Minutes between slot starts (defaults to `slot_minutes`).
        timezone: IANA zone of the open hours; None uses the location's.
        team_member_ids: For team (round-robin / collective) calendars, the users who take
            appointments; booking then needs `assignedUserId`. Empty for a personal calendar.
        date_hours: Date-specific hours (GHL's "date-specific availability"): on a date
            listed here these intervals replace the weekday's `open_hours` (empty: closed).
        stale_starts: Slot starts the free-slots listing still shows after they were
            booked. GHL's listing can lag a booking made moments earlier; this stages that
            race (booking one is refused as taken).
    """

    id: str
    location_id: str
    name: str
    open_hours: dict[Weekday, list[tuple[time, time]]]
    slot_minutes: int = 30
    slot_interval_minutes: int | None = None
    timezone: str | None = None
    team_member_ids: list[str] = field(default_factory=list)
    date_hours: dict[date, list[tuple[time, time]]] = field(default_factory=dict)
    stale_starts: set[datetime] = field(default_factory=set)

    @property
    def is_team(self) -> bool:
        """Whether bookings must name the team member who takes them."""
        return bool(self.team_member_ids)

    @property
    def interval_minutes(self) -> int:
        """Minutes between slot starts."""
        return self.slot_interval_minutes or self.slot_minutes


@dataclass
class Appointment:
    """A booked calendar event.

    Attributes:
        start: Aware start time.
        end: Aware end time.
        status: `new`, `confirmed`, `cancelled`, `showed`, `noshow`, `invalid`.
        extra: Other fields echoed back (`address`, `description`, `meetingLocationType`, ...).
    """

    id: str
    calendar_id: str
    location_id: str
    contact_id: str
    start: datetime
    end: datetime
    title: str | None = None
    status: str = "confirmed"
    assigned_user_id: str | None = None
    to_notify: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    date_added: datetime | None = None
    date_updated: datetime | None = None

    @property
    def blocks_time(self) -> bool:
        """Whether it occupies its slot (cancelled and invalid ones do not)."""
        return self.status not in ("cancelled", "invalid")


@dataclass
class GhlState:
    """The emulated account's data, by id."""

    locations: dict[str, Location] = field(default_factory=dict)
    private_tokens: dict[str, PrivateToken] = field(default_factory=dict)
    oauth_clients: dict[str, OAuthClient] = field(default_factory=dict)
    authorization_codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    custom_fields: dict[str, CustomField] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    notes: dict[str, Note] = field(default_factory=dict)
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    opportunities: dict[str, Opportunity] = field(default_factory=dict)
    calendars: dict[str, Calendar] = field(default_factory=dict)
    appointments: dict[str, Appointment] = field(default_factory=dict)

    def clear(self) -> None:
        """Forget everything."""
        for value in vars(self).values():
            value.clear()

    def notes_of(self, contact_id: str) -> list[Note]:
        """A contact's notes, oldest first."""
        return sorted(
            (n for n in self.notes.values() if n.contact_id == contact_id),
            key=lambda n: n.date_added,
        )

    def opportunities_of(self, contact_id: str) -> list[Opportunity]:
        """A contact's opportunities, oldest first."""
        return sorted(
            (o for o in self.opportunities.values() if o.contact_id == contact_id),
            key=lambda o: o.created_at,
        )

    def appointments_of(self, contact_id: str) -> list[Appointment]:
        """A contact's appointments, by start time."""
        return sorted(
            (a for a in self.appointments.values() if a.contact_id == contact_id),
            key=lambda a: a.start,
        )

    def appointments_on(self, calendar_id: str) -> list[Appointment]:
        """The appointments that occupy time on a calendar."""
        return [
            a for a in self.appointments.values() if a.calendar_id == calendar_id and a.blocks_time
        ]

    def fields_of(self, location_id: str, model: str | None = None) -> list[CustomField]:
        """A location's custom field definitions (of one model, or all), by position."""
        return sorted(
            (
                f
                for f in self.custom_fields.values()
                if f.location_id == location_id and (model is None or f.model == model)
            ),
            key=lambda f: (f.model, f.position, f.name),
        )

    def calendar_zone(self, calendar: Calendar) -> str:
        """The IANA zone a calendar's open hours are in."""
        if calendar.timezone:
            return calendar.timezone
        location = self.locations.get(calendar.location_id)
        return location.timezone if location is not None else "UTC"
