"""The clock every time-dependent part of both apps reads, so tests can move time by hand."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

_frozen: datetime | None = None


def now() -> datetime:
    """The current time (aware, UTC), or the time a test has set."""
    return _frozen if _frozen is not None else timezone.now()


def set_now(moment: datetime | None) -> None:
    """Freeze the clock at ``moment`` (None lets it run again)."""
    global _frozen
    if moment is not None and timezone.is_naive(moment):
        raise ValueError("the clock needs an aware datetime")
    _frozen = moment


def advance(delta: timedelta) -> datetime:
    """Move a frozen clock forward by ``delta`` and return the new time."""
    if _frozen is None:
        raise RuntimeError("advance() needs a frozen clock: call set_now() first")
    set_now(_frozen + delta)
    return _frozen
