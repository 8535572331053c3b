"""Keep the reference billing models in step with the events received.

Each event upserts the entities in its ``data`` by id. An event older than the last one applied to
an entity never overwrites it, so events delivered out of order leave the newest state in place.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import NotSupportedError, connection, models

from billing_events.models import Customer, Event, Invoice, Payment, Subscription

MIRRORED: dict[str, type[models.Model]] = {
    "customer": Customer,
    "subscription": Subscription,
    "invoice": Invoice,
    "payment": Payment,
}
UPSERT_VENDORS = ("postgresql", "sqlite")


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


def upsert(model: type[models.Model], pk: str, values: dict[str, Any], when: datetime) -> None:
    """Insert the entity, or update ``values`` on it unless an event newer than ``when`` did already.

    One ``INSERT … ON CONFLICT (id) DO UPDATE … WHERE`` statement, so two transactions mirroring
    the same new entity at once cannot collide on its primary key: the database settles who
    inserts, and the other one's update waits for that row. Django's
    ``bulk_create(update_conflicts=True)`` writes the same statement without the ``WHERE`` (the
    "newer wins" guard), and a select-then-insert races, hence this SQL. SQLite (3.24+) and
    PostgreSQL accept it word for word; those are the databases the apps support.
    """
    if connection.vendor not in UPSERT_VENDORS:
        raise NotSupportedError(f"mirroring events needs PostgreSQL or SQLite, not {connection.vendor}")
    entity = model(pk=pk, source_updated_at=when, **values)
    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    params = [field.get_db_prep_save(field.pre_save(entity, add=True), connection) for field in fields]
    updated = [quote(field.column) for field in fields
               if field.attname in values or field.name == "source_updated_at"]
    stamp = quote(model._meta.get_field("source_updated_at").column)
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote(model._meta.pk.column)}) DO UPDATE SET "
        f"{', '.join(f'{column} = EXCLUDED.{column}' for column in updated)} "
        f"WHERE {table}.{stamp} IS NULL OR {table}.{stamp} <= EXCLUDED.{stamp}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def mirror_event(event: Event) -> None:
    """Upsert every known entity in ``event.data`` unless a newer event already updated it."""
    data = event.data
    for root, model in MIRRORED.items():
        payload = data.get(root)
        if not isinstance(payload, dict) or not payload.get("id"):
            continue
        upsert(model, str(payload["id"]), _field_values(model, payload), event.occurred_at)
    credits = data.get("credits")
    customer = data.get("customer")
    if isinstance(credits, dict) and isinstance(customer, dict) and customer.get("id"):
        balance = Customer._meta.get_field("credit_balance").to_python(credits.get("balance"))
        Customer.objects.filter(pk=customer["id"]).update(credit_balance=balance)
