"""TwilioClient against a local aiohttp server that answers like Twilio's REST API."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from twilio.base.exceptions import TwilioServiceException  # type: ignore[import-untyped]

from dentalvoice.telephony import TwilioClient, TwilioError, translate

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"
CALL_SID = "CA" + "a1" * 16
TO = "+13055550123"
FROM = "+13055550999"
SPEC = Path(__file__).resolve().parents[3] / "shared" / "specs" / "twilio" / "twilio_api_v2010.json"


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str | None
    form: list[tuple[str, str]]

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.form if k == name]

    def one(self, name: str) -> str:
        (value,) = self.values(name)
        return value


@dataclass
class FakeTwilio:
    """What the fake server saw, and what it should answer next."""

    base_url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    replies: list[tuple[int, Any]] = field(default_factory=list)
    stall: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)


def _call_json(status: str = "queued") -> dict[str, Any]:
    return {"sid": CALL_SID, "account_sid": ACCOUNT_SID, "status": status, "to": TO, "from": FROM}


def _app(fake: FakeTwilio) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        fake.requests.append(
            Recorded(
                method=request.method,
                path=request.path,
                authorization=request.headers.get("Authorization"),
                form=[(k, str(v)) for k, v in form.items()],
            )
        )
        if fake.stall:
            await fake.release.wait()
        if fake.replies:
            status, body = fake.replies.pop(0)
        else:
            status, body = (201 if request.path.endswith("Calls.json") else 200), _call_json()
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type="text/html")
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    state = FakeTwilio()
    runner = web.AppRunner(_app(state))
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    state.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    yield state
    state.release.set()
    await runner.cleanup()


@pytest.fixture
async def client(fake: FakeTwilio) -> AsyncIterator[TwilioClient]:
    twilio = TwilioClient(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, api_base_url=fake.base_url, timeout_s=2
    )
    yield twilio
    await twilio.close()


async def _create(client: TwilioClient) -> str:
    return await client.create_call(
        to=TO,
        from_=FROM,
        url="https://agent.example.com/twilio/voice",
        status_callback="https://agent.example.com/twilio/status",
        amd_callback="https://agent.example.com/twilio/amd",
        idempotency_key="attempt-1",
    )


async def test_create_call_posts_the_documented_form(
    client: TwilioClient, fake: FakeTwilio
) -> None:
    sid = await _create(client)

    assert sid == CALL_SID
    (req,) = fake.requests
    assert req.method == "POST"
    assert req.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    expected_auth = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert req.authorization == f"Basic {expected_auth}"
    assert req.one("To") == TO
    assert req.one("From") == FROM
    assert req.one("Url") == "https://agent.example.com/twilio/voice"
    assert req.one("Method") == "POST"
    assert req.one("StatusCallback") == "https://agent.example.com/twilio/status"
    assert req.values("StatusCallbackEvent") == ["initiated", "ringing", "answered", "completed"]
    assert req.one("StatusCallbackMethod") == "POST"
    assert req.one("MachineDetection") == "DetectMessageEnd"
    assert req.one("AsyncAmd") == "true"
    assert req.one("AsyncAmdStatusCallback") == "https://agent.example.com/twilio/amd"
    assert req.one("AsyncAmdStatusCallbackMethod") == "POST"
    assert req.one("Timeout") == "25"


async def test_warm_up_sends_nothing_and_the_next_create_works(
    client: TwilioClient, fake: FakeTwilio
) -> None:
    await client.warm_up()
    assert fake.requests == []  # start-up work only: no request to Twilio

    assert await _create(client) == CALL_SID


def _spec_fields(operation_id: str) -> set[str]:
    if not SPEC.exists():
        pytest.skip("the Twilio OpenAPI spec is not checked out next to the project")
    spec = json.loads(SPEC.read_text())
    for item in spec["paths"].values():
        operation = item.get("post", {})
        if operation.get("operationId") == operation_id:
            content = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]
            return set(content["schema"]["properties"])
    raise AssertionError(operation_id)


async def test_posted_fields_exist_in_the_openapi_spec(
    client: TwilioClient, fake: FakeTwilio
) -> None:
    await _create(client)
    await client.update_call(CALL_SID, url="https://agent.example.com/twilio/next")
    await client.update_call(CALL_SID, twiml="<Response><Hangup/></Response>")
    await client.hang_up(CALL_SID)

    create, *updates = fake.requests
    assert {k for k, _ in create.form} <= _spec_fields("CreateCall")
    for update in updates:
        assert {k for k, _ in update.form} <= _spec_fields("UpdateCall")


async def test_update_and_hang_up_post_to_the_call(client: TwilioClient, fake: FakeTwilio) -> None:
    await client.update_call(CALL_SID, twiml="<Response><Say>hi</Say></Response>")
    await client.update_call(CALL_SID, url="https://agent.example.com/twilio/next")
    await client.hang_up(CALL_SID)

    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{CALL_SID}.json"
    assert [(r.method, r.path) for r in fake.requests] == [("POST", path)] * 3
    twiml, redirect, hang_up = fake.requests
    assert twiml.form == [("Twiml", "<Response><Say>hi</Say></Response>")]
    assert sorted(redirect.form) == [
        ("Method", "POST"),
        ("Url", "https://agent.example.com/twilio/next"),
    ]
    assert hang_up.form == [("Status", "completed")]


async def test_update_refuses_bad_arguments_without_a_request(
    client: TwilioClient, fake: FakeTwilio
) -> None:
    with pytest.raises(ValueError):
        await client.update_call(CALL_SID, twiml="<Response/>", url="https://x.example/")
    with pytest.raises(ValueError):
        await client.update_call(CALL_SID)
    with pytest.raises(ValueError):
        await client.update_call("CA../../Messages", status="completed")
    assert fake.requests == []


@pytest.mark.parametrize(
    ("status", "body", "outcome", "code", "retryable"),
    [
        (400, {"code": 21211, "message": f"The 'To' number {TO} is not valid.", "status": 400},
         "invalid_number", 21211, False),
        (400, {"code": 13224, "message": "invalid", "status": 400}, "invalid_number", 13224, False),
        (400, {"code": 21215, "message": "geo", "status": 400}, "geo_permission", 21215, False),
        (429, {"code": 20429, "message": "Too many requests", "status": 429},
         "rate_limited", 20429, True),
        (429, "slow down", "rate_limited", None, True),
        (400, {"code": 10004, "message": "concurrency", "status": 400},
         "concurrency_limit", 10004, True),
        (401, {"code": 20003, "message": "Authenticate", "status": 401}, "auth", 20003, False),
        (503, "<html>Service Unavailable</html>", "unavailable", None, True),
        (500, {"code": 20500, "message": "Internal", "status": 500}, "unavailable", 20500, True),
        (400, {"code": 21210, "message": "unverified From", "status": 400},
         "rejected", 21210, False),
    ],
)  # fmt: skip
async def test_errors_are_translated(
    client: TwilioClient,
    fake: FakeTwilio,
    status: int,
    body: Any,
    outcome: str,
    code: int | None,
    retryable: bool,
) -> None:
    fake.replies.append((status, body))

    with pytest.raises(TwilioError) as caught:
        await _create(client)

    error = caught.value
    assert (error.outcome, error.code, error.status, error.retryable) == (
        outcome,
        code,
        status,
        retryable,
    )
    assert TO not in str(error)
    assert "0123" not in str(error)
    assert error.__cause__ is not None


async def test_hang_up_of_an_ended_call_is_not_an_error(
    client: TwilioClient, fake: FakeTwilio
) -> None:
    fake.replies.append((404, {"code": 20404, "message": "not found", "status": 404}))

    await client.hang_up(CALL_SID)

    assert len(fake.requests) == 1


async def test_update_of_a_missing_call_is_rejected(client: TwilioClient, fake: FakeTwilio) -> None:
    fake.replies.append((404, {"code": 20404, "message": "not found", "status": 404}))

    with pytest.raises(TwilioError) as caught:
        await client.update_call(CALL_SID, url="https://agent.example.com/twilio/next")

    assert (caught.value.outcome, caught.value.code) == ("rejected", 20404)


async def test_a_slow_twilio_is_unavailable(fake: FakeTwilio) -> None:
    fake.stall = True
    twilio = TwilioClient(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, api_base_url=fake.base_url, timeout_s=0.2
    )
    try:
        with pytest.raises(TwilioError) as caught:
            await _create(twilio)
    finally:
        await twilio.close()

    assert (caught.value.outcome, caught.value.status, caught.value.retryable) == (
        "unavailable",
        None,
        True,
    )
    assert isinstance(caught.value.__cause__, TimeoutError)


async def test_an_unreachable_twilio_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    twilio = TwilioClient(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        api_base_url=f"http://127.0.0.1:{port}",
        timeout_s=2,
    )
    try:
        with pytest.raises(TwilioError) as caught:
            await twilio.hang_up(CALL_SID)
    finally:
        await twilio.close()

    assert caught.value.outcome == "unavailable"
    assert caught.value.retryable


async def test_base_url_path_prefix_is_kept(fake: FakeTwilio) -> None:
    twilio = TwilioClient(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, api_base_url=fake.base_url + "/twilio/"
    )
    try:
        await twilio.hang_up(CALL_SID)
    finally:
        await twilio.close()

    assert (
        fake.requests[0].path == f"/twilio/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{CALL_SID}.json"
    )


def test_translate_handles_rfc9457_and_unknown_errors() -> None:
    problem = TwilioServiceException(
        type_uri="https://www.twilio.com/docs/errors/20429",
        title="Too Many Requests",
        status=429,
        code=20429,
    )
    assert (translate(problem).outcome, translate(problem).retryable) == ("rate_limited", True)

    unknown = translate(KeyError("sid"))
    assert (unknown.outcome, unknown.retryable) == ("rejected", False)

    assert translate(TimeoutError()).outcome == "unavailable"
