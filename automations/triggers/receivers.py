"""Signal receivers that connect billing events to the engine."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models

from automations.engine.queueing import DISPATCH_EVENT, queue_now, queued_row

#: The uid under which the dispatch is written with each new event (``billing_events.outbox``).
DISPATCH_WITH_EVENT = "automations.dispatch"


def dispatch_row(event: Any) -> Sequence[models.Model]:
    """The event's dispatch task, to be written with the event itself when the broker allows it."""
    row = queued_row(DISPATCH_EVENT, event.pk)
    return [row] if row is not None else []


def on_event_received(sender: Any, event: Any, written: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """An event was stored and committed: queue its dispatch on the worker cluster, unless it was
    queued with the event already."""
    if written and DISPATCH_WITH_EVENT in written:
        return
    queue_now(DISPATCH_EVENT, event.pk)
