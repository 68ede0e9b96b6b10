"""Putting data into the emulator: one `seed_*` method per kind, and `seed(document)` for JSON.

`GhlEmulator` inherits these. Ids default to fresh GHL-looking ones from the emulator's
seeded RNG; pass `id=` to pin one. References accept an id or, where it reads better, a name
(a stage by name, a custom field by key).

A seed document (for `dentalvoice emulate ghl --seed-file` and `POST /_emulator/seed`):

```json
{"oauth_clients": [{"name": "dentalvoice", "company_id": "…",
                    "client_id": "…", "client_secret": "…"}],
 "locations": [{
   "name": "Sunrise Dental", "timezone": "America/New_York", "id": "…", "company_id": "…",
   "pits": [{"name": "dentalvoice", "token": "pit-…"}],
   "custom_fields": [{"name": "Pain level", "field_key": "contact.pain_level",
                      "data_type": "NUMERICAL"}],
   "pipelines": [{"name": "New Patients", "stages": ["New Lead", "Contacted", "Booked"]}],
   "calendars": [{"name": "Consult", "open_hours": {"mon": [["09:00", "17:00"]]},
                  "date_hours": {"2026-12-24": [["09:00", "12:00"]]}, "slot_minutes": 30}],
   "contacts": [{"first_name": "Jordan", "phone": "+13055550123",
                 "custom_fields": {"contact.pain_level": 4},
                 "opportunities": [{"pipeline": "New Patients", "stage": "New Lead"}]}]}]}
```
Keys inside each object are the keyword arguments of the matching `seed_*` method.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dentalvoice.emulators.ghl.auth import TokenStore
from dentalvoice.emulators.ghl.clock import Clock
from dentalvoice.emulators.ghl.ids import IdFactory
from dentalvoice.emulators.ghl.state import (
    Appointment,
    Calendar,
    Contact,
    CustomField,
    GhlState,
    Location,
    Note,
    OAuthClient,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    PrivateToken,
    Stage,
    UserType,
)
from dentalvoice.emulators.ghl.values import normalize_tags

_WEEKDAYS = {
    name: index
    for index, names in enumerate(
        [
            ("mon", "monday"),
            ("tue", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        ]
    )  # fmt: skip
    for name in names
}
Intervals = Sequence[tuple[time | str, time | str] | Sequence[str]]
OpenHours = Mapping[int, Intervals] | Mapping[str, Intervals] | Mapping[int | str, Intervals]
"""Weekday (0 = Monday, or `mon`/`monday`) → open intervals (`("09:00", "12:00")`)."""
WEEKDAYS_9_TO_5: OpenHours = {day: [("09:00", "17:00")] for day in range(5)}


def parse_open_hours(hours: OpenHours) -> dict[int, list[tuple[time, time]]]:
    """Normalise open hours to weekday index → `(opens, closes)` times.

    Raises:
        ValueError: An unknown weekday, a malformed time, or an interval closing before it
            opens.
    """
    parsed: dict[int, list[tuple[time, time]]] = {}
    for day, intervals in hours.items():
        index = day if isinstance(day, int) else _WEEKDAYS.get(str(day).strip().lower())
        if index is None or not 0 <= index <= 6:
            raise ValueError(f"unknown weekday {day!r}")
        parsed.setdefault(index, []).extend(_interval(interval) for interval in intervals)
    return parsed


def _interval(interval: tuple[time | str, time | str] | Sequence[str]) -> tuple[time, time]:
    opens, closes = (_time(part) for part in interval)
    if closes <= opens:
        raise ValueError(f"interval {interval!r} closes before it opens")
    return opens, closes


def _time(value: time | str) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value))


def _date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class Seeding:
    """The seeding API; `GhlEmulator` provides `state`, `ids`, `tokens` and `clock`."""

    state: GhlState
    ids: IdFactory
    tokens: TokenStore
    clock: Clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def seed_location(
        self,
        *,
        name: str = "Demo Dental",
        timezone: str = "America/New_York",
        id: str | None = None,
        company_id: str | None = None,
        email: str | None = None,
        phone: str | None = None,
    ) -> Location:
        """A sub-account. Locations seeded without `company_id` share the first one's."""
        if company_id is None:
            first = next(iter(self.state.locations.values()), None)
            company_id = first.company_id if first is not None else self.ids.object_id()
        location = Location(
            id=id or self.ids.object_id(),
            name=name,
            timezone=timezone,
            company_id=company_id,
            email=email,
            phone=phone,
        )
        self.state.locations[location.id] = location
        return location

    def seed_pit(
        self,
        *,
        location_id: str,
        name: str = "dentalvoice",
        token: str | None = None,
        scopes: Iterable[str] | None = None,
    ) -> PrivateToken:
        """A Private Integration Token of a location (all scopes unless `scopes` is given)."""
        self._location(location_id)
        pit = PrivateToken(
            name=name,
            token=token or self.ids.pit(),
            location_id=location_id,
            scopes=frozenset(scopes) if scopes is not None else None,
        )
        if not pit.token.startswith("pit-"):
            raise ValueError("Private Integration Tokens start with 'pit-'")
        self.state.private_tokens[pit.token] = pit
        return pit

    def seed_oauth_client(
        self,
        *,
        company_id: str | None = None,
        name: str = "dentalvoice",
        client_id: str | None = None,
        client_secret: str | None = None,
        scopes: Iterable[str] | None = None,
    ) -> OAuthClient:
        """A Marketplace app installed by a company (default: the first location's)."""
        if company_id is None:
            first = next(iter(self.state.locations.values()), None)
            if first is None:
                raise ValueError("seed a location first, or pass company_id")
            company_id = first.company_id
        client = OAuthClient(
            client_id=client_id or f"{self.ids.object_id().lower()}-{self.ids.object_id()[:8]}",
            client_secret=client_secret or self.ids.secret("cs-"),
            name=name,
            company_id=company_id,
            scopes=frozenset(scopes) if scopes is not None else None,
        )
        self.state.oauth_clients[client.client_id] = client
        return client

    def issue_authorization_code(
        self,
        *,
        client_id: str,
        location_id: str | None = None,
        user_type: UserType | None = None,
        redirect_uri: str | None = None,
        user_id: str | None = None,
    ) -> str:
        """A one-time code, as if a user had installed the app (on `location_id`, or agency)."""
        return self.tokens.issue_code(
            client_id=client_id,
            location_id=location_id,
            user_type=user_type,
            redirect_uri=redirect_uri,
            user_id=user_id,
        )

    def seed_custom_field(
        self,
        *,
        location_id: str,
        name: str,
        field_key: str | None = None,
        data_type: str = "TEXT",
        model: str = "contact",
        picklist_options: Iterable[str] = (),
        id: str | None = None,
    ) -> CustomField:
        """A custom field definition; the key defaults to `<model>.<snake_name>`."""
        self._location(location_id)
        if model not in ("contact", "opportunity"):
            raise ValueError("model must be 'contact' or 'opportunity'")
        key = field_key or f"{model}.{'_'.join(name.lower().split())}"
        position = len(self.state.fields_of(location_id, model))
        definition = CustomField(
            id=id or self.ids.object_id(),
            location_id=location_id,
            name=name,
            field_key=key,
            data_type=data_type,
            model=model,  # type: ignore[arg-type]
            picklist_options=list(picklist_options),
            position=position,
        )
        self.state.custom_fields[definition.id] = definition
        return definition

    def seed_contact(
        self,
        *,
        location_id: str,
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        timezone: str | None = None,
        tags: Iterable[str] = (),
        dnd: bool = False,
        dnd_settings: Mapping[str, Mapping[str, str]] | None = None,
        custom_fields: Mapping[str, Any] | None = None,
        assigned_to: str | None = None,
        source: str | None = None,
        id: str | None = None,
        **extra: Any,
    ) -> Contact:
        """A contact; `custom_fields` keys are field ids or keys (`contact.pain_level`).

        Other GHL contact fields (`address1`, `city`, `state`, `postalCode`, `country`, ...)
        go in as extra keyword arguments, spelled as GHL spells them.
        """
        self._location(location_id)
        now = self._now()
        contact = Contact(
            id=id or self.ids.object_id(),
            location_id=location_id,
            first_name=first_name,
            last_name=last_name,
            email=email,
            phone=phone,
            timezone=timezone,
            tags=normalize_tags(tags),
            dnd=dnd,
            dnd_settings={k: dict(v) for k, v in (dnd_settings or {}).items()},
            assigned_to=assigned_to,
            extra={**({"source": source} if source else {}), **extra},
            date_added=now,
            date_updated=now,
        )
        for key, value in (custom_fields or {}).items():
            contact.custom_fields[self._field(location_id, "contact", key).id] = value
        self.state.contacts[contact.id] = contact
        return contact

    def seed_note(self, *, contact_id: str, body: str, user_id: str | None = None) -> Note:
        """A note on a contact."""
        self._contact(contact_id)
        note = Note(
            id=self.ids.object_id(),
            contact_id=contact_id,
            body=body,
            date_added=self._now(),
            user_id=user_id,
        )
        self.state.notes[note.id] = note
        return note

    def seed_pipeline(
        self,
        *,
        location_id: str,
        name: str = "New Patients",
        stages: Iterable[str] = ("New Lead", "Contacted", "Appointment Booked"),
        id: str | None = None,
    ) -> Pipeline:
        """A pipeline with stages in order (stage ids are UUIDs, as on GHL)."""
        self._location(location_id)
        pipeline = Pipeline(
            id=id or self.ids.object_id(),
            location_id=location_id,
            name=name,
            stages=[Stage(self.ids.uuid(), s, i) for i, s in enumerate(stages)],
        )
        self.state.pipelines[pipeline.id] = pipeline
        return pipeline

    def seed_opportunity(
        self,
        *,
        contact_id: str,
        pipeline: str,
        stage: str | None = None,
        name: str | None = None,
        status: OpportunityStatus = "open",
        monetary_value: float | None = None,
        id: str | None = None,
    ) -> Opportunity:
        """A contact's opportunity; `pipeline` and `stage` by id or name (stage: the first)."""
        contact = self._contact(contact_id)
        found = self._pipeline(contact.location_id, pipeline)
        chosen = found.stages[0] if stage is None else found.stage(stage)
        chosen = chosen or next((s for s in found.stages if s.name == stage), None)
        if chosen is None:
            raise KeyError(f"no stage {stage!r} in pipeline {found.name!r}")
        now = self._now()
        opportunity = Opportunity(
            id=id or self.ids.object_id(),
            location_id=contact.location_id,
            pipeline_id=found.id,
            stage_id=chosen.id,
            contact_id=contact.id,
            name=name or "Opportunity",
            status=status,
            created_at=now,
            updated_at=now,
            last_stage_change_at=now,
            last_status_change_at=now,
            monetary_value=monetary_value,
        )
        self.state.opportunities[opportunity.id] = opportunity
        return opportunity

    def seed_calendar(
        self,
        *,
        location_id: str,
        name: str = "New Patient Consult",
        open_hours: OpenHours = WEEKDAYS_9_TO_5,
        slot_minutes: int = 30,
        slot_interval_minutes: int | None = None,
        timezone: str | None = None,
        team_member_ids: Iterable[str] = (),
        date_hours: Mapping[date | str, Intervals] | None = None,
        stale_starts: Iterable[datetime | str] = (),
        id: str | None = None,
    ) -> Calendar:
        """A calendar; with `team_member_ids` a team calendar (bookings name a member).

        Args:
            location_id: Its location.
            name: Display name.
            open_hours: Weekday → open intervals, in the calendar's zone (default Monday to
                Friday 09:00-17:00).
            slot_minutes: Appointment length.
            slot_interval_minutes: Minutes between slot starts (default: `slot_minutes`).
            timezone: IANA zone (default: the location's).
            team_member_ids: User ids of a team calendar.
            date_hours: Date (`"2026-11-25"`) → open intervals that replace that weekday's
                hours on that date (an empty list closes it).
            stale_starts: Slot starts the free-slots listing keeps showing once booked
                (seed the booking with `seed_appointment`): a caller's pick that someone
                else took a moment earlier.
            id: Pin the id.
        """
        self._location(location_id)
        if slot_minutes < 1 or (slot_interval_minutes is not None and slot_interval_minutes < 1):
            raise ValueError("slot lengths must be positive")
        calendar = Calendar(
            id=id or self.ids.object_id(),
            location_id=location_id,
            name=name,
            open_hours=parse_open_hours(open_hours),
            slot_minutes=slot_minutes,
            slot_interval_minutes=slot_interval_minutes,
            timezone=timezone,
            team_member_ids=list(team_member_ids),
            date_hours={
                _date(day): [_interval(interval) for interval in intervals]
                for day, intervals in (date_hours or {}).items()
            },
            stale_starts={_aware(start) for start in stale_starts},
        )
        self.state.calendars[calendar.id] = calendar
        return calendar

    def seed_appointment(
        self,
        *,
        calendar_id: str,
        contact_id: str,
        start: datetime | str,
        end: datetime | str | None = None,
        assigned_user_id: str | None = None,
        status: str = "confirmed",
        title: str | None = None,
        id: str | None = None,
    ) -> Appointment:
        """A booked appointment (no slot checks: seed what you need, even a clash)."""
        calendar = self.state.calendars[calendar_id]
        self._contact(contact_id)
        begins = _aware(start)
        ends = _aware(end) if end is not None else begins + timedelta(minutes=calendar.slot_minutes)
        now = self._now()
        appointment = Appointment(
            id=id or self.ids.object_id(),
            calendar_id=calendar.id,
            location_id=calendar.location_id,
            contact_id=contact_id,
            start=begins.astimezone(UTC),
            end=ends.astimezone(UTC),
            title=title,
            status=status,
            assigned_user_id=assigned_user_id,
            date_added=now,
            date_updated=now,
        )
        self.state.appointments[appointment.id] = appointment
        return appointment

    def seed(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Seed from a document (module docstring); returns what was made, JSON-ready.

        Raises:
            KeyError: A reference to something that does not exist.
            TypeError: An unknown key.
            ValueError: A bad value.
        """
        made: dict[str, Any] = {"locations": [], "oauth_clients": []}
        for spec in document.get("locations", []):
            made["locations"].append(self._seed_location_tree(dict(spec)))
        for spec in document.get("oauth_clients", []):
            client = self.seed_oauth_client(**spec)
            made["oauth_clients"].append(
                {
                    "client_id": client.client_id,
                    "client_secret": client.client_secret,
                    "name": client.name,
                    "company_id": client.company_id,
                }
            )
        return made

    def _seed_location_tree(self, spec: dict[str, Any]) -> dict[str, Any]:
        nested = {
            key: spec.pop(key, [])
            for key in ("pits", "custom_fields", "pipelines", "calendars", "contacts")
        }
        location = self.seed_location(**spec)
        lid = location.id
        pits = [self.seed_pit(location_id=lid, **p) for p in nested["pits"]]
        fields = [self.seed_custom_field(location_id=lid, **f) for f in nested["custom_fields"]]
        pipelines = [self.seed_pipeline(location_id=lid, **p) for p in nested["pipelines"]]
        calendars = [self.seed_calendar(location_id=lid, **c) for c in nested["calendars"]]
        contacts = []
        for raw in nested["contacts"]:
            contact_spec = dict(raw)
            opportunities = contact_spec.pop("opportunities", [])
            contact = self.seed_contact(location_id=lid, **contact_spec)
            for opportunity in opportunities:
                self.seed_opportunity(contact_id=contact.id, **opportunity)
            contacts.append(contact.id)
        return {
            "id": lid,
            "name": location.name,
            "company_id": location.company_id,
            "timezone": location.timezone,
            "pits": [{"name": p.name, "token": p.token} for p in pits],
            "custom_fields": [{"id": f.id, "field_key": f.field_key} for f in fields],
            "pipelines": [
                {
                    "id": p.id,
                    "name": p.name,
                    "stages": [{"id": s.id, "name": s.name} for s in p.stages],
                }
                for p in pipelines
            ],
            "calendars": [{"id": c.id, "name": c.name} for c in calendars],
            "contacts": contacts,
        }

    # -- lookups ------------------------------------------------------------------------

    def _location(self, location_id: str) -> Location:
        try:
            return self.state.locations[location_id]
        except KeyError:
            raise KeyError(f"no location {location_id!r}; seed it first") from None

    def _contact(self, contact_id: str) -> Contact:
        try:
            return self.state.contacts[contact_id]
        except KeyError:
            raise KeyError(f"no contact {contact_id!r}") from None

    def _pipeline(self, location_id: str, ref: str) -> Pipeline:
        for pipeline in self.state.pipelines.values():
            if pipeline.location_id == location_id and ref in (pipeline.id, pipeline.name):
                return pipeline
        raise KeyError(f"no pipeline {ref!r} in location {location_id!r}")

    def _field(self, location_id: str, model: str, ref: str) -> CustomField:
        for definition in self.state.fields_of(location_id, model):
            if ref in (definition.id, definition.field_key, definition.short_key):
                return definition
        raise KeyError(f"no {model} custom field {ref!r} in location {location_id!r}")


def _aware(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{value!r}: times need a UTC offset")
    return moment
