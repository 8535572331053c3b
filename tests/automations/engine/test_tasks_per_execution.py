"""A task carries several executions: dispatch runs the executions it starts, a sweep hands out
wake-ups in batches, and work a task's time budget does not reach is queued, never dropped."""
from __future__ import annotations

from datetime import timedelta

import pytest

from automations import clock, services
from automations.engine import queueing, sweep
from automations.models import Execution, Task
from automations.triggers.events import dispatch
from billing_events import emit
from automations.conf import app_settings
from tests.conftest import sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch) -> list[str]:
    """The name of every task handed to the broker (they still run, in-process)."""
    names: list[str] = []
    for module in (queueing,):  # every task is queued through it
        real = module.async_task

        def record(func, *args, _real=real, **kwargs):
            names.append(func.rsplit(".", 1)[-1])
            return _real(func, *args, **kwargs)
        monkeypatch.setattr(module, "async_task", record)
    return names


def listeners(count: int, *, wait: str | None = None) -> None:
    for n in range(count):
        steps = [{"key": "note", "type": "action", "action": "create_task", "config": {"title": f"Note {n}"}}]
        if wait:
            steps.insert(0, {"key": "wait", "type": "delay", "duration": wait})
        automation = services.create_automation({"name": f"Listener {n}", "reentry": "allow", "steps": steps,
                                                 "trigger": {"type": "event", "event": "payment.failed"}})
        services.activate(automation)


def test_an_event_runs_the_executions_it_starts_in_its_dispatch_task(engine, queued):
    listeners(3)
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    assert queued == ["dispatch_event"], "no task per execution"
    assert set(Execution.objects.values_list("status", flat=True)) == {"succeeded"}
    assert Task.objects.count() == 3


def test_what_the_dispatch_budget_does_not_reach_is_queued(engine, queued, settings):
    settings.AUTOMATIONS = {"TIME_BUDGET_SECONDS": 0}
    listeners(3)
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    # The first execution runs one step and hands itself back; the two it did not reach follow.
    assert queued[:3] == ["dispatch_event", "resume_execution", "resume_executions"]
    assert set(Execution.objects.values_list("status", flat=True)) == {"succeeded"}
    assert Task.objects.count() == 3


def test_executions_a_dead_dispatch_started_are_run_by_the_sweep(engine):
    listeners(2)
    event = emit("payment.failed", sample("payment.failed"), id="evt_1")  # outside engine.run: not dispatched
    started = dispatch(event.pk, queue=False)  # the worker dies before running them
    assert [e.status for e in started] == ["waiting", "waiting"]
    engine.tick()
    assert Task.objects.count() == 0, "marked as queued: not handed out again at once"
    clock.advance(timedelta(seconds=app_settings.REQUEUE_SECONDS + 1))
    engine.tick()
    assert Task.objects.count() == 2


def test_a_sweep_hands_out_wake_ups_in_batches(engine, queued):
    listeners(1, wait="1h")
    for n in range(sweep.WAKE_UPS_PER_TASK * 2 + 5):
        engine.emit("payment.failed", sample("payment.failed"), id=f"evt_{n}")
    queued.clear()
    assert engine.advance(hours=1).woken == 25
    assert [name for name in queued if name.startswith("resume")] == ["resume_executions"] * 3
    assert Task.objects.count() == 25
