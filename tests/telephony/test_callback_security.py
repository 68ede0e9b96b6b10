"""Every Twilio callback, and the media WebSocket, refuses requests Twilio did not sign."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from dentalvoice.config import Settings
from dentalvoice.db import Database
from dentalvoice.telephony.signature import sign
from tests.telephony.stack import AUTH_TOKEN, PUBLIC, Stack, running_stack

CALL_SID = "CA" + "c" * 32
PATHS = ["/twilio/voice", "/twilio/status", "/twilio/amd"]
FORM = {"CallSid": CALL_SID, "CallStatus": "ringing", "AnsweredBy": "human", "AccountSid": "AC"}


@pytest.fixture
async def stack(settings: Settings, db: Database) -> AsyncIterator[Stack]:
    async with running_stack(settings, db, dial=False) as running:
        yield running


def query() -> str:
    return f"attempt={uuid.uuid4().hex}"


async def post(stack: Stack, path: str, q: str, signature: str | None) -> httpx.Response:
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    return await stack.http.post(f"{path}?{q}", data=FORM, headers=headers)


@pytest.mark.parametrize("path", PATHS)
async def test_a_missing_signature_is_refused(stack: Stack, path: str) -> None:
    response = await post(stack, path, query(), None)
    assert response.status_code == 403
    assert response.json() == {"detail": "invalid Twilio signature"}


@pytest.mark.parametrize("path", PATHS)
async def test_a_signature_by_another_token_is_refused(stack: Stack, path: str) -> None:
    q = query()
    forged = sign(auth_token="not-the-token", url=f"{PUBLIC}{path}?{q}", params=FORM)
    assert (await post(stack, path, q, forged)).status_code == 403


@pytest.mark.parametrize("path", PATHS)
async def test_a_signature_over_the_internal_url_is_refused(stack: Stack, path: str) -> None:
    """Twilio signs the public URL; one computed over the proxied address is not Twilio's."""
    q = query()
    internal = sign(auth_token=AUTH_TOKEN, url=f"{stack.http.base_url}{path}?{q}", params=FORM)
    assert (await post(stack, path, q, internal)).status_code == 403


@pytest.mark.parametrize("path", PATHS)
async def test_a_changed_field_breaks_the_signature(stack: Stack, path: str) -> None:
    q = query()
    signature = sign(auth_token=AUTH_TOKEN, url=f"{PUBLIC}{path}?{q}", params=FORM)
    headers = {"X-Twilio-Signature": signature}
    tampered = {**FORM, "CallStatus": "completed"}
    response = await stack.http.post(f"{path}?{q}", data=tampered, headers=headers)
    assert response.status_code == 403


@pytest.mark.parametrize("path", PATHS)
async def test_a_valid_signature_for_an_unknown_attempt_is_a_404(stack: Stack, path: str) -> None:
    q = query()
    signature = sign(auth_token=AUTH_TOKEN, url=f"{PUBLIC}{path}?{q}", params=FORM)
    response = await post(stack, path, q, signature)
    assert response.status_code == 404 and response.json() == {"detail": "attempt: unknown"}


def ws_url(stack: Stack, path: str) -> str:
    return str(stack.http.base_url).replace("http://", "ws://").rstrip("/") + path


async def refused(url: str, headers: dict[str, str]) -> int:
    with pytest.raises(InvalidStatus) as caught:
        async with websockets.connect(url, additional_headers=headers, open_timeout=5):
            pass
    return caught.value.response.status_code


async def test_the_media_socket_refuses_unsigned_and_wrongly_signed_upgrades(
    stack: Stack,
) -> None:
    path = f"/twilio/media/{uuid.uuid4().hex}/some-token"
    url = ws_url(stack, path)

    assert await refused(url, {}) == 403
    https_signed = sign(auth_token=AUTH_TOKEN, url=f"{PUBLIC}{path}", params={})
    assert await refused(url, {"x-twilio-signature": https_signed}) == 403
    forged = sign(auth_token="other", url=f"{PUBLIC.replace('https', 'wss')}{path}", params={})
    assert await refused(url, {"x-twilio-signature": forged}) == 403


async def test_the_media_socket_refuses_a_signed_upgrade_without_a_live_token(
    stack: Stack,
) -> None:
    """A valid signature is not enough: the URL's one-time token must belong to a call."""
    path = f"/twilio/media/{uuid.uuid4().hex}/guessed-token"
    signature = sign(
        auth_token=AUTH_TOKEN, url=f"{PUBLIC.replace('https', 'wss')}{path}", params={}
    )
    assert await refused(ws_url(stack, path), {"x-twilio-signature": signature}) == 403
