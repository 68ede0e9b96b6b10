"""Who sent a webhook: GHL signatures over the raw body, or a shared secret (constant time)."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from dentalvoice.leads.models import Verification


class AuthenticationFailed(Exception):
    """The request did not prove it came from GHL; `reason` is a short PHI-free code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SignatureKeys:
    """GHL's public keys for marketplace webhooks."""

    ed25519: Ed25519PublicKey
    rsa: RSAPublicKey

    @classmethod
    def from_pem(cls, *, ed25519_pem: str, rsa_pem: str) -> SignatureKeys:
        """Load both keys (settings have already checked their types)."""
        ed = load_pem_public_key(ed25519_pem.encode())
        rsa = load_pem_public_key(rsa_pem.encode())
        if not isinstance(ed, Ed25519PublicKey) or not isinstance(rsa, RSAPublicKey):
            raise TypeError("GHL webhook keys are of the wrong type")
        return cls(ed25519=ed, rsa=rsa)


def _b64(signature: str) -> bytes:
    try:
        return base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AuthenticationFailed("signature_not_base64") from exc


def verify_signature(
    *, keys: SignatureKeys, body: bytes, ghl_signature: str | None, wh_signature: str | None
) -> Verification | None:
    """Verify `x-ghl-signature` (Ed25519) or else `x-wh-signature` (RSA-SHA256) over `body`.

    Returns None when neither header is present. As GHL's SDKs do, a present
    `x-ghl-signature` is decisive: there is no fall-back to the legacy header.
    """
    if ghl_signature:
        raw = _b64(ghl_signature)
        if len(raw) != 64:
            raise AuthenticationFailed("bad_signature")
        try:
            keys.ed25519.verify(raw, body)
        except InvalidSignature:
            raise AuthenticationFailed("bad_signature") from None
        return Verification.ED25519
    if wh_signature:
        raw = _b64(wh_signature)
        try:
            keys.rsa.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise AuthenticationFailed("bad_signature") from None
        return Verification.RSA
    return None


def secret_matches(presented: str, candidates: Iterable[str]) -> bool:
    """Whether `presented` equals any candidate, comparing each in constant time."""
    given = presented.encode()
    matched = False
    for candidate in candidates:
        # No early exit: the time taken does not tell which candidate, or how much, matched.
        matched |= hmac.compare_digest(given, candidate.encode())
    return matched


def presented_secret(
    *, authorization: str | None, header_secret: str | None, query_token: str | None
) -> str | None:
    """The shared secret from `Authorization: Bearer`, `X-Webhook-Secret` or `?token=`."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    if header_secret and header_secret.strip():
        return header_secret.strip()
    if query_token:
        return query_token
    return None
