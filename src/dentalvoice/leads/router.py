"""`POST /webhooks/ghl`: verify → store → normalise → answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from loguru import logger
from prometheus_client import Counter

from dentalvoice.errors import StorageUnavailable
from dentalvoice.leads.service import IntakeResult, IntakeService, WebhookRequest
from dentalvoice.leads.verification import AuthenticationFailed, presented_secret
from dentalvoice.logging import describe_exception

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

WEBHOOKS = Counter("dentalvoice_webhooks_total", "GHL webhook deliveries by outcome", ["outcome"])


def get_intake(request: Request) -> IntakeService:
    """The process's intake service, built in the lifespan."""
    service: IntakeService = request.app.state.intake
    return service


IntakeDep = Annotated[IntakeService, Depends(get_intake)]


class BodyTooLarge(Exception):
    """The body is larger than WEBHOOK_MAX_BODY_BYTES."""


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise BodyTooLarge
    return bytes(chunks)


def _response(result: IntakeResult) -> JSONResponse:
    content: dict[str, object] = {
        "status": result.status,
        "event_id": str(result.event_id) if result.event_id else None,
        "lead_id": str(result.lead_id) if result.lead_id else None,
    }
    if result.errors:
        content["detail"] = [e.as_dict() for e in result.errors]
    if result.warnings:
        content["warnings"] = [e.as_dict() for e in result.warnings]
    content.update(result.extra)
    return JSONResponse(content, status_code=result.http_status)


@router.post(
    "/ghl",
    status_code=202,
    responses={
        200: {
            "description": (
                "Duplicate delivery, an event intake does not act on, or an update for a "
                "contact that has no lead (stored, applied if its create arrives)"
            )
        },
        401: {"description": "Missing or wrong secret, bad signature, stale timestamp"},
        413: {"description": "Body too large"},
        422: {"description": "Invalid payload, unusable phone or unknown location (stored)"},
        429: {"description": "Storage unavailable: GHL retries on 429 only"},
    },
)
async def receive_ghl_webhook(
    request: Request,
    intake: IntakeDep,
    token: Annotated[str | None, Query(max_length=512)] = None,
    authorization: Annotated[str | None, Header()] = None,
    x_webhook_secret: Annotated[str | None, Header()] = None,
    x_ghl_signature: Annotated[str | None, Header()] = None,
    x_wh_signature: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Receive a lead from a GHL workflow, a marketplace app or the simple contact shape."""
    limit: int = request.app.state.settings.webhook_max_body_bytes
    try:
        body = await _read_body(request, limit)
    except BodyTooLarge:
        WEBHOOKS.labels("too_large").inc()
        return JSONResponse(
            {"detail": [{"field": "body", "reason": f"larger than {limit} bytes"}]},
            status_code=413,
        )
    secret = presented_secret(
        authorization=authorization, header_secret=x_webhook_secret, query_token=token
    )
    try:
        result = await intake.receive(
            WebhookRequest(
                body=body,
                ghl_signature=x_ghl_signature,
                wh_signature=x_wh_signature,
                secret=secret,
            )
        )
    except AuthenticationFailed as exc:
        WEBHOOKS.labels(f"unauthorized_{exc.reason}").inc()
        logger.warning("webhook rejected: {}", exc.reason)
        return JSONResponse(
            {"detail": [{"field": "authentication", "reason": exc.reason}]}, status_code=401
        )
    except StorageUnavailable as exc:
        WEBHOOKS.labels("storage_unavailable").inc()
        logger.error("webhook not stored ({}); answering 429", describe_exception(exc))
        return JSONResponse(
            {"detail": [{"field": "-", "reason": "storage unavailable, retry"}]},
            status_code=429,
            headers={"Retry-After": "60"},
        )
    WEBHOOKS.labels(result.status).inc()
    return _response(result)
