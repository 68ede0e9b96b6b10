"""Twilio request signatures: round trips, tampering, the proxied-URL pitfall, WS upgrades."""

from __future__ import annotations

import pytest

from dentalvoice.telephony.signature import (
    public_url,
    sign,
    validate_http,
    validate_websocket,
)

TOKEN = "test-auth-token"
PARAMS = {
    "CallSid": "CA" + "1" * 32,
    "CallStatus": "ringing",
    "From": "+13055550999",
    "To": "+13055550123",
}


def test_documented_example() -> None:
    # The worked example from Twilio's security docs (twilio.md §8.1).
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }
    url = "https://example.com/myapp.php?foo=1&bar=2"

    assert sign(auth_token="12345", url=url, params=params) == "L/OH5YylLD5NRKLltdqwSvS0BnU="
    assert validate_http(
        auth_token="12345", url=url, params=params, signature="L/OH5YylLD5NRKLltdqwSvS0BnU="
    )


def test_round_trip() -> None:
    url = public_url("https://agent.example.com", "/twilio/status", "lead=7")
    signature = sign(auth_token=TOKEN, url=url, params=PARAMS)

    assert validate_http(auth_token=TOKEN, url=url, params=PARAMS, signature=signature)


def test_tampering_fails() -> None:
    url = public_url("https://agent.example.com", "/twilio/status")
    signature = sign(auth_token=TOKEN, url=url, params=PARAMS)

    forged = {**PARAMS, "CallStatus": "completed"}
    assert not validate_http(auth_token=TOKEN, url=url, params=forged, signature=signature)
    extra = {**PARAMS, "AnsweredBy": "human"}
    assert not validate_http(auth_token=TOKEN, url=url, params=extra, signature=signature)
    other = public_url("https://agent.example.com", "/twilio/amd")
    assert not validate_http(auth_token=TOKEN, url=other, params=PARAMS, signature=signature)
    assert not validate_http(auth_token="other", url=url, params=PARAMS, signature=signature)
    assert not validate_http(auth_token=TOKEN, url=url, params=PARAMS, signature=None)
    assert not validate_http(auth_token=TOKEN, url=url, params=PARAMS, signature="")


def test_proxied_url_does_not_validate() -> None:
    # Twilio signed the public URL; behind a proxy the app sees another one (twilio.md §8.3).
    signed = public_url("https://agent.example.com", "/twilio/status")
    signature = sign(auth_token=TOKEN, url=signed, params=PARAMS)

    internal = "http://internal:8000/twilio/status"
    assert not validate_http(auth_token=TOKEN, url=internal, params=PARAMS, signature=signature)
    rebuilt = public_url("https://agent.example.com/", "twilio/status")
    assert validate_http(auth_token=TOKEN, url=rebuilt, params=PARAMS, signature=signature)


def test_default_https_port_is_tolerated() -> None:
    signature = sign(auth_token=TOKEN, url="https://agent.example.com/twilio/status", params=PARAMS)

    assert validate_http(
        auth_token=TOKEN,
        url="https://agent.example.com:443/twilio/status",
        params=PARAMS,
        signature=signature,
    )


@pytest.mark.parametrize(
    ("base", "path", "query", "expected"),
    [
        ("https://a.example", "/twilio/voice", "", "https://a.example/twilio/voice"),
        ("https://a.example/", "/twilio/voice", "x=1&y=%20", "https://a.example/twilio/voice?x=1&y=%20"),
        ("https://a.example/prefix", "twilio/voice", "", "https://a.example/prefix/twilio/voice"),
        ("wss://a.example", "/twilio/media/tok", "", "wss://a.example/twilio/media/tok"),
    ],
)  # fmt: skip
def test_public_url(base: str, path: str, query: str, expected: str) -> None:
    assert public_url(base, path, query) == expected


@pytest.mark.parametrize("base", ["agent.example.com", "https://a.example/?x=1", "ftp://a.example"])
def test_public_url_refuses_bad_bases(base: str) -> None:
    with pytest.raises(ValueError):
        public_url(base, "/twilio/voice")


def test_websocket_upgrade_signature() -> None:
    wss_url = public_url("wss://agent.example.com", "/twilio/media/tok-1")
    signature = sign(auth_token=TOKEN, url=wss_url, params={})

    assert validate_websocket(auth_token=TOKEN, wss_url=wss_url, signature=signature)
    # The https form of the same URL is a different signed string (twilio.md §8.5).
    https_url = "https://agent.example.com/twilio/media/tok-1"
    assert not validate_http(auth_token=TOKEN, url=https_url, params={}, signature=signature)
    assert not validate_websocket(auth_token=TOKEN, wss_url=wss_url + "x", signature=signature)
    assert not validate_websocket(auth_token=TOKEN, wss_url=wss_url, signature=None)
    with pytest.raises(ValueError):
        validate_websocket(auth_token=TOKEN, wss_url=https_url, signature=signature)


def test_websocket_upgrade_signed_with_a_trailing_slash() -> None:
    wss_url = "wss://agent.example.com/twilio/media/tok-1"
    signature = sign(auth_token=TOKEN, url=wss_url + "/", params={})

    assert validate_websocket(auth_token=TOKEN, wss_url=wss_url, signature=signature)
