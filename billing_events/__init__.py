"""Billing events: the event catalogue, the idempotent event inbox, ``emit()`` and the gateway."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from billing_events.models import Event


def emit(event_type: str, data: dict[str, Any], *, id: str | None = None,  # noqa: A002
         occurred_at: datetime | str | None = None) -> Event:
    """Validate, store and (on commit) dispatch a billing event. See ``billing_events.emitting``."""
    from billing_events.emitting import emit as _emit  # it imports models: not while the app loads

    return _emit(event_type, data, id=id, occurred_at=occurred_at)


__all__ = ["emit"]
