"""GoHighLevel: the API v2 client, its credentials and its rate limits.

Public surface:

- `GhlClient` (`open_ghl_client(settings, db=…, redis=…)` builds the process's one) with typed,
  keyword-only, location-scoped calls returning the models in `dentalvoice.crm.schemas`;
- `StoredTokens` (OAuth grants in `ghl_credential`, or the clinic's private integration token),
  `StaticTokens`, and the `TokenProvider` protocol; `GhlOAuth` for the token endpoints;
- `TokenBucket` / `RedisTokenBucket` behind the `RateLimiter` protocol;
- the error tree of `dentalvoice.crm.errors`.

The write-back of call results is in its own modules, imported where used (the package stays
light for the processes that only need the client): `options` (a clinic's CRM options),
`writes` (the write models), `mapping` and `note` (a call → its writes; pure), `outbox` (the
`crm_write` table's service functions: enqueue, claim, settle, list, retry), `delivery` (one
write through the client, never twice), `sender` (`OutboxSender`, the loop `serve` and `worker`
run) and `admin` (what `dentalvoice outbox` calls).
"""

from __future__ import annotations

from dentalvoice.crm.auth import Connection, StaticTokens, StoredTokens, TokenProvider
from dentalvoice.crm.client import GhlClient, open_ghl_client
from dentalvoice.crm.errors import (
    GhlAuthError,
    GhlError,
    GhlRateLimited,
    GhlRejected,
    GhlRetryable,
    UnknownCustomField,
)
from dentalvoice.crm.fields import CustomFieldResolver
from dentalvoice.crm.models import GhlCredential, GhlUserType
from dentalvoice.crm.oauth import GhlOAuth
from dentalvoice.crm.ratelimit import RateLimiter, RateLimitInfo, RedisTokenBucket, TokenBucket
from dentalvoice.crm.schemas import (
    Appointment,
    Contact,
    CustomField,
    Note,
    Opportunity,
    TokenGrant,
)
from dentalvoice.crm.transport import CALENDARS_VERSION, VERSION, GhlTransport

__all__ = [
    "CALENDARS_VERSION",
    "VERSION",
    "Appointment",
    "Connection",
    "Contact",
    "CustomField",
    "CustomFieldResolver",
    "GhlAuthError",
    "GhlClient",
    "GhlCredential",
    "GhlError",
    "GhlOAuth",
    "GhlRateLimited",
    "GhlRejected",
    "GhlRetryable",
    "GhlTransport",
    "GhlUserType",
    "Note",
    "Opportunity",
    "RateLimitInfo",
    "RateLimiter",
    "RedisTokenBucket",
    "StaticTokens",
    "StoredTokens",
    "TokenBucket",
    "TokenGrant",
    "TokenProvider",
    "UnknownCustomField",
    "open_ghl_client",
]
