"""Database helpers shared by the sweep's parts and the drains."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

#: Rows another claimer took first, passed over before one gives way (SQLite: no SKIP LOCKED).
CLAIM_TRIES = 5


def skip_locked(queryset: QuerySet, *, of: tuple[str, ...] = ()) -> QuerySet:
    """Only rows no other sweeper holds, locked for this transaction (PostgreSQL: ``FOR UPDATE
    SKIP LOCKED``, ``OF`` the given tables); SQLite serialises writers on its own."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=of)
    return queryset


def claim_first(candidates: QuerySet, claim: Callable[[Any], bool]) -> Any | None:
    """The first row of ``candidates`` (an ordered ``values_list`` query) that ``claim`` takes (a
    guarded update: True when it applied), or None when there is none. On PostgreSQL the row is
    locked with ``SKIP LOCKED`` in the claim's transaction, so claimers at once take different
    rows; SQLite serialises writers, and a row another claimer took first is passed over."""
    for _ in range(CLAIM_TRIES):
        with transaction.atomic() if connection.features.has_select_for_update_skip_locked else nullcontext():
            candidate = skip_locked(candidates).first()
            if candidate is None:
                return None
            if claim(candidate):
                return candidate
    return None
