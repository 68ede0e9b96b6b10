"""Opportunities API (`apps/opportunities.json`): pipelines, search, create, update.

Search takes snake_case query parameters (`location_id`, `contact_id`, `pipeline_id`, ...)
unlike the rest of the API. A location does not allow a second opportunity for the same
contact in the same pipeline (GHL's default "allow duplicate opportunities: off"; its
400 message is third-party knowledge).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from dentalvoice.emulators.ghl.errors import GhlError, bad_request, not_found
from dentalvoice.emulators.ghl.routing import Ctx, Reply, Route
from dentalvoice.emulators.ghl.spec import SPEC_HOST
from dentalvoice.emulators.ghl.state import Opportunity, Pipeline
from dentalvoice.emulators.ghl.values import apply_custom_fields
from dentalvoice.emulators.ghl.views import opportunity_json, pipeline_json

_STATUSES = ("open", "won", "lost", "abandoned")
DUPLICATE = "Can not create duplicate opportunity for the contact."


def list_pipelines(ctx: Ctx) -> Reply:
    """`GET /opportunities/pipelines?locationId=…`."""
    location_id = ctx.arg("locationId") or ""
    ctx.require_location(location_id)
    pipelines = [p for p in ctx.state.pipelines.values() if p.location_id == location_id]
    return Reply(200, {"pipelines": [pipeline_json(p) for p in pipelines]})


def search(ctx: Ctx) -> Reply:
    """`GET /opportunities/search`: filters, newest first, `limit` (≤ 100) per `page`."""
    location_id = ctx.arg("location_id") or ""
    ctx.require_location(location_id)
    wanted = {
        "contact_id": "contact_id",
        "pipeline_id": "pipeline_id",
        "pipeline_stage_id": "stage_id",
        "assigned_to": "assigned_to",
        "id": "id",
    }
    found = [o for o in ctx.state.opportunities.values() if o.location_id == location_id]
    for param, attribute in wanted.items():
        value = ctx.arg(param)
        if value:
            found = [o for o in found if getattr(o, attribute) == value]
    status = ctx.arg("status")
    if status and status != "all":
        found = [o for o in found if o.status == status]
    query = (ctx.arg("q") or "").lower()
    if query:
        found = [o for o in found if query in o.name.lower()]
    found.sort(key=lambda o: o.created_at, reverse=True)
    limit = min(max(_int(ctx.arg("limit"), 20), 1), 100)
    page = max(_int(ctx.arg("page"), 1), 1)
    chosen = found[(page - 1) * limit : page * limit]
    pages = max(math.ceil(len(found) / limit), 1)
    next_page = page + 1 if page < pages else None
    meta: dict[str, Any] = {
        "total": len(found),
        "currentPage": page,
        "nextPage": next_page,
        "prevPage": page - 1 if page > 1 else None,
        "nextPageUrl": None,
        "startAfterId": chosen[-1].id if chosen else None,
        "startAfter": round(chosen[-1].created_at.timestamp() * 1000) if chosen else None,
    }
    if next_page is not None:
        kept = [(k, v) for k, values in ctx.query.items() for v in values if k != "page"]
        meta["nextPageUrl"] = (
            f"{SPEC_HOST}/opportunities/search?{urlencode([*kept, ('page', next_page)])}"
        )
    body = {
        "opportunities": [opportunity_json(o, ctx.state) for o in chosen],
        "meta": meta,
        "aggregations": {},
    }
    return Reply(200, body)


def create(ctx: Ctx) -> Reply:
    """`POST /opportunities/` → 201 `{"opportunity": …}`."""
    body = ctx.json()
    location_id = str(body["locationId"])
    ctx.require_location(location_id)
    pipeline = _pipeline(ctx, str(body["pipelineId"]), location_id)
    contact = ctx.state.contacts.get(str(body["contactId"]))
    if contact is None or contact.location_id != location_id:
        raise not_found("Contact")
    status = _status(body["status"])
    stage_id = _stage(pipeline, body.get("pipelineStageId"))
    if any(o.pipeline_id == pipeline.id for o in ctx.state.opportunities_of(contact.id)):
        raise bad_request(DUPLICATE)
    now = ctx.now()
    opportunity = Opportunity(
        id=ctx.emulator.ids.object_id(),
        location_id=location_id,
        pipeline_id=pipeline.id,
        stage_id=stage_id,
        contact_id=contact.id,
        name=str(body["name"]),
        status=status,
        created_at=now,
        updated_at=now,
        last_stage_change_at=now,
        last_status_change_at=now,
        monetary_value=body.get("monetaryValue"),
        assigned_to=body.get("assignedTo"),
        source=body.get("source"),
    )
    _write_fields(ctx, opportunity, body.get("customFields"))
    ctx.state.opportunities[opportunity.id] = opportunity
    return Reply(201, {"opportunity": opportunity_json(opportunity, ctx.state)})


def update(ctx: Ctx) -> Reply:
    """`PUT /opportunities/{id}`: move stage, change status, name, value, owner, fields."""
    opportunity = ctx.state.opportunities.get(ctx.params["id"])
    if opportunity is None:
        raise not_found("Opportunity")
    ctx.require_location(opportunity.location_id)
    body = ctx.json()
    now = ctx.now()
    pipeline = _pipeline(
        ctx, str(body.get("pipelineId") or opportunity.pipeline_id), opportunity.location_id
    )
    if "pipelineStageId" in body or pipeline.id != opportunity.pipeline_id:
        stage_id = _stage(pipeline, body.get("pipelineStageId"))
        if stage_id != opportunity.stage_id or pipeline.id != opportunity.pipeline_id:
            opportunity.last_stage_change_at = now
        opportunity.pipeline_id, opportunity.stage_id = pipeline.id, stage_id
    if "status" in body:
        status = _status(body["status"])
        if status != opportunity.status:
            opportunity.last_status_change_at = now
        opportunity.status = status
    if "name" in body:
        opportunity.name = str(body["name"])
    if "monetaryValue" in body:
        opportunity.monetary_value = body["monetaryValue"]
    if "assignedTo" in body:
        opportunity.assigned_to = body["assignedTo"]
    _write_fields(ctx, opportunity, body.get("customFields"))
    opportunity.updated_at = now
    return Reply(200, {"opportunity": opportunity_json(opportunity, ctx.state)})


def _pipeline(ctx: Ctx, pipeline_id: str, location_id: str) -> Pipeline:
    pipeline = ctx.state.pipelines.get(pipeline_id)
    if pipeline is None or pipeline.location_id != location_id:
        raise not_found("Pipeline")
    return pipeline


def _stage(pipeline: Pipeline, stage_id: Any) -> str:
    if stage_id is None:
        if not pipeline.stages:
            raise bad_request("Pipeline has no stages")
        return pipeline.stages[0].id
    if pipeline.stage(str(stage_id)) is None:
        raise bad_request("Pipeline stage not found in this pipeline")
    return str(stage_id)


def _status(value: Any) -> Any:
    # The spec's enum also lists "all" (a search filter); an opportunity cannot have it.
    if value not in _STATUSES:
        raise GhlError(422, ["status: must be one of: " + ", ".join(_STATUSES)])
    return value


def _write_fields(ctx: Ctx, opportunity: Opportunity, items: Any) -> None:
    if not isinstance(items, list):
        return
    ignored = apply_custom_fields(
        opportunity.custom_fields,
        items,
        state=ctx.state,
        location_id=opportunity.location_id,
        model="opportunity",
    )
    ctx.emulator.ignored_custom_fields.extend((opportunity.id, key) for key in ignored)


def _int(text: str | None, default: int) -> int:
    try:
        return int(float(text)) if text is not None else default
    except (ValueError, OverflowError):
        return default


ROUTES = (
    Route("GET", "/opportunities/pipelines", list_pipelines, "opportunities.readonly"),
    Route("GET", "/opportunities/search", search, "opportunities.readonly"),
    Route("POST", "/opportunities/", create, "opportunities.write"),
    Route("PUT", "/opportunities/{id}", update, "opportunities.write"),
)
