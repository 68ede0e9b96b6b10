"""Check requests against GHL's official OpenAPI files, one file per API, each loaded once.

GHL publishes one OpenAPI document per service (`apps/contacts.json`, `apps/calendars.json`,
...) under `../shared/specs/ghl/` beside the repository. A request is routed to its file by
the first path segment (`/contacts/...` → `contacts.json`) and checked by openapi-core for
path, method, parameters (including the `Version` header's single allowed value), security
and body schema. Each file is parsed on first use and cached for the process; openapi-core's
own check of the documents is skipped (they are GHL's, pinned by hash in SOURCE.md), and
openapi-core is imported only when the first file is loaded (~0.3 s, most of it the import;
each further file 1-3 ms). A warm check costs about 1-2 ms (5 ms for the 21-parameter
`GET /opportunities/search`), so the emulator validates inline.

Only requests are checked, never responses. Upstream defects, and what is done about them:

- Properties typed `object` whose examples (and GHL) are scalars: numeric/monetary contact
  custom field values, `dateOfBirth`, upsert `monetaryValue`. A documented request would
  fail, so `_QUIRKS` patches the loaded document, only while the defect is still there.
- Custom field items are an `anyOf` of shapes without `additionalProperties: false`, so any
  object with an `id` passes and `fieldValue`/`value` keys are not rejected; left as is
  (GHL accepts them too). Opportunity items document no numeric value: send strings.
- `POST /opportunities/` is documented with a trailing slash; both spellings are accepted.
- `POST /opportunities/upsert` requires `followers`, `isRemoveAllFollowers` and
  `followersActionType` and has no `contactId`: checked as written, not emulated.
- The free-slots response is an object keyed by date (older files: a `_dates_` placeholder)
  and several response dates are typed `object`: responses are not validated.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    import httpx
    from openapi_core import OpenAPI

# src/dentalvoice/emulators/ghl/spec.py → parents[4] is the repository root.
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[4].parent / "shared" / "specs" / "ghl"
# The specs' only server; requests are checked as if they had been sent there.
SPEC_HOST = "https://services.leadconnectorhq.com"
VERSION = "2021-07-28"
CALENDARS_VERSION = "2021-04-15"
# First path segment → the app file that documents it.
APP_FILES: Mapping[str, str] = {
    "contacts": "apps/contacts.json",
    "opportunities": "apps/opportunities.json",
    "calendars": "apps/calendars.json",
    "locations": "apps/locations.json",
    "oauth": "apps/oauth.json",
    "custom-fields": "apps/custom-fields.json",
}

Where = Literal["route", "security", "header", "query", "path", "cookie", "body"]

# (app, schema, property): the property is typed `object` although its documented example,
# and GHL itself, use a scalar (NestJS `Object`-typed fields). Requests following the docs
# would fail, so the loaded document gets the example's type instead.
_QUIRKS: tuple[tuple[str, str, str, str], ...] = (
    # Numeric / monetary contact custom fields: `field_value` example 100 / 100.5.
    ("contacts", "NumericField", "field_value", "number"),
    ("contacts", "MonetoryField", "field_value", "number"),
    # Contact birth dates: example "1990-09-25" and a list of string formats.
    ("contacts", "UpdateContactDto", "dateOfBirth", "string"),
    ("contacts", "CreateContactDto", "dateOfBirth", "string"),
    ("contacts", "UpsertContactDto", "dateOfBirth", "string"),
    # Opportunity upsert: `monetaryValue` example 220 (create/update type it `number`).
    ("opportunities", "UpsertOpportunityDto", "monetaryValue", "number"),
)
_REQUIRED = re.compile(r"^'(.+)' is a required property$")


class SpecNotFoundError(FileNotFoundError):
    """The GHL OpenAPI files are not where they were expected."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One way a request breaks the spec.

    Attributes:
        field: The parameter or body field (`Version`, `customFields[0].id`), or None.
        reason: Why, without echoing the value.
        where: Which part of the request: `route` (no such path or method), `security`,
            `header`, `query`, `path`, `body`.
    """

    field: str | None
    reason: str
    where: Where = "body"

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


@dataclass
class _SpecRequest:
    """A request in the shape openapi-core's `Request` protocol asks for."""

    method: str
    path: str
    body: bytes | None
    content_type: str
    parameters: Any
    host_url: str = SPEC_HOST


class GhlSpec:
    """GHL's API files under one directory; each file is loaded on first use.

    Attributes:
        spec_dir: The directory holding `apps/` and `common/`.
        load_s: Seconds each app file took to load (import, parse, build), by app name.
        quirks_applied: The `(app, schema, property)` patches applied so far.
    """

    def __init__(self, spec_dir: Path) -> None:
        """Use `load_ghl_spec`, which checks the directory and caches the object."""
        self.spec_dir = spec_dir
        self.load_s: dict[str, float] = {}
        self.quirks_applied: list[tuple[str, str, str]] = []
        self._apps: dict[str, OpenAPI] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GhlSpec({str(self.spec_dir)!r}, loaded={sorted(self._apps)})"

    @staticmethod
    def app_for(path: str) -> str | None:
        """The app whose file documents `path` (`contacts`, `calendars`, ...), or None."""
        first = path.lstrip("/").split("/", 1)[0]
        return first if first in APP_FILES else None

    def openapi(self, app: str) -> OpenAPI:
        """The openapi-core object for `app`, loaded on first use.

        Raises:
            KeyError: Not one of `APP_FILES`.
            SpecNotFoundError: Its file is missing.
        """
        with self._lock:
            loaded = self._apps.get(app)
            if loaded is None:
                started = time.perf_counter()
                loaded, applied = _load_app(self.spec_dir / APP_FILES[app], app)
                self._apps[app] = loaded
                self.quirks_applied.extend(applied)
                self.load_s[app] = time.perf_counter() - started
            return loaded

    def check(
        self,
        *,
        method: str,
        path: str,
        headers: Mapping[str, str],
        query: str = "",
        body: bytes = b"",
    ) -> list[Problem]:
        """Validate one request: path, method, parameters, security and body.

        Args:
            method: The HTTP method.
            path: The request path, e.g. `/contacts/ocQHyuzHvysMo5N5VsXc`.
            headers: The request headers (names in any case); `Content-Type` picks the body
                media type.
            query: The raw query string.
            body: The raw body.

        Returns:
            The problems found; empty when the request matches the spec.
        """
        app = self.app_for(path)
        if app is None:
            return [Problem(None, f"no GHL API documents {path}", "route")]
        openapi = self.openapi(app)
        request = _request(method, path, headers, query, body)
        # The lock: openapi-core builds validators lazily and is not documented thread-safe;
        # a check takes 1-4 ms, so callers on several threads barely wait.
        with self._lock:
            errors = list(openapi.iter_request_errors(request))
            if _path_not_found(errors) and path not in ("", "/"):
                # GHL documents some collections with a trailing slash (`POST /opportunities/`)
                # and serves both spellings; try the other one before calling it unknown.
                other = path[:-1] if path.endswith("/") else path + "/"
                retry = list(
                    openapi.iter_request_errors(_request(method, other, headers, query, body))
                )
                if not _path_not_found(retry):
                    errors = retry
        return [problem for error in errors for problem in _problems(error)]

    def check_request(self, request: httpx.Request) -> list[Problem]:
        """`check` an `httpx.Request`, e.g. one a client sent to an `httpx.MockTransport`."""
        return self.check(
            method=request.method,
            path=request.url.path,
            headers=dict(request.headers),
            query=request.url.query.decode("ascii"),
            body=request.content,
        )


_cache_lock = threading.Lock()


def load_ghl_spec(spec_dir: Path | str | None = None) -> GhlSpec:
    """GHL's specs at `spec_dir` (default `DEFAULT_SPEC_DIR`), one object per directory.

    Cheap: the app files are read only when a request for them is first checked. Safe to call
    from any thread.

    Args:
        spec_dir: The directory holding `apps/` and `common/`.

    Returns:
        The validator.

    Raises:
        SpecNotFoundError: The directory has no `apps/contacts.json`.
    """
    # Resolved either way: the shared checkout may be a symlink, and one object per directory.
    resolved = (Path(spec_dir) if spec_dir is not None else DEFAULT_SPEC_DIR).resolve()
    if not (resolved / APP_FILES["contacts"]).is_file():
        raise SpecNotFoundError(
            f"GHL OpenAPI specs not found under {resolved}; expected the shared checkout "
            "beside the repository (../shared/specs/ghl/apps/*.json) or pass spec_dir"
        )
    with _cache_lock:
        return _spec_for(resolved)


@functools.cache
def _spec_for(spec_dir: Path) -> GhlSpec:
    return GhlSpec(spec_dir)


def _load_app(path: Path, app: str) -> tuple[OpenAPI, list[tuple[str, str, str]]]:
    from jsonschema_path import SchemaPath
    from openapi_core import Config, OpenAPI

    if not path.is_file():
        raise SpecNotFoundError(f"GHL OpenAPI file not found: {path}")
    document = json.loads(path.read_text(encoding="utf-8"))
    applied = _apply_quirks(app, document)
    # base_uri lets `../common/common-schemas.json#/...` references resolve from the file.
    spec = SchemaPath.from_dict(document, base_uri=path.as_uri())
    return OpenAPI(spec, config=Config(spec_validator_cls=None)), applied


def _apply_quirks(app: str, document: dict[str, Any]) -> list[tuple[str, str, str]]:
    schemas = document.get("components", {}).get("schemas", {})
    applied = []
    for quirk_app, schema, prop, new_type in _QUIRKS:
        target = schemas.get(schema, {}).get("properties", {}).get(prop)
        # Patch only while the defect is still there: a fixed upstream file stays untouched.
        if quirk_app == app and isinstance(target, dict) and target.get("type") == "object":
            target["type"] = new_type
            applied.append((app, schema, prop))
    return applied


def _request(
    method: str, path: str, headers: Mapping[str, str], query: str, body: bytes
) -> _SpecRequest:
    from openapi_core.datatypes import RequestParameters
    from werkzeug.datastructures import Headers, ImmutableMultiDict

    header_map = Headers(list(headers.items()))
    return _SpecRequest(
        method=method.lower(),
        path=path,
        body=body or None,
        content_type=header_map.get("Content-Type", "application/json"),
        parameters=RequestParameters(
            query=ImmutableMultiDict(parse_qsl(query, keep_blank_values=True)),
            header=header_map,
        ),
    )


def _path_not_found(errors: list[Exception]) -> bool:
    from openapi_core.templating.paths.exceptions import PathNotFound

    return any(isinstance(e, PathNotFound) for e in errors)


def _problems(error: Exception) -> list[Problem]:
    """Turn one openapi-core error into problems that name the field."""
    from openapi_core.casting.schemas.exceptions import CastError
    from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
    from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
    from openapi_core.validation.request.exceptions import (
        MissingRequestBody,
        MissingRequiredParameter,
        ParameterValidationError,
        SecurityValidationError,
    )
    from openapi_core.validation.schemas.exceptions import InvalidSchemaValue

    cause = error.__cause__
    if isinstance(error, PathNotFound):
        return [Problem(None, "no such path in GHL's API", "route")]
    if isinstance(error, OperationNotFound):
        return [Problem(None, f"{error.method.upper()} is not allowed on this path", "route")]
    if isinstance(error, SecurityValidationError):
        return [Problem("Authorization", "a Bearer token is required", "security")]
    if isinstance(error, ParameterValidationError):
        where: Where = error.location if error.location in ("header", "query", "path") else "query"  # type: ignore[assignment]
        if isinstance(error, MissingRequiredParameter):
            return [Problem(error.name, "is required", where)]
        if isinstance(cause, CastError):
            return [Problem(error.name, f"must be a {cause.type}", where)]
        if isinstance(cause, InvalidSchemaValue):
            return [_schema_problem(e, error.name, where) for e in cause.schema_errors] or [
                Problem(error.name, "is invalid", where)
            ]
        return [Problem(error.name, str(error), where)]
    if isinstance(error, MissingRequestBody):
        return [Problem("body", "is required")]
    if isinstance(cause, MediaTypeNotFound):
        wanted = " or ".join(cause.availableMimetypes)
        return [Problem("Content-Type", f"must be {wanted}", "header")]
    if isinstance(cause, InvalidSchemaValue):
        return [_schema_problem(e, None, "body") for e in cause.schema_errors] or [
            Problem("body", "is invalid")
        ]
    if cause is not None and type(cause).__name__ == "MediaTypeDeserializeError":
        return [Problem("body", "could not be parsed as the declared Content-Type")]
    return [Problem(None, str(error), "body")]


def _schema_problem(error: Exception, name: str | None, where: Where) -> Problem:
    """A jsonschema error as a problem naming the deepest field it is about."""
    from jsonschema.exceptions import ValidationError, best_match  # type: ignore[import-untyped]

    if not isinstance(error, ValidationError):
        return Problem(name, str(error), where)
    closest: ValidationError = error
    if error.validator in ("anyOf", "oneOf") and error.context:
        # Report the branch that came closest, so "customFields[0].id: is required" is said
        # rather than "matches none of 9 schemas".
        closest = best_match(error.context)
    parts = list(closest.absolute_path)
    if closest.validator == "required":
        match = _REQUIRED.match(closest.message)
        if match:
            parts.append(match.group(1))
    field = _dotted(parts) or name
    if name and parts and field != name:
        field = f"{name}.{field}"
    return Problem(field, _reason(closest), where)


def _reason(error: Any) -> str:
    # Reasons never repeat the offending value: a 422 body may end up in logs.
    if error.validator == "required":
        return "is required"
    if error.validator == "type":
        kinds = error.validator_value
        listed = " or ".join(kinds) if isinstance(kinds, list) else str(kinds)
        return f"must be of type {listed}"
    if error.validator == "enum":
        return "must be one of: " + ", ".join(str(v) for v in error.validator_value)
    if error.validator in ("anyOf", "oneOf"):
        return "does not match any allowed shape"
    return f"fails the spec's {error.validator!r} rule"


def _dotted(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
