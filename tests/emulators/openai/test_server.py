"""The fake OpenAI server: wire format, auth, faults and the real-HTTP helper."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest

from dentalvoice.emulators.openai import (
    EchoPolicy,
    FakeOpenAI,
    Fault,
    FixedPolicy,
    PolicyReply,
    create_app,
    serve_fake_openai,
)

TOOL = {"type": "function", "function": {"name": "record_qualification", "parameters": {}}}
ARGS = {"pain_level": 4, "insurance": {"status": "has", "carrier": "Delta Dental"}}
MESSAGES: list[Any] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
]


@pytest.fixture
def app() -> FakeOpenAI:
    policy = FixedPolicy(PolicyReply("Hello there. How are you?", [("record_qualification", ARGS)]))
    return create_app(policy, api_key="test")


@pytest.fixture
async def http(app: FakeOpenAI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://fake"
    ) as client:
        yield client


@pytest.fixture
async def client(http: httpx.AsyncClient) -> AsyncIterator[openai.AsyncOpenAI]:
    sdk = openai.AsyncOpenAI(
        api_key="test", base_url="http://fake/v1", http_client=http, max_retries=0
    )
    try:
        yield sdk
    finally:
        await sdk.close()


def body(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": MESSAGES, **extra}


AUTH = {"Authorization": "Bearer test"}


def events(raw: str) -> list[str]:
    blocks = [b for b in raw.split("\n\n") if b]
    assert all(b.startswith("data: ") for b in blocks)
    return [b.removeprefix("data: ") for b in blocks]


async def test_stream_is_shaped_like_the_real_api(http: httpx.AsyncClient, app: FakeOpenAI) -> None:
    response = await http.post(
        "/v1/chat/completions", json=body(stream=True, tools=[TOOL]), headers=AUTH
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    data = events(response.text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert {c["id"] for c in chunks} == {chunks[0]["id"]}
    for chunk in chunks:
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "gpt-4o"
        assert isinstance(chunk["created"], int)
        (choice,) = chunk["choices"]
        assert set(choice) == {"index", "delta", "logprobs", "finish_reason"}
        assert choice["index"] == 0
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": ""}
    text = "".join(d.get("content") or "" for d in deltas)
    assert text == "Hello there. How are you?"
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    first, *rest = calls
    assert first["index"] == 0
    assert first["id"].startswith("call_")
    assert first["type"] == "function"
    assert first["function"] == {"name": "record_qualification", "arguments": ""}
    assert len(rest) > 2  # the arguments come in pieces
    assert all(
        set(c) == {"index", "function"} and set(c["function"]) == {"arguments"} for c in rest
    )
    assert json.loads("".join(c["function"]["arguments"] for c in rest)) == ARGS
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "tool_calls",
    }
    assert app.streams_completed == 1
    assert app.chunks_sent == len(chunks)


async def test_sdk_reads_the_stream(client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, tools=[TOOL]
    )
    content, arguments, finish = "", "", None
    async for chunk in stream:
        delta = chunk.choices[0].delta
        content += delta.content or ""
        for call in delta.tool_calls or []:
            if call.function is not None:
                arguments += call.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish

    assert content == "Hello there. How are you?"
    assert json.loads(arguments) == ARGS
    assert finish == "tool_calls"


async def test_usage_chunk_when_asked(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/v1/chat/completions",
        json=body(stream=True, stream_options={"include_usage": True}),
        headers=AUTH,
    )

    *chunks, done = events(response.text)
    usage = json.loads(chunks[-1])
    assert done == "[DONE]"
    assert usage["choices"] == []
    assert usage["usage"]["total_tokens"] > 0
    assert all(json.loads(c)["usage"] is None for c in chunks[:-1])


async def test_non_streaming_completion(client: openai.AsyncOpenAI) -> None:
    completion = await client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, tools=[TOOL]
    )

    (choice,) = completion.choices
    assert completion.object == "chat.completion"
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Hello there. How are you?"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert json.loads(call.function.arguments) == ARGS
    assert completion.usage is not None


async def test_no_tool_calls_when_tools_are_not_offered_or_refused(
    client: openai.AsyncOpenAI,
) -> None:
    bare = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    refused = await client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, tools=[TOOL], tool_choice="none"
    )

    for completion in (bare, refused):
        assert completion.choices[0].message.tool_calls is None
        assert completion.choices[0].finish_reason == "stop"


async def test_requests_are_recorded(client: openai.AsyncOpenAI, app: FakeOpenAI) -> None:
    await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, temperature=0.3)

    (request,) = app.requests
    assert request.system_prompt == "Be brief."
    assert request.last_user_message == "Hi"
    assert request.temperature == 0.3


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, None),
        ({"Authorization": "Bearer wrong"}, "invalid_api_key"),
        ({"Authorization": "Bearer "}, None),
    ],
)
async def test_requests_need_a_bearer_key(
    http: httpx.AsyncClient, headers: dict[str, str], code: str | None
) -> None:
    response = await http.post("/v1/chat/completions", json=body(), headers=headers)

    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code


async def test_sdk_sees_a_wrong_key_as_an_authentication_error(http: httpx.AsyncClient) -> None:
    async with openai.AsyncOpenAI(
        api_key="wrong", base_url="http://fake/v1", http_client=http, max_retries=0
    ) as sdk:
        with pytest.raises(openai.AuthenticationError):
            await sdk.chat.completions.create(model="gpt-4o", messages=MESSAGES)


async def test_invalid_body_and_unknown_route(http: httpx.AsyncClient) -> None:
    invalid = await http.post("/v1/chat/completions", json={"model": "gpt-4o"}, headers=AUTH)
    unknown = await http.post("/v1/embeddings", json={}, headers=AUTH)
    wrong_method = await http.get("/v1/chat/completions", headers=AUTH)

    assert invalid.status_code == 400
    assert invalid.json()["error"]["param"] == "messages"
    assert unknown.status_code == 404
    assert wrong_method.status_code == 405


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [
        (Fault.SERVER_ERROR, openai.InternalServerError, 500),
        (Fault.RATE_LIMIT, openai.RateLimitError, 429),
    ],
)
async def test_http_faults_have_openai_error_bodies(
    client: openai.AsyncOpenAI,
    app: FakeOpenAI,
    fault: Fault,
    error: type[openai.APIStatusError],
    status: int,
) -> None:
    app.inject(fault, times=1)

    with pytest.raises(error) as raised:
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    recovered = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    assert raised.value.status_code == status
    assert isinstance(raised.value.body, dict)
    assert {"message", "type", "param", "code"} <= set(raised.value.body)
    assert recovered.choices[0].message.content == "Hello there. How are you?"


async def test_faults_last_until_cleared(client: openai.AsyncOpenAI, app: FakeOpenAI) -> None:
    app.inject(Fault.SERVER_ERROR)
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    app.clear_fault()

    assert await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)


async def test_hang_outlasts_the_client(client: openai.AsyncOpenAI, app: FakeOpenAI) -> None:
    app.inject(Fault.HANG)

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)

    assert app.streams_completed == 0


async def test_error_mid_stream_raises_in_the_sdk(
    client: openai.AsyncOpenAI, app: FakeOpenAI
) -> None:
    app.inject(Fault.ERROR_MID_STREAM, after_chunks=3)
    stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    received = []

    with pytest.raises(openai.APIError):
        async for chunk in stream:
            received.append(chunk)

    assert len(received) == 3


async def test_echo_policy(http: httpx.AsyncClient, app: FakeOpenAI) -> None:
    app.policy = EchoPolicy()

    response = await http.post("/v1/chat/completions", json=body(), headers=AUTH)

    assert response.json()["choices"][0]["message"]["content"] == "You said: Hi."


async def test_served_over_real_http_with_latency() -> None:
    app = create_app(EchoPolicy())
    app.first_token_delay_s = 0.01
    app.chunk_delay_s = 0.005
    async with (
        serve_fake_openai(app, port=0) as base_url,
        openai.AsyncOpenAI(api_key="anything", base_url=base_url, max_retries=0) as sdk,
    ):
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        stream = await sdk.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream])

    assert text == "You said: Hi."
    assert app.streams_completed == 1


async def test_serve_accepts_a_policy() -> None:
    async with (
        serve_fake_openai(FixedPolicy(PolicyReply("Fixed."))) as base_url,
        httpx.AsyncClient(base_url=base_url) as raw,
    ):
        response = await raw.post("/chat/completions", json=body(), headers=AUTH)

    assert response.json()["choices"][0]["message"]["content"] == "Fixed."
