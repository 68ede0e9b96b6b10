"""Custom-field keys resolve to ids with one list call per location, and unknown keys fail."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from dentalvoice.crm import CustomField, CustomFieldResolver, GhlClient, UnknownCustomField
from tests.crm.conftest import LOCATION, FakeGhl, query_of

FIELDS = [
    CustomField(id="f-pain", field_key="contact.pain_level"),
    CustomField(id="f-treat", field_key="contact.treatment_interest"),
    CustomField(id="f-opp", field_key="opportunity.source_detail"),
    CustomField(id="f-nokey"),
]


class Lister:
    def __init__(self, *lists: Sequence[CustomField]) -> None:
        self.lists = list(lists)
        self.calls: list[str] = []

    async def __call__(self, location_id: str) -> Sequence[CustomField]:
        self.calls.append(location_id)
        await asyncio.sleep(0)  # let concurrent resolves pile up on the lock
        return self.lists.pop(0) if len(self.lists) > 1 else self.lists[0]


async def test_many_resolves_cost_one_list_call() -> None:
    lister = Lister(FIELDS)
    resolver = CustomFieldResolver(lister, clock=lambda: 0.0)

    assert await resolver.resolve(location_id=LOCATION, key="contact.pain_level") == "f-pain"
    assert await resolver.resolve_many(
        location_id=LOCATION, keys=["contact.treatment_interest", "opportunity.source_detail"]
    ) == {"contact.treatment_interest": "f-treat", "opportunity.source_detail": "f-opp"}
    await asyncio.gather(
        *(resolver.resolve(location_id=LOCATION, key="contact.pain_level") for _ in range(10))
    )
    assert lister.calls == [LOCATION]


async def test_concurrent_first_resolves_share_the_list_call() -> None:
    lister = Lister(FIELDS)
    resolver = CustomFieldResolver(lister, clock=lambda: 0.0)
    await asyncio.gather(
        *(resolver.resolve(location_id=LOCATION, key="contact.pain_level") for _ in range(10))
    )
    assert lister.calls == [LOCATION]


async def test_an_unknown_key_names_itself_and_the_location() -> None:
    resolver = CustomFieldResolver(Lister(FIELDS), clock=lambda: 0.0)
    with pytest.raises(UnknownCustomField) as caught:
        await resolver.resolve_many(
            location_id=LOCATION, keys=["contact.pain_level", "contact.pain_levle"]
        )
    assert caught.value.key == "contact.pain_levle"
    assert caught.value.location_id == LOCATION
    assert "contact.pain_levle" in str(caught.value) and LOCATION in str(caught.value)


async def test_an_unknown_key_relists_once_when_the_cache_is_not_new() -> None:
    now = [0.0]
    new_field = CustomField(id="f-new", field_key="contact.callback_time")
    lister = Lister(FIELDS, [*FIELDS, new_field])
    resolver = CustomFieldResolver(lister, recheck_after_s=60, clock=lambda: now[0])

    await resolver.resolve(location_id=LOCATION, key="contact.pain_level")
    with pytest.raises(UnknownCustomField):  # the list is seconds old: no second call
        await resolver.resolve(location_id=LOCATION, key="contact.callback_time")
    assert len(lister.calls) == 1

    now[0] = 120.0
    assert await resolver.resolve(location_id=LOCATION, key="contact.callback_time") == "f-new"
    assert len(lister.calls) == 2


async def test_the_cache_expires_and_can_be_dropped() -> None:
    now = [0.0]
    lister = Lister(FIELDS)
    resolver = CustomFieldResolver(lister, ttl_s=600, clock=lambda: now[0])
    await resolver.resolve(location_id=LOCATION, key="contact.pain_level")
    now[0] = 601.0
    await resolver.resolve(location_id=LOCATION, key="contact.pain_level")
    resolver.invalidate(LOCATION)
    await resolver.resolve(location_id=LOCATION, key="contact.pain_level")
    await resolver.resolve(location_id="LocOther", key="contact.pain_level")
    assert lister.calls == [LOCATION, LOCATION, LOCATION, "LocOther"]


async def test_the_clients_resolver_lists_every_model_once(fake: FakeGhl, ghl: GhlClient) -> None:
    fake.on(
        "GET",
        f"/locations/{LOCATION}/customFields",
        json={
            "customFields": [
                {"id": "f-pain", "fieldKey": "contact.pain_level", "model": "contact"},
                {"id": "f-opp", "fieldKey": "opportunity.source_detail", "model": "opportunity"},
            ]
        },
    )
    ids = await ghl.fields.resolve_many(
        location_id=LOCATION, keys=["contact.pain_level", "opportunity.source_detail"]
    )
    assert ids == {"contact.pain_level": "f-pain", "opportunity.source_detail": "f-opp"}
    assert await ghl.fields.resolve(location_id=LOCATION, key="contact.pain_level") == "f-pain"
    (request,) = fake.requests
    assert query_of(request) == {"model": "all"}
