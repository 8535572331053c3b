"""The clock every time-dependent part of both apps reads, so tests can move time by hand and test
mode can run an automation in virtual time."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.utils import timezone

_frozen: datetime | None = None
# Virtual time of a test-mode run: per context (thread or task), so it never leaks into real work.
_virtual: ContextVar[datetime | None] = ContextVar("virtual_time", default=None)


def now() -> datetime:
    """The current time (aware, UTC): virtual time in test mode, the time a test has set, or now."""
    virtual = _virtual.get()
    if virtual is not None:
        return virtual
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


@contextmanager
def virtual_time(moment: datetime) -> Iterator[None]:
    """Within the block (this context only), ``now()`` is ``moment`` or what ``set_virtual`` sets."""
    token = _virtual.set(moment)
    try:
        yield
    finally:
        _virtual.reset(token)


def set_virtual(moment: datetime) -> None:
    """Move virtual time (only inside ``virtual_time``)."""
    if _virtual.get() is None:
        raise RuntimeError("set_virtual() only works inside virtual_time()")
    _virtual.set(moment)
