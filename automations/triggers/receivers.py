"""Signal receivers that connect billing events to the engine."""
from __future__ import annotations

from typing import Any

from django_q.tasks import async_task


def on_event_received(sender: Any, event: Any, **kwargs: Any) -> None:
    """An event was stored and committed: queue its dispatch on the worker cluster."""
    async_task("automations.engine.tasks.dispatch_event", event.pk, group="automations")
