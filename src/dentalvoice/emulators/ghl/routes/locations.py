"""Sub-Account API (`apps/locations.json`): the location itself and its custom fields."""

from __future__ import annotations

from dentalvoice.emulators.ghl.errors import not_found
from dentalvoice.emulators.ghl.routing import Ctx, Reply, Route
from dentalvoice.emulators.ghl.views import custom_field_json, location_json


def get_location(ctx: Ctx) -> Reply:
    """`GET /locations/{locationId}`: a Location token for it, or its company's token."""
    location = ctx.state.locations.get(ctx.params["locationId"])
    if location is None:
        raise not_found("Location")
    ctx.require_location(location.id)
    return Reply(200, {"location": location_json(location)})


def list_custom_fields(ctx: Ctx) -> Reply:
    """`GET /locations/{locationId}/customFields?model=contact|opportunity|all`."""
    location_id = ctx.params["locationId"]
    ctx.require_location(location_id)
    model = ctx.arg("model") or "all"
    fields = ctx.state.fields_of(location_id, None if model == "all" else model)
    return Reply(200, {"customFields": [custom_field_json(f) for f in fields]})


ROUTES = (
    Route(
        "GET",
        "/locations/{locationId}/customFields",
        list_custom_fields,
        "locations/customFields.readonly",
    ),
    Route("GET", "/locations/{locationId}", get_location, "locations.readonly", access="any"),
)
