"""Keep the reference billing models in step with the events received.

Each event upserts the entities in its ``data`` by id. An event older than the last one applied to
an entity never overwrites it, so events delivered out of order leave the newest state in place.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from billing_events.models import Customer, Event, Invoice, Payment, Subscription

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


def mirror_event(event: Event) -> None:
    """Upsert every known entity in ``event.data`` unless a newer event already updated it."""
    data = event.data
    for root, model in MIRRORED.items():
        payload = data.get(root)
        if not isinstance(payload, dict) or not payload.get("id"):
            continue
        values = _field_values(model, payload)
        entity = model.objects.select_for_update().filter(pk=payload["id"]).first()
        if entity is None:
            model.objects.create(pk=payload["id"], source_updated_at=event.occurred_at, **values)
        elif entity.source_updated_at is None or entity.source_updated_at <= event.occurred_at:
            for attname, value in values.items():
                setattr(entity, attname, value)
            entity.source_updated_at = event.occurred_at
            entity.save()
    credits = data.get("credits")
    customer = data.get("customer")
    if isinstance(credits, dict) and isinstance(customer, dict) and customer.get("id"):
        balance = Customer._meta.get_field("credit_balance").to_python(credits.get("balance"))
        Customer.objects.filter(pk=customer["id"]).update(credit_balance=balance)
