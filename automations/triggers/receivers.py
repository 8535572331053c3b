"""Signal receivers that connect billing events to the engine."""
from __future__ import annotations

from typing import Any

from automations.engine.queueing import DISPATCH_EVENT, queue_now


def on_event_received(sender: Any, event: Any, **kwargs: Any) -> None:
    """An event was stored and committed: queue its dispatch on the worker cluster."""
    queue_now(DISPATCH_EVENT, event.pk)
