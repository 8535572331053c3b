"""``emit()``: validate an event, store it once by id, mirror its entities, announce it on commit.

On PostgreSQL the event, its mirrored entities and the rows registered in ``billing_events.outbox``
are one statement (``billing_events.sql.insert_with``): one round trip and, outside a transaction,
one commit, as a bare insert.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing_events.catalogue import event_type_names, get_event_type
from billing_events.clock import now
from billing_events.conf import app_settings
from billing_events.errors import InvalidInput
from billing_events.mirror import mirrored
from billing_events.models import Event
from billing_events.outbox import rows_for
from billing_events.signals import event_received
from billing_events.sql import insert_with
from billing_events.validation import check_json, schema_errors


def validate_event(event_type: str, data: Any) -> None:
    """Raise :class:`InvalidInput` naming the field when ``data`` is not a valid ``event_type``."""
    definition = get_event_type(event_type)
    if definition is None:
        raise InvalidInput(
            f"unknown event type {event_type!r}; known types: {', '.join(event_type_names())}", field="type"
        )
    if not isinstance(data, dict):
        raise InvalidInput("must be a JSON object", field="data")
    check_json(data, "data", max_bytes=app_settings.EVENT_MAX_BYTES, nul_free=True)
    if definition.quick_check(data):
        return  # the common case; jsonschema explains the rest (billing_events.quick_schema)
    errors = schema_errors(definition.validator, data, "data")
    if errors:
        raise InvalidInput(errors)


def _parse_occurred_at(occurred_at: datetime | str | None) -> datetime:
    if occurred_at is None:
        return now()
    if isinstance(occurred_at, str):
        parsed = parse_datetime(occurred_at)
        if parsed is None:
            raise InvalidInput(f"{occurred_at!r} is not an ISO 8601 date-time", field="occurred_at")
        occurred_at = parsed
    if timezone.is_naive(occurred_at):
        raise InvalidInput("must include a timezone offset", field="occurred_at")
    try:
        return occurred_at.astimezone(dt_timezone.utc)  # stored in UTC, whatever the sender's offset
    except (OverflowError, ValueError) as exc:
        raise InvalidInput(f"{occurred_at.isoformat()} is out of range", field="occurred_at") from exc


def emit(event_type: str, data: dict[str, Any], *, id: str | None = None,  # noqa: A002
         occurred_at: datetime | str | None = None) -> Event:
    """Store the event unless its id is already stored, and dispatch it once the caller commits.

    Returns the stored Event; ``event.created`` tells whether this call stored it (False for a
    redelivery of an id already seen, which starts nothing).
    """
    if id is not None and (not isinstance(id, str) or not id.strip() or len(id) > 255 or "\x00" in id):
        raise InvalidInput("must be a non-empty string of at most 255 characters", field="id")
    validate_event(event_type, data)
    when = _parse_occurred_at(occurred_at)
    event_id = id or f"evt_{uuid.uuid4().hex}"

    event = Event(id=event_id, type=event_type, data=data, occurred_at=when)
    # The event, its mirrored entities and the outbox rows are stored together or not at all. The
    # insert skips an id already stored instead of failing, so no look-up beforehand is needed;
    # only a redelivery reads the stored event.
    written = rows_for(event)
    created = insert_with(event, mirrored(event), [row for rows in written.values() for row in rows])
    if created:
        transaction.on_commit(lambda: event_received.send(sender=Event, event=event, written=written))
        event.created = True
        return event
    return _stored(event_id, event_type)


def _stored(event_id: str, event_type: str) -> Event:
    """The event already stored under ``event_id``, refused if it is of another type."""
    existing = Event.objects.filter(pk=event_id).first()
    if existing is None:  # pruned between our insert and this read: refuse rather than guess
        raise IntegrityError(f"event {event_id!r} was stored by another emit and is gone already")
    if existing.type != event_type:
        raise InvalidInput(f"event id {event_id!r} was already used for a {existing.type} event", field="id")
    existing.created = False
    return existing
