"""Shared fixtures: a movable clock, an engine driver that runs on-commit work, demo-like data."""
from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import time_machine

import automations.clock
import billing_events.clock
from automations import clock
from automations.engine import tick
from automations.steps.cursor import _PROGRAMS
from billing_events import emit
from billing_events.catalogue import get_event_type

START = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts at START on a clock that only moves when the test moves it.

    The engine's clock is frozen there; the wall clock this process reads (``time.time()``,
    ``datetime.now()``: what Django's ``auto_now``, simple-history and django-q2 stamp rows with)
    starts there too and moves with it, running on in real time in between, so no test depends
    on today's date. Processes a test starts (a browser, a worker cluster) keep the machine's time."""
    with time_machine.travel(START, tick=True) as wall:
        freeze = billing_events.clock.set_now

        def set_now(moment: datetime | None) -> None:
            freeze(moment)
            if moment is not None:
                wall.move_to(moment)

        # ``advance`` calls the module's ``set_now``; ``automations.clock`` holds its own reference.
        monkeypatch.setattr(billing_events.clock, "set_now", set_now)
        monkeypatch.setattr(automations.clock, "set_now", set_now)
        clock.set_now(START)
        yield
        clock.set_now(None)


@pytest.fixture(autouse=True)
def fresh_programs() -> Iterator[None]:
    """Each test parses its versions afresh: the process's cache of programs is keyed by a version's
    id and creation time, and on the test clock a rolled-back test's version can come back with
    both the same (SQLite reuses the id, the clock starts at START again)."""
    yield
    _PROGRAMS.clear()


class EngineDriver:
    """Drives the engine as the worker cluster would, running work queued on commit at once.

    django-q2 runs tasks in-process in the test settings (``sync``) and re-raises their errors.
    """

    def __init__(self, capture: Any) -> None:
        self._capture = capture

    @contextmanager
    def _running(self) -> Iterator[None]:
        with self._capture(execute=True):
            yield

    def emit(self, event_type: str, data: dict[str, Any], **kwargs: Any):
        with self._running():
            return emit(event_type, data, **kwargs)

    def tick(self):
        with self._running():
            return tick()

    def advance(self, **delta: float):
        """Move the clock forward and run everything that became due."""
        clock.advance(timedelta(**delta))
        return self.tick()

    def run(self, func, *args: Any, **kwargs: Any):
        """Call ``func`` and run what it queued on commit."""
        with self._running():
            return func(*args, **kwargs)


@pytest.fixture
def engine(django_capture_on_commit_callbacks) -> EngineDriver:
    return EngineDriver(django_capture_on_commit_callbacks)


def sample(event_type: str, **overrides: dict[str, Any]) -> dict[str, Any]:
    """The catalogue's sample payload for ``event_type``, with entity fields overridden."""
    data = get_event_type(event_type).sample_data()
    for root, fields in overrides.items():
        data[root] = {**data.get(root, {}), **fields}
    return copy.deepcopy(data)


@pytest.fixture
def dunning(db):
    """The library's Payment Dunning automation, active, with its email templates."""
    from automations import library, services

    automation = library.instantiate("payment_dunning")
    services.activate(automation)
    automation.refresh_from_db()
    return automation


from tests.fixtures.http_server import http_server  # noqa: E402,F401  (a fixture for every test)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--crash-kills", type=int, default=3,
                     help="how many times the crash test kills the worker cluster (default 3)")
