"""OAuth 2.0 (`apps/oauth.json`): the token endpoint and agency → location tokens.

Both take form bodies. `/oauth/token` needs no token and no `Version` header;
`/oauth/locationToken` needs an agency (Company) token and `Version: 2021-07-28`.
"""

from __future__ import annotations

from dentalvoice.emulators.ghl.routing import Ctx, Reply, Route


def token(ctx: Ctx) -> Reply:
    """`POST /oauth/token`: exchange a code, or rotate a refresh token."""
    return Reply(200, ctx.emulator.tokens.token(ctx.form()))


def location_token(ctx: Ctx) -> Reply:
    """`POST /oauth/locationToken`: a Location token from the company's token."""
    assert ctx.principal is not None  # the route requires a Company token
    return Reply(200, ctx.emulator.tokens.location_token(ctx.principal, ctx.form()))


ROUTES = (
    Route("POST", "/oauth/token", token, access="none"),
    Route("POST", "/oauth/locationToken", location_token, "oauth.write", access="company"),
)
