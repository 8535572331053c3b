"""Rows another app writes together with each new event (an outbox).

A row that must exist exactly when the event does, such as the queued task that dispatches it, is
written in the event's own statement (PostgreSQL) or transaction (SQLite), and only when the event
is new: it commits or rolls back with the event, so no crash between two commits can lose it, and
it costs no commit of its own. A redelivered event writes none.

An app registers a function of the event that returns the rows (unsaved model instances, none when
it has nothing to write this time), usually in its ``AppConfig.ready()``. billing_events knows
nothing of these rows but their models; ``event_received`` tells its receivers which were written.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from billing_events.models import Event

RowsFor = Callable[["Event"], Sequence[models.Model]]

_writers: dict[str, RowsFor] = {}


def write_with_events(uid: str, rows_for: RowsFor) -> None:
    """Write ``rows_for(event)`` with every new event; ``uid`` names it (registering it again replaces it)."""
    _writers[uid] = rows_for


def rows_for(event: Event) -> dict[str, list[models.Model]]:
    """The rows each registered writer has for ``event``, by its uid (writers with none left out)."""
    written = {}
    for uid, writer in _writers.items():
        rows = list(writer(event))
        if rows:
            written[uid] = rows
    return written
