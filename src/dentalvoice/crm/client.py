"""The GHL API v2 client: typed, location-scoped calls for what dentalvoice reads and writes.

One `GhlClient` per process. Each call takes the location's token (renewed before expiry),
a slot from the location's rate-limit bucket, and sends one request with the endpoint's
`Version` header. A 401 renews the token and sends the request once more; a 429 empties the
bucket for the time GHL asks and raises `GhlRateLimited`. Writes are never repeated here: the
outbox owns retries. A GET that could not connect is tried once more.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Final, Literal, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from loguru import logger
from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis

from dentalvoice.config import Settings
from dentalvoice.crm.auth import StoredTokens, TokenProvider
from dentalvoice.crm.errors import GhlAuthError, GhlRetryable
from dentalvoice.crm.fields import CustomFieldResolver
from dentalvoice.crm.oauth import GhlOAuth
from dentalvoice.crm.ratelimit import (
    DEFAULT_DAILY_RETRY_S,
    RateLimiter,
    RateLimitInfo,
    RedisTokenBucket,
    TokenBucket,
    rate_limited,
)
from dentalvoice.crm.schemas import (
    Appointment,
    Contact,
    CustomField,
    Note,
    Opportunity,
    parse_ghl_time,
)
from dentalvoice.crm.transport import (
    CALENDARS_VERSION,
    VERSION,
    GhlTransport,
    JsonBody,
    QueryParams,
    error_details,
    json_body,
    status_error,
)
from dentalvoice.db.base import utcnow
from dentalvoice.db.engine import Database

# GHL's free-slot answer is keyed by local date; anything else in it (a traceId) is not a day.
_DAY_KEY: Final = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
MAX_FREE_SLOT_DAYS: Final = 31

CustomFieldValue = str | int | float | Sequence[str]
OpportunityStatus = Literal["open", "won", "lost", "abandoned"]
AppointmentStatus = Literal["new", "confirmed", "cancelled", "showed", "noshow", "invalid"]
CustomFieldModel = Literal["contact", "opportunity", "all"]
ValueKey = Literal["field_value", "fieldValue"]

_M = TypeVar("_M", bound=BaseModel)


def _id(value: str) -> str:
    # Ids go into the path: quoting keeps a stray '/' or '..' from reaching another endpoint.
    if not value:
        raise ValueError("an id is empty")
    return quote(value, safe="")


def _epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


class GhlClient:
    """Async GHL API v2 client; build once per process, close with `aclose()`.

    Every method is keyword-only and scoped to a GHL location id (the sub-account id, e.g.
    `ve9EPM428h8vShlRW1KT`, not our `location.id`). `max_wait` bounds the wait for a local
    rate-limit slot (None: the client's default); an in-call lookup passes a small one.
    """

    def __init__(
        self,
        *,
        tokens: TokenProvider,
        transport: GhlTransport | None = None,
        limiter: RateLimiter | None = None,
        custom_field_value_key: ValueKey = "field_value",
        max_wait_s: float = 10.0,
        daily_retry_s: float = DEFAULT_DAILY_RETRY_S,
        fields_ttl_s: float = 600.0,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """Create the client.

        Args:
            tokens: Where bearer tokens come from (`StoredTokens` in production).
            transport: The HTTP layer (default: GHL's production host, default timeouts).
            limiter: Per-location rate limiter (default: 100 requests / 10 s in-process).
            custom_field_value_key: The key custom-field values are sent under
                (`field_value`, documented for v2, or `fieldValue`).
            max_wait_s: Default longest wait for a local rate-limit slot.
            daily_retry_s: `retry_after` of a daily 429 without a reset header.
            fields_ttl_s: How long a location's custom-field list is cached.
            jitter: A number in [0, 1) for spreading burst retries (injectable for tests).
        """
        self.tokens = tokens
        self.transport = transport or GhlTransport()
        self.limiter: RateLimiter = limiter or TokenBucket()
        self._value_key: ValueKey = custom_field_value_key
        self._max_wait_s = max_wait_s
        self._daily_retry_s = daily_retry_s
        self._jitter = jitter
        self.rate_limits: dict[str, RateLimitInfo] = {}
        self.fields = CustomFieldResolver(self._all_custom_fields, ttl_s=fields_ttl_s)

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.transport.aclose()

    async def __aenter__(self) -> GhlClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # -- contacts -----------------------------------------------------------------------------

    async def get_contact(
        self, *, location_id: str, contact_id: str, max_wait: float | None = None
    ) -> Contact:
        """`GET /contacts/{id}`: the contact as GHL has it now.

        Raises:
            GhlRejected: 404 or another refusal (e.g. the contact is in another location).
            GhlRetryable, GhlAuthError: See `dentalvoice.crm.errors`.
        """
        operation = "get_contact"
        body = await self._request(
            operation,
            "GET",
            f"/contacts/{_id(contact_id)}",
            location_id=location_id,
            max_wait=max_wait,
        )
        return self._parse(Contact, _field(body, "contact"), operation)

    async def update_contact(
        self,
        *,
        location_id: str,
        contact_id: str,
        custom_fields: Mapping[str, CustomFieldValue] | None = None,
        dnd: bool | None = None,
        call_dnd: bool | None = None,
        max_wait: float | None = None,
    ) -> Contact | None:
        """`PUT /contacts/{id}`: set custom fields (by field id) and do-not-disturb flags.

        Tags are not settable here on purpose: `tags` in this endpoint replaces them all; use
        `add_tags`.

        Args:
            location_id: The GHL location.
            contact_id: The contact.
            custom_fields: Field id → value (strings, numbers, or a list of options).
            dnd: The contact-wide DND flag (all channels).
            call_dnd: DND for calls only: `dndSettings.Call.status` active / inactive.
            max_wait: See the class docstring.

        Returns:
            The updated contact, or None when GHL's answer did not include it.

        Raises:
            ValueError: Nothing to update.
            GhlRejected, GhlRetryable, GhlAuthError: See `dentalvoice.crm.errors`.
        """
        payload: dict[str, Any] = {}
        if custom_fields:
            payload["customFields"] = [
                {"id": field_id, self._value_key: _field_value(value)}
                for field_id, value in custom_fields.items()
            ]
        if dnd is not None:
            payload["dnd"] = dnd
        if call_dnd is not None:
            payload["dndSettings"] = {"Call": {"status": "active" if call_dnd else "inactive"}}
        if not payload:
            raise ValueError("update_contact needs custom_fields, dnd or call_dnd")
        operation = "update_contact"
        body = await self._request(
            operation,
            "PUT",
            f"/contacts/{_id(contact_id)}",
            location_id=location_id,
            json=payload,
            max_wait=max_wait,
        )
        contact = body.get("contact") if isinstance(body, dict) else None
        return self._parse(Contact, contact, operation) if contact else None

    async def add_tags(
        self,
        *,
        location_id: str,
        contact_id: str,
        tags: Sequence[str],
        max_wait: float | None = None,
    ) -> list[str]:
        """`POST /contacts/{id}/tags`: add tags, keeping the ones the contact has.

        Returns:
            The tags GHL reports back.

        Raises:
            ValueError: No tags given.
            GhlRejected, GhlRetryable, GhlAuthError: See `dentalvoice.crm.errors`.
        """
        cleaned = [t for t in dict.fromkeys(tag.strip() for tag in tags) if t]
        if not cleaned:
            raise ValueError("add_tags needs at least one tag")
        body = await self._request(
            "add_tags",
            "POST",
            f"/contacts/{_id(contact_id)}/tags",
            location_id=location_id,
            json={"tags": cleaned},
            max_wait=max_wait,
        )
        returned = body.get("tags") if isinstance(body, dict) else None
        return [str(t) for t in returned] if isinstance(returned, list) else cleaned

    async def create_note(
        self,
        *,
        location_id: str,
        contact_id: str,
        body: str,
        user_id: str | None = None,
        title: str | None = None,
        max_wait: float | None = None,
    ) -> Note:
        """`POST /contacts/{id}/notes`: add a note.

        Not idempotent: after a `GhlRetryable` with `maybe_applied`, look for the note with
        `list_notes` before sending it again.

        Raises:
            ValueError: An empty body.
            GhlRejected, GhlRetryable, GhlAuthError: See `dentalvoice.crm.errors`.
        """
        if not body.strip():
            raise ValueError("a note needs a body")
        payload: dict[str, Any] = {"body": body}
        if user_id:
            payload["userId"] = user_id
        if title:
            payload["title"] = title
        operation = "create_note"
        answer = await self._request(
            operation,
            "POST",
            f"/contacts/{_id(contact_id)}/notes",
            location_id=location_id,
            json=payload,
            max_wait=max_wait,
        )
        return self._parse(Note, _field(answer, "note"), operation)

    async def list_notes(
        self, *, location_id: str, contact_id: str, max_wait: float | None = None
    ) -> list[Note]:
        """`GET /contacts/{id}/notes`: the contact's notes (to check a retried note).

        Raises:
            GhlRejected, GhlRetryable, GhlAuthError: See `dentalvoice.crm.errors`.
        """
        operation = "list_notes"
        body = await self._request(
            operation,
            "GET",
            f"/contacts/{_id(contact_id)}/notes",
            location_id=location_id,
            max_wait=max_wait,
        )
        return self._parse_list(Note, body, "notes", operation)

    async def list_contact_appointments(
        self, *, location_id: str, contact_id: str, max_wait: float | None = None
    ) -> list[Appointment]:
        """`GET /contacts/{id}/appointments`: the contact's appointments (to avoid double booking).

        Raises:
            GhlRejected, GhlRetryable, GhlAuthError: See `dentalvoice.crm.errors`.
        """
        operation = "list_contact_appointments"
        body = await self._request(
            operation,
            "GET",
            f"/contacts/{_id(contact_id)}/appointments",
            location_id=location_id,
            max_wait=max_wait,
        )
        return self._parse_list(Appointment, body, "events", operation)

    # -- opportunities ------------------------------------------------------------------------

    async def search_opportunities(
        self,
        *,
        location_id: str,
        contact_id: str | None = None,
        pipeline_id: str | None = None,
        pipeline_stage_id: str | None = None,
        status: OpportunityStatus | Literal["all"] | None = None,
        limit: int = 20,
        max_wait: float | None = None,
    ) -> list[Opportunity]:
        """`GET /opportunities/search` (its query parameters are snake_case, unlike the rest).

        Args:
            location_id: The GHL location.
            contact_id: Only this contact's opportunities.
            pipeline_id: Only this pipeline's.
            pipeline_stage_id: Only this stage's.
            status: Only this status (`all` for every status).
            limit: Page size, 1-100 (only the first page is read).
            max_wait: See the class docstring.

        Raises:
            ValueError: `limit` out of range.
            GhlRejected, GhlRetryable, GhlAuthError: See `dentalvoice.crm.errors`.
        """
        if not 1 <= limit <= 100:
            raise ValueError("limit must be 1-100")
        params: QueryParams = {
            "location_id": location_id,
            "contact_id": contact_id,
            "pipeline_id": pipeline_id,
            "pipeline_stage_id": pipeline_stage_id,
            "status": status,
            "limit": limit,
        }
        operation = "search_opportunities"
        body = await self._request(
            operation,
            "GET",
            "/opportunities/search",
            location_id=location_id,
            params=params,
            max_wait=max_wait,
        )
        return self._parse_list(Opportunity, body, "opportunities", operation)

    async def create_opportunity(
        self,
        *,
        location_id: str,
        pipeline_id: str,
        contact_id: str,
        name: str,
        pipeline_stage_id: str | None = None,
        status: OpportunityStatus = "open",
        monetary_value: float | None = None,
        assigned_to: str | None = None,
        max_wait: float | None = None,
    ) -> Opportunity:
        """`POST /opportunities/`: open an opportunity for a contact.

        Not idempotent: check with `search_opportunities(contact_id=…)` before re-sending.

        Raises:
            GhlRejected, GhlRetryable, GhlAuthError: See `dentalvoice.crm.errors`.
        """
        payload: dict[str, Any] = {
            "pipelineId": pipeline_id,
            "locationId": location_id,
            "name": name,
            "status": status,
            "contactId": contact_id,
        }
        if pipeline_stage_id:
            payload["pipelineStageId"] = pipeline_stage_id
        if monetary_value is not None:
            payload["monetaryValue"] = monetary_value
        if assigned_to:
            payload["assignedTo"] = assigned_to
        operation = "create_opportunity"
        body = await self._request(
            operation,
            "POST",
            "/opportunities/",
            location_id=location_id,
            json=payload,
            max_wait=max_wait,
        )
        return self._parse(Opportunity, _field(body, "opportunity"), operation)

    async def update_opportunity(
        self,
        *,
        location_id: str,
        opportunity_id: str,
        pipeline_id: str,
        pipeline_stage_id: str,
        status: OpportunityStatus | None = None,
        name: str | None = None,
        monetary_value: float | None = None,
        max_wait: float | None = None,
    ) -> Opportunity:
        """`PUT /opportunities/{id}`: move it to a stage (the pipeline is always sent with it).

        Raises:
            GhlRejected, GhlRetryable, GhlAuthError: See `dentalvoice.crm.errors`.
        """
        payload: dict[str, Any] = {"pipelineId": pipeline_id, "pipelineStageId": pipeline_stage_id}
        if status is not None:
            payload["status"] = status
        if name:
            payload["name"] = name
        if monetary_value is not None:
            payload["monetaryValue"] = monetary_value
        operation = "update_opportunity"
        body = await self._request(
            operation,
            "PUT",
            f"/opportunities/{_id(opportunity_id)}",
            location_id=location_id,
            json=payload,
            max_wait=max_wait,
        )
        return self._parse(Opportunity, _field(body, "opportunity"), operation)

    # -- calendars ----------------------------------------------------------------------------

    async def get_free_slots(
        self,
        *,
        location_id: str,
        calendar_id: str,
        start_day: date,
        end_day: date,
        timezone: str,
        user_id: str | None = None,
        max_wait: float | None = None,
    ) -> list[datetime]:
        """`GET /calendars/{id}/free-slots` for whole local days in `timezone`.

        The range is sent as epoch milliseconds from `start_day` 00:00 to the last millisecond
        of `end_day`, both in `timezone`, which is also passed so GHL writes the slots in it.

        Args:
            location_id: The GHL location.
            calendar_id: The calendar.
            start_day: First local day.
            end_day: Last local day (inclusive); at most 31 days counting `start_day`.
            timezone: IANA zone of the days (the clinic's).
            user_id: Only this team member's slots.
            max_wait: See the class docstring; pass a small one while the lead is on the line.

        Returns:
            The free start times, aware, in `timezone`, sorted, without duplicates.

        Raises:
            ValueError: An unknown zone, `end_day` before `start_day`, or more than 31 days.
            GhlRejected, GhlRetryable, GhlAuthError: See `dentalvoice.crm.errors`.
        """
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        days = (end_day - start_day).days + 1
        if days < 1:
            raise ValueError("end_day is before start_day")
        if days > MAX_FREE_SLOT_DAYS:
            raise ValueError(f"GHL returns free slots for at most {MAX_FREE_SLOT_DAYS} days")
        start = datetime.combine(start_day, time.min, zone)
        end = datetime.combine(end_day + timedelta(days=1), time.min, zone)
        params: QueryParams = {
            "startDate": _epoch_ms(start),
            "endDate": _epoch_ms(end) - 1,
            "timezone": timezone,
            "userId": user_id,
        }
        body = await self._request(
            "get_free_slots",
            "GET",
            f"/calendars/{_id(calendar_id)}/free-slots",
            location_id=location_id,
            version=CALENDARS_VERSION,
            params=params,
            max_wait=max_wait,
        )
        slots: set[datetime] = set()
        unreadable = 0
        for key, day in body.items() if isinstance(body, dict) else ():
            if not _DAY_KEY.fullmatch(key) or not isinstance(day, dict):
                continue
            for raw in day.get("slots") or ():
                moment = parse_ghl_time(raw, timezone) if isinstance(raw, str) else None
                if moment is None:
                    unreadable += 1
                else:
                    slots.add(moment.astimezone(zone))
        if unreadable:
            logger.debug("ghl get_free_slots: {} unreadable slots skipped", unreadable)
        return sorted(slots)

    async def create_appointment(
        self,
        *,
        location_id: str,
        calendar_id: str,
        contact_id: str,
        start: datetime,
        end: datetime | None = None,
        title: str | None = None,
        assigned_user_id: str | None = None,
        appointment_status: AppointmentStatus | None = None,
        max_wait: float | None = None,
    ) -> Appointment:
        """`POST /calendars/events/appointments`: book a slot for the contact.

        Not idempotent: check `list_contact_appointments` before re-sending.

        Args:
            location_id: The GHL location.
            calendar_id: The calendar.
            contact_id: The contact.
            start: The slot's start, timezone-aware (sent with its offset).
            end: Its end (GHL uses the calendar's slot length when absent).
            title: The appointment title.
            assigned_user_id: The team member, required by round-robin/collective calendars.
            appointment_status: E.g. `confirmed`; GHL's default when None.
            max_wait: See the class docstring.

        Returns:
            The appointment (GHL answers with a flat object, not wrapped).

        Raises:
            ValueError: A naive `start` or `end`, or `end` not after `start`.
            GhlRejected, GhlRetryable, GhlAuthError: See `dentalvoice.crm.errors`.
        """
        if start.tzinfo is None or (end is not None and end.tzinfo is None):
            raise ValueError("appointment times must be timezone-aware")
        if end is not None and end <= start:
            raise ValueError("end must be after start")
        payload: dict[str, Any] = {
            "calendarId": calendar_id,
            "locationId": location_id,
            "contactId": contact_id,
            "startTime": start.isoformat(timespec="seconds"),
        }
        if end is not None:
            payload["endTime"] = end.isoformat(timespec="seconds")
        if title:
            payload["title"] = title
        if assigned_user_id:
            payload["assignedUserId"] = assigned_user_id
        if appointment_status:
            payload["appointmentStatus"] = appointment_status
        operation = "create_appointment"
        body = await self._request(
            operation,
            "POST",
            "/calendars/events/appointments",
            location_id=location_id,
            version=CALENDARS_VERSION,
            json=payload,
            max_wait=max_wait,
        )
        return self._parse(Appointment, body, operation)

    # -- locations ----------------------------------------------------------------------------

    async def list_custom_fields(
        self,
        *,
        location_id: str,
        model: CustomFieldModel | None = None,
        max_wait: float | None = None,
    ) -> list[CustomField]:
        """`GET /locations/{id}/customFields`: the location's custom-field definitions.

        Args:
            location_id: The GHL location.
            model: `contact`, `opportunity` or `all` (None: GHL's default).
            max_wait: See the class docstring.

        Raises:
            GhlRejected, GhlRetryable, GhlAuthError: See `dentalvoice.crm.errors`.
        """
        operation = "list_custom_fields"
        body = await self._request(
            operation,
            "GET",
            f"/locations/{_id(location_id)}/customFields",
            location_id=location_id,
            params={"model": model},
            max_wait=max_wait,
        )
        return self._parse_list(CustomField, body, "customFields", operation)

    async def _all_custom_fields(self, location_id: str) -> list[CustomField]:
        return await self.list_custom_fields(location_id=location_id, model="all")

    # -- plumbing -----------------------------------------------------------------------------

    async def _request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        location_id: str,
        version: str = VERSION,
        params: QueryParams | None = None,
        json: JsonBody | None = None,
        max_wait: float | None = None,
    ) -> Any:
        if not location_id:
            raise ValueError("location_id is empty")
        send = functools.partial(
            self._send,
            operation=operation,
            method=method,
            path=path,
            location_id=location_id,
            version=version,
            params=params,
            json=json,
            max_wait=self._max_wait_s if max_wait is None else max_wait,
        )
        token = await self.tokens.token(location_id)
        response = await send(token=token)
        if response.status_code == 401:
            # The request was refused before GHL acted on it, so sending it again is safe even
            # for a write. A second 401 means the new token is no better: give up.
            _, trace = error_details(response)
            logger.debug("ghl {}: 401 for {} traceId={}, renewing", operation, location_id, trace)
            token = await self.tokens.refresh(location_id, rejected=token)
            response = await send(token=token)
            if response.status_code == 401:
                message, trace = error_details(response)
                detail = "token refused after renewal"
                if message:
                    detail += f": {message[:200]}"
                if trace:
                    detail += f" traceId={trace}"
                raise GhlAuthError(detail, location_id=location_id, operation=operation)
        if not 200 <= response.status_code < 300:
            raise status_error(response, operation=operation)
        return json_body(response, operation=operation)

    async def _send(
        self,
        *,
        operation: str,
        method: str,
        path: str,
        location_id: str,
        version: str,
        params: QueryParams | None,
        json: JsonBody | None,
        max_wait: float,
        token: str,
    ) -> httpx.Response:
        await self.limiter.acquire(location_id, max_wait=max_wait)
        response = await self.transport.send(
            method,
            path,
            operation=operation,
            version=version,
            token=token,
            params=params,
            json=json,
            retry_connect=method == "GET",
        )
        info = RateLimitInfo.from_headers(response.headers)
        self.rate_limits[location_id] = info
        if response.status_code == 429:
            error = rate_limited(
                info,
                operation=operation,
                location_id=location_id,
                daily_retry_s=self._daily_retry_s,
                jitter=self._jitter,
            )
            assert error.retry_after is not None
            # Other callers in this process (and, with Redis, every process) wait too.
            await self.limiter.block(location_id, error.retry_after)
            logger.info(
                "ghl {}: 429 ({}) for {}, retry after {:.1f}s",
                operation,
                error.kind,
                location_id,
                error.retry_after,
            )
            raise error
        if info.burst_exhausted:
            # GHL says its window is spent: the next request would be a 429.
            await self.limiter.block(location_id, info.interval_s or 10.0)
        return response

    @staticmethod
    def _parse(model: type[_M], data: Any, operation: str) -> _M:
        try:
            return model.model_validate(data)
        except ValidationError:
            # `from None`: pydantic's error quotes the input, which can hold PHI.
            raise GhlRetryable(
                f"unexpected response shape for {model.__name__}",
                operation=operation,
                maybe_applied=True,
            ) from None

    @classmethod
    def _parse_list(cls, model: type[_M], body: Any, key: str, operation: str) -> list[_M]:
        items = body.get(key) if isinstance(body, dict) else None
        if items is None:
            return []
        if not isinstance(items, list):
            raise GhlRetryable(
                f"unexpected response shape: {key} is not a list", operation=operation
            )
        return [cls._parse(model, item, operation) for item in items]


def _field(body: Any, key: str) -> Any:
    return body.get(key) if isinstance(body, dict) else None


def _field_value(value: CustomFieldValue) -> str | int | float | list[str]:
    if isinstance(value, str | int | float):
        return value
    return [str(v) for v in value]


def open_ghl_client(
    settings: Settings,
    *,
    db: Database | None = None,
    redis: Redis | None = None,
    tokens: TokenProvider | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> GhlClient:
    """Build the process's GHL client from settings (call inside the running event loop).

    Args:
        settings: GHL_* settings (base URL, timeouts, OAuth app, rate limit, value key).
        db: The database holding credentials (OAuth grants and clinics' private tokens);
            needed unless `tokens` is given.
        redis: Shares the rate-limit buckets between processes when given.
        tokens: A token provider to use instead of the database (the emulator, tests).
        http_transport: An httpx transport to send through (tests).
        clock: The wall clock for token expiry.

    Returns:
        The client; `await client.aclose()` on shutdown.

    Raises:
        ValueError: Neither `db` nor `tokens` was given.
    """
    if tokens is None and db is None:
        raise ValueError("open_ghl_client needs db (stored credentials) or tokens")
    transport = GhlTransport(
        base_url=str(settings.ghl_api_base_url),
        timeout=httpx.Timeout(
            connect=settings.ghl_connect_timeout_s,
            read=settings.ghl_read_timeout_s,
            write=settings.ghl_write_timeout_s,
            pool=settings.ghl_pool_timeout_s,
        ),
        transport=http_transport,
    )
    oauth = None
    if settings.ghl_client_id and settings.ghl_client_secret:
        oauth = GhlOAuth(
            transport,
            client_id=settings.ghl_client_id,
            client_secret=settings.ghl_client_secret.get_secret_value(),
            redirect_uri=(
                str(settings.ghl_oauth_redirect_uri) if settings.ghl_oauth_redirect_uri else None
            ),
        )
    provider = tokens
    if provider is None:
        assert db is not None
        provider = StoredTokens(
            db,
            oauth=oauth,
            refresh_margin=timedelta(seconds=settings.ghl_token_refresh_margin_s),
            clock=clock,
        )
    capacity, window = settings.ghl_rate_limit_requests, settings.ghl_rate_limit_window_s
    limiter: RateLimiter = (
        RedisTokenBucket(redis, capacity, window)
        if redis is not None
        else TokenBucket(capacity, window)
    )
    return GhlClient(
        tokens=provider,
        transport=transport,
        limiter=limiter,
        custom_field_value_key=settings.ghl_custom_field_value_key,
        max_wait_s=settings.ghl_rate_limit_max_wait_s,
    )
