"""Property: no body or header combination makes the webhook answer a 5xx."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dentalvoice.db import Database
from tests import factories as f
from tests.conftest import TEST_SECRET
from tests.leads.test_router import URL, add_location


def _dumps(value: object) -> bytes:
    # The standard library writes integers of any size, as a sender may.
    return json.dumps(value).encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
known_keys = st.sampled_from(
    ["contact_id", "phone", "tags", "location", "type", "locationId", "data", "event",
     "contact", "customData", "webhookId", "timestamp", "id", "dnd", "dndSettings", "email"]
)  # fmt: skip
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(_dumps),
    st.dictionaries(known_keys, json_values, max_size=8).map(_dumps),
    st.builds(
        lambda base, extra: _dumps({**base, **extra}),
        st.sampled_from([f.workflow_body(), f.marketplace_body(), f.simple_body()]),
        st.dictionaries(known_keys, json_values, max_size=3),
    ),
)
header_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
headers = st.dictionaries(
    st.sampled_from(
        ["authorization", "x-webhook-secret", "x-ghl-signature", "x-wh-signature", "content-type"]
    ),
    header_values | st.just(f"Bearer {TEST_SECRET}") | st.just(TEST_SECRET),
    max_size=4,
)
tokens = st.none() | st.just(TEST_SECRET) | header_values


@pytest.fixture
async def clinic_client(client: httpx.AsyncClient, db: Database) -> httpx.AsyncClient:
    """The app with one clinic, so that routable bodies reach normalisation and storage."""
    await add_location(db)
    return client


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, headers=headers, token=tokens)
async def test_random_requests_never_get_a_5xx(
    clinic_client: httpx.AsyncClient, body: bytes, headers: dict[str, str], token: str | None
) -> None:
    params = {"token": token} if token is not None else {}
    response = await clinic_client.post(URL, content=body, headers=headers, params=params)
    assert response.status_code < 500, response.text
    assert response.status_code in {200, 202, 401, 413, 422}
