"""The validator on its own: GHL's OpenAPI files, one per API, loaded lazily."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dentalvoice.emulators.ghl import DEFAULT_SPEC_DIR, GhlSpec, SpecNotFoundError, load_ghl_spec

from .conftest import CALENDARS_VERSION, VERSION

ROOT = Path(__file__).resolve().parents[3]
AUTH = {"Authorization": "Bearer pit-00000000-0000-4000-8000-000000000000"}
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _check(
    method: str,
    path: str,
    *,
    version: str | None = VERSION,
    auth: bool = True,
    body: Any = None,
    query: str = "",
    headers: dict[str, str] | None = None,
) -> list[str]:
    sent = {**(AUTH if auth else {}), **({"Version": version} if version else {})}
    raw = b""
    if isinstance(body, bytes):
        raw = body
    elif body is not None:
        raw = json.dumps(body).encode()
        sent.update(JSON)
    sent.update(headers or {})
    problems = load_ghl_spec().check(method=method, path=path, headers=sent, query=query, body=raw)
    return [str(p) for p in problems]


def test_the_spec_directory_is_the_shared_checkout_beside_the_repository() -> None:
    assert ROOT.parent / "shared" / "specs" / "ghl" == DEFAULT_SPEC_DIR
    assert (DEFAULT_SPEC_DIR / "apps" / "contacts.json").is_file()


def test_files_are_loaded_on_first_use_only() -> None:
    spec = GhlSpec(DEFAULT_SPEC_DIR)
    assert spec.load_s == {}

    spec.check(method="GET", path="/contacts/abc", headers={**AUTH, "Version": VERSION})

    assert list(spec.load_s) == ["contacts"]
    assert load_ghl_spec() is load_ghl_spec(DEFAULT_SPEC_DIR)


def test_a_missing_spec_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SpecNotFoundError):
        load_ghl_spec(tmp_path)


C = "ocQHyuzHvysMo5N5VsXc"
VALID: list[tuple[str, str, str | None, Any, str]] = [
    ("GET", f"/contacts/{C}", VERSION, None, ""),
    ("PUT", f"/contacts/{C}", VERSION, {"tags": ["a"], "dnd": True}, ""),
    ("POST", f"/contacts/{C}/tags", VERSION, {"tags": ["a"]}, ""),
    ("DELETE", f"/contacts/{C}/tags", VERSION, {"tags": ["a"]}, ""),
    ("POST", f"/contacts/{C}/notes", VERSION, {"body": "Called; booked."}, ""),
    ("GET", f"/contacts/{C}/notes", VERSION, None, ""),
    ("GET", f"/contacts/{C}/appointments", VERSION, None, ""),
    ("GET", "/opportunities/search", VERSION, None, f"location_id={C}&contact_id={C}"),
    ("GET", "/opportunities/pipelines", VERSION, None, f"locationId={C}"),
    (
        "POST",
        "/opportunities/",
        VERSION,
        {"pipelineId": C, "locationId": C, "name": "n", "status": "open", "contactId": C},
        "",
    ),
    ("PUT", f"/opportunities/{C}", VERSION, {"pipelineStageId": "s", "status": "won"}, ""),
    (
        "GET",
        f"/calendars/{C}/free-slots",
        CALENDARS_VERSION,
        None,
        "startDate=1893974400000&endDate=1894060800000&timezone=America/New_York",
    ),
    (
        "POST",
        "/calendars/events/appointments",
        CALENDARS_VERSION,
        {
            "calendarId": C,
            "locationId": C,
            "contactId": C,
            "startTime": "2030-01-07T09:00:00-05:00",
        },
        "",
    ),
    ("GET", f"/calendars/events/appointments/{C}", CALENDARS_VERSION, None, ""),
    ("GET", f"/locations/{C}/customFields", VERSION, None, "model=contact"),
    ("GET", f"/locations/{C}", VERSION, None, ""),
]


@pytest.mark.parametrize(("method", "path", "version", "body", "query"), VALID)
def test_documented_requests_pass(
    method: str, path: str, version: str | None, body: Any, query: str
) -> None:
    assert _check(method, path, version=version, body=body, query=query) == []


def test_the_oauth_endpoints_take_forms_and_only_location_token_wants_a_version() -> None:
    code = b"client_id=c&client_secret=s&grant_type=authorization_code&code=x"
    assert _check("POST", "/oauth/token", version=None, auth=False, body=code, headers=FORM) == []
    location = b"companyId=a&locationId=b"
    assert _check("POST", "/oauth/locationToken", body=location, headers=FORM) == []
    assert _check("POST", "/oauth/locationToken", version=None, body=location, headers=FORM) == [
        "Version: is required"
    ]


@pytest.mark.parametrize(
    ("method", "path", "version", "expected"),
    [
        ("GET", f"/contacts/{C}", CALENDARS_VERSION, "Version: must be one of: 2021-07-28"),
        ("GET", f"/contacts/{C}", None, "Version: is required"),
        (
            "GET",
            f"/calendars/events/appointments/{C}",
            VERSION,
            "Version: must be one of: 2021-04-15",
        ),
    ],
)
def test_the_version_header_is_checked_per_api(
    method: str, path: str, version: str | None, expected: str
) -> None:
    assert _check(method, path, version=version) == [expected]


def test_body_problems_name_the_field_without_echoing_values() -> None:
    problems = _check(
        "PUT",
        f"/contacts/{C}",
        body={
            "dnd": "yes",
            "dndSettings": {"Call": {"status": "sometimes"}},
            "customFields": [{"field_value": "x"}],
        },
    )

    assert sorted(problems) == [
        "customFields[0].id: is required",
        "dnd: must be of type boolean",
        "dndSettings.Call.status: must be one of: active, inactive, permanent",
    ]
    assert not any("yes" in p or "sometimes" in p for p in problems)


def test_a_missing_required_field_and_a_wrong_body_type_are_named() -> None:
    assert _check("POST", f"/contacts/{C}/notes", body={"title": "x"}) == ["body: is required"]
    assert _check("POST", f"/contacts/{C}/tags", body={"tags": "vip"}) == [
        "tags: must be of type array"
    ]
    assert _check("POST", f"/contacts/{C}/notes", body=b"body=x", headers=FORM) == [
        "Content-Type: must be application/json"
    ]
    assert _check("POST", f"/contacts/{C}/notes", body=b"{oops", headers=JSON) == [
        "body: could not be parsed as the declared Content-Type"
    ]


def test_query_parameters_are_cast_and_checked() -> None:
    assert _check(
        "GET",
        f"/calendars/{C}/free-slots",
        version=CALENDARS_VERSION,
        query="startDate=tomorrow&endDate=1",
    ) == ["startDate: must be a number"]
    assert _check("GET", "/opportunities/search", query="locationId=x") == [
        "location_id: is required"
    ]
    assert _check("GET", f"/locations/{C}/customFields", query="model=patient") == [
        "model: must be one of: contact, opportunity, all"
    ]


def test_security_and_unknown_routes_are_told_apart() -> None:
    spec = load_ghl_spec()
    anonymous = spec.check(method="GET", path=f"/contacts/{C}", headers={"Version": VERSION})
    unknown = spec.check(method="GET", path="/conversations/x", headers={})
    no_method = spec.check(method="PATCH", path=f"/contacts/{C}", headers=AUTH)

    assert [(p.field, p.where) for p in anonymous] == [("Authorization", "security")]
    assert [p.where for p in unknown] == ["route"]
    assert [str(p) for p in no_method] == ["PATCH is not allowed on this path"]


def test_spec_quirks_are_patched_narrowly() -> None:
    # Upstream types these `object` though GHL documents (and takes) numbers and strings.
    numeric = {"customFields": [{"id": "f1", "field_value": 7}], "dateOfBirth": "1990-09-25"}
    assert _check("PUT", f"/contacts/{C}", body=numeric) == []
    assert ("contacts", "NumericField", "field_value") in load_ghl_spec().quirks_applied
    # The v3 key and the third-party `value` key are accepted (no additionalProperties).
    assert (
        _check("PUT", f"/contacts/{C}", body={"customFields": [{"id": "f", "fieldValue": 1}]}) == []
    )
    # Still a real check: a boolean is no documented custom field value.
    assert _check(
        "PUT", f"/contacts/{C}", body={"customFields": [{"id": "f", "field_value": True}]}
    )


def test_a_collection_is_found_with_or_without_its_trailing_slash() -> None:
    body = {"pipelineId": C, "locationId": C, "name": "n", "status": "open", "contactId": C}
    assert _check("POST", "/opportunities", body=body) == []
    assert _check("POST", "/opportunities", body={"name": "n"}) != []


def test_a_check_costs_a_few_milliseconds() -> None:
    spec = load_ghl_spec()
    body = json.dumps({"customFields": [{"id": "f", "field_value": "x"}], "tags": ["a"]}).encode()
    headers = {**AUTH, **JSON, "Version": VERSION}
    spec.check(method="PUT", path=f"/contacts/{C}", headers=headers, body=body)
    started = time.perf_counter()
    for _ in range(50):
        spec.check(method="PUT", path=f"/contacts/{C}", headers=headers, body=body)
    per_check = (time.perf_counter() - started) / 50
    # Measured ~1-2 ms; the bound only catches a regression by an order of magnitude.
    assert per_check < 0.05


def test_an_httpx_request_can_be_checked_as_sent() -> None:
    good = httpx.Request(
        "POST",
        f"https://services.leadconnectorhq.com/contacts/{C}/tags",
        headers={**AUTH, "Version": VERSION},
        json={"tags": ["ai-called"]},
    )
    bad = httpx.Request(
        "GET",
        f"https://services.leadconnectorhq.com/calendars/{C}/free-slots",
        headers={**AUTH, "Version": VERSION},
        params={"startDate": 1, "endDate": 2},
    )

    assert load_ghl_spec().check_request(good) == []
    assert [str(p) for p in load_ghl_spec().check_request(bad)] == [
        "Version: must be one of: 2021-04-15"
    ]
