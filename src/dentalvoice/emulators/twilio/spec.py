"""Check REST requests against Twilio's official OpenAPI file, loaded once per process.

The file (`../shared/specs/twilio/twilio_api_v2010.json`, 1.8 MB) is parsed and wrapped in an
openapi-core `OpenAPI` object on first use and cached per path. openapi-core's own check of
the spec document is skipped: it takes about two seconds and the file is Twilio's, pinned by
hash in its SOURCE.md. Importing openapi-core costs most of a second, so it is imported only
when a spec is first loaded.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from openapi_core import OpenAPI

# src/dentalvoice/emulators/twilio/spec.py → parents[4] is the repository root.
DEFAULT_SPEC_PATH = (
    Path(__file__).resolve().parents[4].parent
    / "shared"
    / "specs"
    / "twilio"
    / "twilio_api_v2010.json"
)
# The spec's only server; requests are checked as if they had been sent there.
_SPEC_HOST = "https://api.twilio.com"
_REQUIRED = re.compile(r"^'(.+)' is a required property$")
_FORM = "application/x-www-form-urlencoded"


class SpecNotFoundError(FileNotFoundError):
    """The Twilio OpenAPI file is not where it was expected."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One way a request breaks the spec: the field (None when unknown) and why."""

    field: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


@dataclass(frozen=True)
class TwilioSpec:
    """The loaded spec.

    Attributes:
        path: The file it came from.
        openapi: The openapi-core object.
        load_s: Seconds it took to import openapi-core, parse the file and build the object.
        call_events: The `call_enum_event` values (`initiated`, `ringing`, ...).
    """

    path: Path
    openapi: OpenAPI
    load_s: float
    call_events: frozenset[str] = field(default_factory=frozenset)

    def check(
        self, *, method: str, path: str, authorization: str, body: bytes, query: str = ""
    ) -> list[Problem]:
        """Validate one request (path and query parameters, security, form body).

        Args:
            method: The HTTP method.
            path: The request path, e.g. `/2010-04-01/Accounts/AC…/Calls.json`.
            authorization: The `Authorization` header.
            body: The raw form-encoded body.
            query: The raw query string.

        Returns:
            The problems found; empty when the request matches the spec.
        """
        # openapi-core builds its validators lazily and is not documented as thread-safe;
        # checks run in worker threads (one takes ~10-20 ms), so they take turns.
        with _check_lock:
            return self._check(method, path, authorization, body, query)

    def _check(
        self, method: str, path: str, authorization: str, body: bytes, query: str
    ) -> list[Problem]:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        request = _SpecRequest(
            method=method.lower(),
            path=path,
            body=body,
            parameters=RequestParameters(
                query=ImmutableMultiDict(parse_qsl(query, keep_blank_values=True)),
                header=Headers({"Authorization": authorization}),
            ),
        )
        errors = list(self.openapi.iter_request_errors(request))
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        problems: list[Problem] = []
        for error in errors:
            problems.extend(_problems(error, form))
        return problems


@dataclass
class _SpecRequest:
    """A request in the shape openapi-core's `Request` protocol asks for."""

    method: str
    path: str
    body: bytes | None
    parameters: Any
    host_url: str = _SPEC_HOST
    content_type: str = _FORM


_lock = threading.Lock()
_check_lock = threading.Lock()


def load_spec(path: Path | str | None = None) -> TwilioSpec:
    """The spec at `path` (default: `DEFAULT_SPEC_PATH`), loaded on first use and cached.

    Safe to call from a worker thread to warm the cache off the event loop.

    Args:
        path: The OpenAPI JSON file.

    Returns:
        The loaded spec.

    Raises:
        SpecNotFoundError: The file does not exist.
    """
    resolved = Path(path).resolve() if path is not None else DEFAULT_SPEC_PATH
    if not resolved.is_file():
        raise SpecNotFoundError(
            f"Twilio OpenAPI spec not found at {resolved}; expected the shared checkout beside "
            "the repository (../shared/specs/twilio/twilio_api_v2010.json) or pass spec_path"
        )
    with _lock:
        return _load(resolved)


@functools.cache
def _load(path: Path) -> TwilioSpec:
    started = time.perf_counter()
    from jsonschema_path import SchemaPath
    from openapi_core import Config, OpenAPI

    document = json.loads(path.read_text(encoding="utf-8"))
    openapi = OpenAPI(SchemaPath.from_dict(document), config=Config(spec_validator_cls=None))
    events = document["components"]["schemas"]["call_enum_event"]["enum"]
    return TwilioSpec(
        path=path,
        openapi=openapi,
        load_s=time.perf_counter() - started,
        call_events=frozenset(str(e) for e in events),
    )


def _problems(error: Exception, form: dict[str, str]) -> list[Problem]:
    """Turn one openapi-core error into problems that name the field."""
    from openapi_core.casting.schemas.exceptions import CastError
    from openapi_core.validation.request.exceptions import ParameterValidationError
    from openapi_core.validation.schemas.exceptions import InvalidSchemaValue

    cause = error.__cause__
    name = error.name if isinstance(error, ParameterValidationError) else None
    if isinstance(cause, InvalidSchemaValue):
        found = [_schema_problem(e, name) for e in cause.schema_errors]
        if found:
            return found
    if isinstance(cause, CastError):
        # openapi-core names the value, not the field; find the field that carried it.
        carrier = next((k for k, v in form.items() if v == str(cause.value)), name)
        return [Problem(carrier, f"{cause.value!r} is not a valid {cause.type}")]
    return [Problem(name, str(error))]


def _schema_problem(error: Exception, name: str | None) -> Problem:
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

    if not isinstance(error, ValidationError):
        return Problem(name, str(error))
    if error.validator == "required":
        match = _REQUIRED.match(error.message)
        return Problem(match.group(1) if match else name, "is required")
    if error.path:
        return Problem(str(error.path[0]), error.message)
    return Problem(name, error.message)
