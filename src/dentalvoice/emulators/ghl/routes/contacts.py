"""Contacts API (`apps/contacts.json`): a contact, its tags, notes and appointments."""

from __future__ import annotations

from typing import Any

from dentalvoice.emulators.ghl.routing import Ctx, Reply, Route
from dentalvoice.emulators.ghl.state import Contact, Note
from dentalvoice.emulators.ghl.values import (
    add_tags,
    apply_custom_fields,
    normalize_tags,
    remove_tags,
)
from dentalvoice.emulators.ghl.views import contact_json, event_json, note_json

# Writable contact fields stored as given (the rest of UpdateContactDto has its own rules).
_PLAIN = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "phone": "phone",
    "timezone": "timezone",
    "assignedTo": "assigned_to",
}
_EXTRA = ("address1", "city", "state", "postalCode", "website", "source", "country", "dateOfBirth")


def get_contact(ctx: Ctx) -> Reply:
    """`GET /contacts/{contactId}`."""
    return Reply(200, {"contact": contact_json(ctx.contact(ctx.params["contactId"]))})


def update_contact(ctx: Ctx) -> Reply:
    """`PUT /contacts/{contactId}`: `tags` replaces every tag, as GHL documents."""
    contact = ctx.contact(ctx.params["contactId"])
    body = ctx.json()
    for name, attribute in _PLAIN.items():
        if name in body:
            setattr(contact, attribute, body[name])
    if "name" in body and "firstName" not in body and "lastName" not in body:
        first, _, last = str(body["name"] or "").partition(" ")
        contact.first_name, contact.last_name = first or None, last or None
    for name in _EXTRA:
        if name in body:
            contact.extra[name] = body[name]
    if "dnd" in body:
        contact.dnd = bool(body["dnd"])
    _merge_channels(contact.dnd_settings, body.get("dndSettings"))
    _merge_channels(contact.inbound_dnd_settings, body.get("inboundDndSettings"))
    if "tags" in body:
        contact.tags = normalize_tags(body["tags"])
    if "customFields" in body:
        _write_fields(ctx, contact, body["customFields"])
    contact.date_updated = ctx.now()
    return Reply(200, {"succeded": True, "contact": contact_json(contact)})


def add_contact_tags(ctx: Ctx) -> Reply:
    """`POST /contacts/{contactId}/tags` → 201 with every tag the contact now has."""
    contact = ctx.contact(ctx.params["contactId"])
    contact.tags = add_tags(contact.tags, ctx.json().get("tags", []))
    contact.date_updated = ctx.now()
    return Reply(201, {"tags": list(contact.tags)})


def remove_contact_tags(ctx: Ctx) -> Reply:
    """`DELETE /contacts/{contactId}/tags` → the tags left."""
    contact = ctx.contact(ctx.params["contactId"])
    contact.tags = remove_tags(contact.tags, ctx.json().get("tags", []))
    contact.date_updated = ctx.now()
    return Reply(200, {"tags": list(contact.tags)})


def create_note(ctx: Ctx) -> Reply:
    """`POST /contacts/{contactId}/notes` → 201 `{"note": …}`."""
    contact = ctx.contact(ctx.params["contactId"])
    body = ctx.json()
    note = Note(
        id=ctx.emulator.ids.object_id(),
        contact_id=contact.id,
        body=str(body["body"]),
        date_added=ctx.now(),
        user_id=body.get("userId"),
        title=body.get("title"),
        color=body.get("color"),
        pinned=bool(body.get("pinned", False)),
    )
    ctx.state.notes[note.id] = note
    return Reply(201, {"note": note_json(note)})


def list_notes(ctx: Ctx) -> Reply:
    """`GET /contacts/{contactId}/notes`."""
    contact = ctx.contact(ctx.params["contactId"])
    return Reply(200, {"notes": [note_json(n) for n in ctx.state.notes_of(contact.id)]})


def list_appointments(ctx: Ctx) -> Reply:
    """`GET /contacts/{contactId}/appointments` → `{"events": […]}`."""
    contact = ctx.contact(ctx.params["contactId"])
    events = [event_json(a, ctx.state) for a in ctx.state.appointments_of(contact.id)]
    return Reply(200, {"events": events})


def _merge_channels(target: dict[str, dict[str, str]], given: Any) -> None:
    # Channels present in the request replace their old setting; others are kept.
    if isinstance(given, dict):
        for channel, setting in given.items():
            if isinstance(setting, dict):
                target[channel] = {k: str(v) for k, v in setting.items()}


def _write_fields(ctx: Ctx, contact: Contact, items: Any) -> None:
    ignored = apply_custom_fields(
        contact.custom_fields,
        items if isinstance(items, list) else [],
        state=ctx.state,
        location_id=contact.location_id,
        model="contact",
    )
    ctx.emulator.ignored_custom_fields.extend((contact.id, key) for key in ignored)


ROUTES = (
    Route("GET", "/contacts/{contactId}/notes", list_notes, "contacts.readonly"),
    Route("POST", "/contacts/{contactId}/notes", create_note, "contacts.write"),
    Route("POST", "/contacts/{contactId}/tags", add_contact_tags, "contacts.write"),
    Route("DELETE", "/contacts/{contactId}/tags", remove_contact_tags, "contacts.write"),
    Route("GET", "/contacts/{contactId}/appointments", list_appointments, "contacts.readonly"),
    Route("GET", "/contacts/{contactId}", get_contact, "contacts.readonly"),
    Route("PUT", "/contacts/{contactId}", update_contact, "contacts.write"),
)
