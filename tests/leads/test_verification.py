"""Signature and secret checks with real keys generated in the test."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from dentalvoice.leads.models import Verification
from dentalvoice.leads.verification import (
    AuthenticationFailed,
    SignatureKeys,
    presented_secret,
    secret_matches,
    verify_signature,
)
from tests.conftest import GhlKeys

BODY = b'{"type":"ContactCreate","id":"c1"}'


@pytest.fixture(scope="module")
def keys(ghl_keys: GhlKeys) -> SignatureKeys:
    return SignatureKeys.from_pem(
        ed25519_pem=ghl_keys.ed25519_public_pem(), rsa_pem=ghl_keys.rsa_public_pem()
    )


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_ed25519_over_the_raw_body(keys: SignatureKeys, ghl_keys: GhlKeys) -> None:
    signature = b64(ghl_keys.ed25519_private.sign(BODY))
    assert (
        verify_signature(keys=keys, body=BODY, ghl_signature=signature, wh_signature=None)
        is Verification.ED25519
    )
    # The same JSON re-serialised with other spacing is other bytes: rejected.
    with pytest.raises(AuthenticationFailed):
        verify_signature(
            keys=keys, body=BODY.replace(b",", b", "), ghl_signature=signature, wh_signature=None
        )


def test_rsa_legacy_header(keys: SignatureKeys, ghl_keys: GhlKeys) -> None:
    signature = b64(ghl_keys.rsa_private.sign(BODY, padding.PKCS1v15(), hashes.SHA256()))
    assert (
        verify_signature(keys=keys, body=BODY, ghl_signature=None, wh_signature=signature)
        is Verification.RSA
    )
    with pytest.raises(AuthenticationFailed):
        verify_signature(keys=keys, body=BODY + b" ", ghl_signature=None, wh_signature=signature)


def test_a_present_ghl_signature_decides_without_falling_back(
    keys: SignatureKeys, ghl_keys: GhlKeys
) -> None:
    good_rsa = b64(ghl_keys.rsa_private.sign(BODY, padding.PKCS1v15(), hashes.SHA256()))
    bad_ed = b64(b"\x00" * 64)
    with pytest.raises(AuthenticationFailed, match="bad_signature"):
        verify_signature(keys=keys, body=BODY, ghl_signature=bad_ed, wh_signature=good_rsa)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [("%%%", "signature_not_base64"), (b64(b"short"), "bad_signature")],
)
def test_malformed_signatures(keys: SignatureKeys, signature: str, reason: str) -> None:
    with pytest.raises(AuthenticationFailed, match=reason):
        verify_signature(keys=keys, body=BODY, ghl_signature=signature, wh_signature=None)


def test_a_signature_by_another_key_fails(keys: SignatureKeys) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    other = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(AuthenticationFailed):
        verify_signature(
            keys=keys, body=BODY, ghl_signature=b64(other.sign(BODY)), wh_signature=None
        )


def test_no_signature_headers_means_no_verdict(keys: SignatureKeys) -> None:
    assert verify_signature(keys=keys, body=BODY, ghl_signature=None, wh_signature="") is None


def test_ghl_published_keys_load() -> None:
    from dentalvoice.config import GHL_ED25519_PUBLIC_KEY, GHL_RSA_PUBLIC_KEY

    loaded = SignatureKeys.from_pem(ed25519_pem=GHL_ED25519_PUBLIC_KEY, rsa_pem=GHL_RSA_PUBLIC_KEY)
    assert loaded.rsa.key_size == 4096


def test_secret_matching() -> None:
    assert secret_matches("abc", ["x", "abc"])
    assert not secret_matches("abc", ["abcd", "ab", ""])
    assert not secret_matches("abc", [])


@pytest.mark.parametrize(
    ("authorization", "header", "token", "expected"),
    [
        ("Bearer s1", "s2", "s3", "s1"),
        ("bearer  s1 ", None, None, "s1"),
        ("Basic s1", "s2", None, "s2"),
        (None, None, "s3", "s3"),
        ("Bearer ", " ", None, None),
    ],
)
def test_presented_secret_order(
    authorization: str | None, header: str | None, token: str | None, expected: str | None
) -> None:
    assert (
        presented_secret(authorization=authorization, header_secret=header, query_token=token)
        == expected
    )
