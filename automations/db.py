"""Database helpers shared by the sweep's parts."""
from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet


def skip_locked(queryset: QuerySet, *, of: tuple[str, ...] = ()) -> QuerySet:
    """Only rows no other sweeper holds, locked for this transaction (PostgreSQL: ``FOR UPDATE
    SKIP LOCKED``, ``OF`` the given tables); SQLite serialises writers on its own."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=of)
    return queryset
