"""Stored events for a backtest, a page at a time: filtered by type and occurred time, in the
order they occurred, paged by keyset (``(occurred_at, id)`` after the last one seen), never by
OFFSET, so each page costs the same however deep into the period it is."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Q, QuerySet

from billing_events.models import Event

PAGE_SIZE = 500


def events_between(types: list[str], start: datetime, end: datetime, *, include_end: bool = False) -> QuerySet:
    """Events of ``types`` that occurred from ``start`` to before ``end`` (or up to ``end`` inclusive)."""
    upto = {"occurred_at__lte": end} if include_end else {"occurred_at__lt": end}
    return Event.objects.filter(type__in=types, occurred_at__gte=start, **upto)


def pages(events: QuerySet, page_size: int = PAGE_SIZE,
          after: tuple[datetime, str] | None = None) -> Iterator[list[Event]]:
    """``events`` in occurred order (ties by id), ``page_size`` at a time, from after the event
    ``after`` names (its ``occurred_at`` and id) when given."""
    ordered = events.order_by("occurred_at", "id").only("id", "type", "data", "occurred_at")
    while True:
        query = ordered
        if after is not None:
            moment, last_id = after
            query = ordered.filter(Q(occurred_at__gt=moment) | Q(occurred_at=moment, id__gt=last_id))
        page = list(query[:page_size])
        if page:
            yield page
        if len(page) < page_size:
            return
        after = (page[-1].occurred_at, page[-1].id)
