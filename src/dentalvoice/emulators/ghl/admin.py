"""Routes under `/_emulator/` for tests, the demo and benchmarks running the emulator apart.

Not GHL's: they seed and read state, inject faults and read the request log. No token is
needed (the emulator listens on loopback); nothing here is rate-limited or logged.

| route | does |
|---|---|
| `GET /_emulator/state` | counts of everything held |
| `GET /_emulator/contacts/{id}` | one contact's tags, fields, notes, opportunities, appointments |
| `GET /_emulator/requests?method=&path=&path_prefix=&status=` | the request log |
| `DELETE /_emulator/requests` | empty the log |
| `GET /_emulator/faults` / `POST` / `DELETE` / `DELETE /_emulator/faults/{id}` | faults |
| `POST /_emulator/tokens/expire` `{"token"}` or `{"location_id"}` | expire tokens now |
| `POST /_emulator/authorization-codes` `{"client_id", "location_id"?, ...}` | a consent code |
| `POST /_emulator/seed` (a seed document, see `seeding`) | add data |
| `POST /_emulator/reset` | forget everything |
| `POST /_emulator/clock` `{"advance_s"}` | move a `ManualClock` |
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from dentalvoice.emulators.ghl.clock import ManualClock
from dentalvoice.emulators.ghl.errors import GhlError, bad_request
from dentalvoice.emulators.ghl.routing import Reply

if TYPE_CHECKING:
    from dentalvoice.emulators.ghl.emulator import GhlEmulator

PREFIX = "/_emulator/"
_CONTACT = re.compile(r"^/_emulator/contacts/(?P<id>[^/]+)$")
_FAULT = re.compile(r"^/_emulator/faults/(?P<id>[^/]+)$")
_FAULT_FIELDS = ("kind", "status", "count", "duration_s", "method", "path", "hang_s")


def dispatch(
    emulator: GhlEmulator, method: str, path: str, query: dict[str, list[str]], body: bytes
) -> Reply:
    """Answer one admin request.

    Raises:
        GhlError: 404 for an unknown admin route, 400 for a bad body.
    """
    path = path.rstrip("/") or path
    if method == "GET" and path == "/_emulator/state":
        return Reply(200, emulator.summary())
    if method == "GET" and (found := _CONTACT.match(path)):
        if found["id"] not in emulator.state.contacts:
            raise GhlError(404, "Contact not found")
        return Reply(200, emulator.contact_state(found["id"]))
    if path == "/_emulator/requests":
        return _requests(emulator, method, query)
    if path == "/_emulator/faults" or _FAULT.match(path):
        return _faults(emulator, method, path, body)
    if method == "POST" and path == "/_emulator/tokens/expire":
        data = _json(body)
        count = emulator.expire_tokens(token=data.get("token"), location_id=data.get("location_id"))
        return Reply(200, {"expired": count})
    if method == "POST" and path == "/_emulator/authorization-codes":
        data = _json(body)
        try:
            code = emulator.issue_authorization_code(**data)
        except (KeyError, TypeError) as exc:
            raise bad_request(f"cannot issue a code: {exc}") from None
        return Reply(201, {"code": code})
    if method == "POST" and path == "/_emulator/seed":
        try:
            return Reply(201, emulator.seed(_json(body)))
        except (KeyError, TypeError, ValueError) as exc:
            raise bad_request(f"bad seed document: {exc}") from None
    if method == "POST" and path == "/_emulator/reset":
        emulator.reset()
        return Reply(200, {"reset": True})
    if method == "POST" and path == "/_emulator/clock":
        return _clock(emulator, _json(body))
    raise GhlError(404, f"Cannot {method} {path}")


def _requests(emulator: GhlEmulator, method: str, query: dict[str, list[str]]) -> Reply:
    if method == "DELETE":
        count = len(emulator.log.records)
        emulator.log.clear()
        return Reply(200, {"cleared": count})
    if method != "GET":
        raise GhlError(404, f"Cannot {method} /_emulator/requests")

    def arg(name: str) -> str | None:
        return query[name][-1] if query.get(name) else None

    status = arg("status")
    records = emulator.log.matching(
        method=arg("method"),
        path=arg("path"),
        path_prefix=arg("path_prefix"),
        status=int(status) if status and status.isdigit() else None,
    )
    return Reply(200, {"requests": [r.as_json() for r in records]})


def _faults(emulator: GhlEmulator, method: str, path: str, body: bytes) -> Reply:
    one = _FAULT.match(path)
    if method == "DELETE":
        return Reply(200, {"cleared": emulator.clear_faults(one["id"] if one else None)})
    if one is None and method == "GET":
        return Reply(200, {"faults": [f.summary() for f in emulator.faults.active()]})
    if one is None and method == "POST":
        data = _json(body)
        unknown = set(data) - set(_FAULT_FIELDS)
        if unknown:
            raise bad_request(f"unknown fault fields: {', '.join(sorted(unknown))}")
        try:
            fault = emulator.inject_fault(**data)
        except (TypeError, ValueError) as exc:
            raise bad_request(str(exc)) from None
        return Reply(201, fault.summary())
    raise GhlError(404, f"Cannot {method} {path}")


def _clock(emulator: GhlEmulator, data: dict[str, Any]) -> Reply:
    if not isinstance(emulator.clock, ManualClock):
        raise GhlError(409, "the emulator runs on the real clock", error="Conflict")
    try:
        now = emulator.clock.advance(float(data.get("advance_s", 0)))
    except (TypeError, ValueError) as exc:
        raise bad_request(str(exc)) from None
    return Reply(200, {"now": now})


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise bad_request("body must be JSON") from None
    if not isinstance(data, dict):
        raise bad_request("body must be a JSON object")
    return data
