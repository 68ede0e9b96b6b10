"""Writing custom field values and tags the way GHL does, shared by contacts and opportunities.

Custom field items are keyed by field `id` (or by `key` on opportunities); the value may
arrive as `field_value` (v2 spec), `fieldValue` (v3 spec, accepted on v2 in practice) or
`value` (third-party guides). An unknown id is ignored without an error, as GHL does; the
emulator notes it in `emulator.ignored_custom_fields` so tests can see a silent miss. An
empty value (`""`, None or `[]`) clears the field.

Tags are trimmed and lower-cased (GHL shows and returns tags in lower case; unverified in
its docs) and kept unique in the order first added.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from dentalvoice.emulators.ghl.state import CustomField, GhlState

_VALUE_KEYS = ("field_value", "fieldValue", "value")


def apply_custom_fields(
    target: MutableMapping[str, Any],
    items: Iterable[Any],
    *,
    state: GhlState,
    location_id: str,
    model: str,
) -> list[str]:
    """Write `items` into `target` (values by field id).

    Args:
        target: The contact's or opportunity's values by field id.
        items: The request's `customFields` list.
        state: For the location's field definitions.
        location_id: Whose definitions apply.
        model: `contact` or `opportunity`.

    Returns:
        The ids or keys that matched no definition (ignored).
    """
    ignored: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        definition = _definition(state, location_id, model, item.get("id"), item.get("key"))
        if definition is None:
            ignored.append(str(item.get("id") or item.get("key")))
            continue
        key = next((k for k in _VALUE_KEYS if k in item), None)
        if key is None:
            continue
        value = item[key]
        if value is None or value == "" or value == []:
            target.pop(definition.id, None)
        else:
            target[definition.id] = value
    return ignored


def _definition(
    state: GhlState, location_id: str, model: str, field_id: Any, key: Any
) -> CustomField | None:
    for definition in state.fields_of(location_id, model):
        if field_id is not None and definition.id == field_id:
            return definition
        if (
            field_id is None
            and key is not None
            and key in (definition.field_key, definition.short_key)
        ):
            return definition
    return None


def normalize_tags(tags: Iterable[Any]) -> list[str]:
    """Trimmed, lower-cased, non-empty, unique tags in first-seen order."""
    seen: list[str] = []
    for tag in tags:
        text = str(tag).strip().lower()
        if text and text not in seen:
            seen.append(text)
    return seen


def add_tags(current: list[str], new: Iterable[Any]) -> list[str]:
    """`current` plus the new tags not already there."""
    return normalize_tags([*current, *new])


def remove_tags(current: list[str], gone: Iterable[Any]) -> list[str]:
    """`current` without the given tags (compared like GHL stores them)."""
    dropped = set(normalize_tags(gone))
    return [t for t in current if t not in dropped]
