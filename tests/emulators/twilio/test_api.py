"""The REST surface: auth, spec validation, Twilio's rules and errors, resource shapes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from openapi_core.testing import MockRequest, MockResponse

from dentalvoice.emulators.twilio import SilentHuman, TwilioEmulator, load_spec
from dentalvoice.telephony import TwilioClient, TwilioError

from .harness import ACCOUNT_SID, AUTH_TOKEN, FROM, TO, VOICE_URL, Receiver, place_call

# The servers are shared by the module (see conftest), so the tests run on its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

CALLS = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"


@pytest_asyncio.fixture(loop_scope="module")
async def http(twilio_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=twilio_url, auth=(ACCOUNT_SID, AUTH_TOKEN)) as client:
        yield client


def _form(**fields: Any) -> dict[str, Any]:
    return {"To": TO, "From": FROM, "Url": VOICE_URL, **fields}


async def test_create_answers_with_the_call_resource_as_the_spec_defines_it(
    http: httpx.AsyncClient, emulator: TwilioEmulator
) -> None:
    body = "To=%2B13055550123&From=%2B13055550999&Url=https%3A%2F%2Fagent.example.test%2Fv"
    response = await http.post(
        CALLS, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 201
    call = response.json()
    assert call["sid"].startswith("CA") and len(call["sid"]) == 34
    assert call["status"] == "queued"
    assert call["direction"] == "outbound-api"
    assert call["api_version"] == "2010-04-01"
    assert (call["to"], call["from"], call["account_sid"]) == (TO, FROM, ACCOUNT_SID)
    assert call["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call['sid']}.json"
    assert call["date_created"].endswith("+0000")
    assert call["queue_time"] == "0"
    assert call["subresource_uris"]["streams"].endswith(f"/Calls/{call['sid']}/Streams.json")
    request = MockRequest(
        "https://api.twilio.com",
        "post",
        CALLS,
        data=body.encode(),
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": response.request.headers["Authorization"]},
    )
    result = load_spec().openapi.unmarshal_response(
        request, MockResponse(response.content, status_code=201)
    )
    assert result.errors == []

    fetched = await http.get(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call['sid']}.json")
    assert fetched.status_code == 200
    assert fetched.json()["sid"] == call["sid"]
    listed = await http.get(CALLS, params={"To": TO})
    assert [c["sid"] for c in listed.json()["calls"]] == [call["sid"]]
    await emulator.wait_call_ended(call["sid"], timeout=10)


@pytest.mark.parametrize(
    ("fields", "code", "named"),
    [
        ({"To": None}, 21201, "'To'"),
        ({"From": None}, 21213, "'From'"),
        ({"Timeout": "soon"}, 21200, "'Timeout'"),
        ({"Method": "PUT"}, 21200, "'Method'"),
        ({"StatusCallbackEvent": ["initiated", "dialing"]}, 21626, "StatusCallbackEvent"),
        ({"Url": None}, 21205, "Url"),
        ({"Url": "/relative/path"}, 21205, "Url"),
        ({"StatusCallback": "not a url"}, 21609, "StatusCallback"),
    ],
)
async def test_a_request_breaking_the_spec_or_a_rule_is_a_400_naming_the_field(
    http: httpx.AsyncClient,
    emulator: TwilioEmulator,
    fields: dict[str, Any],
    code: int,
    named: str,
) -> None:
    data = {k: v for k, v in _form(**fields).items() if v is not None}

    response = await http.post(CALLS, data=data)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert named in body["message"]
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert body["status"] == 400
    assert emulator.calls == {}


async def test_update_is_validated_against_the_spec(http: httpx.AsyncClient) -> None:
    sid = "CA" + "0" * 32
    response = await http.post(
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json", data={"Status": "paused"}
    )
    assert response.status_code == 400
    assert "'Status'" in response.json()["message"]

    unknown = await http.post(
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json", data={"Status": "completed"}
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == 20404


@pytest.mark.parametrize(
    ("setup", "to", "code", "outcome"),
    [
        ("none", "5551234567", 21211, "invalid_number"),
        ("invalid", TO, 21211, "invalid_number"),
        ("geo", TO, 21215, "geo_permission"),
        ("concurrency", TO, 10004, "concurrency_limit"),
        ("rate", TO, 20429, "rate_limited"),
        ("server", TO, None, "unavailable"),
    ],
)
async def test_refusals_surface_as_twilio_errors_in_the_client(
    emulator: TwilioEmulator,
    twilio: TwilioClient,
    receiver: Receiver,
    setup: str,
    to: str,
    code: int | None,
    outcome: str,
) -> None:
    receiver.twiml["/twilio/voice"] = "<Response><Pause length='500'/></Response>"
    if setup == "invalid":
        emulator.settings.invalid_numbers.add(TO)
    elif setup == "geo":
        emulator.settings.geo_blocked_numbers.add(TO)
    elif setup == "concurrency":
        emulator.settings.max_concurrent_calls = 1
        emulator.set_default_callee(SilentHuman())
        await place_call(twilio, to="+13055550111", key="first")
    elif setup == "rate":
        emulator.fail_next_create(status=429, code=20429, message="Too Many Requests")
    elif setup == "server":
        emulator.fail_next_create(status=500)

    with pytest.raises(TwilioError) as caught:
        await place_call(twilio, to=to)

    assert caught.value.code == code
    assert caught.value.outcome == outcome
    # An injected failure is one-shot.
    if setup in {"rate", "server"}:
        await place_call(twilio, key="again")


async def test_bad_credentials_are_401_in_twilio_shape(
    twilio_url: str, emulator: TwilioEmulator
) -> None:
    wrong = TwilioClient(account_sid=ACCOUNT_SID, auth_token="nope", api_base_url=twilio_url)
    try:
        with pytest.raises(TwilioError) as caught:
            await place_call(wrong)
    finally:
        await wrong.close()
    assert (caught.value.code, caught.value.status, caught.value.outcome) == (20003, 401, "auth")

    other_account = "AC" + "f" * 32
    async with httpx.AsyncClient(base_url=twilio_url, auth=(ACCOUNT_SID, AUTH_TOKEN)) as http:
        response = await http.post(f"/2010-04-01/Accounts/{other_account}/Calls.json", data=_form())
        anonymous = await http.post(CALLS, data=_form(), auth=None)
        nowhere = await http.get("/2010-04-01/Accounts/x/Queues.json")
    assert response.status_code == 401
    assert response.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
        "detail": "Your AccountSid or AuthToken was incorrect.",
    }
    assert anonymous.status_code == 401
    assert nowhere.status_code == 404
    assert json.loads(nowhere.content)["code"] == 20404
    assert emulator.calls == {}
    assert len(emulator.create_arrivals) == 0


async def test_the_records_endpoint_lists_calls_with_their_arrival_times(
    http: httpx.AsyncClient, emulator: TwilioEmulator
) -> None:
    created = await http.post(CALLS, data=_form())
    assert created.status_code == 201

    listed = await http.get("/_emulator/calls")
    anonymous = await http.get("/_emulator/calls", auth=None)

    assert anonymous.status_code == 401
    (call,) = listed.json()
    record = emulator.calls[created.json()["sid"]]
    assert (call["sid"], call["to"], call["arrived_at"]) == (record.sid, TO, record.arrived_at)
    assert call["early"] is False
