"""Keep the reference billing models in step with the events received.

Each event upserts the entities in its ``data`` by id. An event older than the last one applied to
an entity never overwrites it, so events delivered out of order leave the newest state in place.
The upserts are written with the event itself (``billing_events.sql.insert_with``).
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from billing_events.models import Customer, Event, Invoice, Payment, Subscription
from billing_events.sql import Upsert

MIRRORED: dict[str, type[models.Model]] = {
    "customer": Customer,
    "subscription": Subscription,
    "invoice": Invoice,
    "payment": Payment,
}


def _field_values(model: type[models.Model], payload: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name == "source_updated_at" or field.name not in payload:
            continue
        value = payload[field.name]
        if value is None and not field.null:
            continue
        try:
            values[field.attname] = field.to_python(value)
        except ValidationError:
            continue  # the schema already vetted the documented fields; ignore a host's odd extras
    return values


def mirrored(event: Event) -> list[Upsert]:
    """An upsert of every known entity in ``event.data``, applied unless a newer event already updated it."""
    data = event.data
    upserts = []
    for root, model in MIRRORED.items():
        payload = data.get(root)
        if not isinstance(payload, dict) or not payload.get("id"):
            continue
        values = _field_values(model, payload)
        if model is Customer:
            values.update(_credit_balance(data))
        upserts.append(Upsert(model, str(payload["id"]), values, event.occurred_at))
    return upserts


def _credit_balance(data: dict[str, Any]) -> dict[str, Any]:
    """The customer's ``credit_balance`` from the event's ``credits``, if it carries them.

    Written by the customer's own upsert, so it costs no statement of its own and an older event
    cannot overwrite a newer balance either.
    """
    credits = data.get("credits")
    if not isinstance(credits, dict) or credits.get("balance") is None:
        return {}
    try:
        return {"credit_balance": Customer._meta.get_field("credit_balance").to_python(credits["balance"])}
    except ValidationError:
        return {}
