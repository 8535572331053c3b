"""A task carries several executions: dispatch runs the executions it starts, a sweep hands out
wake-ups in batches, and work a task's time budget does not reach is queued, never dropped."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django_q.conf import Conf
from django_q.models import Task as QueueResult

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


def test_executions_a_dead_dispatch_started_are_run_by_the_next_drain(engine):
    listeners(2)
    event = emit("payment.failed", sample("payment.failed"), id="evt_1")  # outside engine.run: not dispatched
    started = dispatch(event.pk, queue=False)  # the worker dies before running them
    assert [e.status for e in started] == ["waiting", "waiting"]
    engine.tick()
    assert Task.objects.count() == 2, "due and unclaimed: the tick's drain runs them at once"


def test_a_sweep_queues_drains_by_the_workers_not_by_the_wake_ups(engine, queued, monkeypatch):
    monkeypatch.setattr(Conf, "WORKERS", 2)
    listeners(1, wait="1h")
    for n in range(sweep.DUE_PER_TASK * 2 + 5):
        engine.emit("payment.failed", sample("payment.failed"), id=f"evt_{n}")
    queued.clear()
    assert engine.advance(hours=1).due == 25
    drains = [name for name in queued if name == "run_due"]
    assert drains == ["run_due", "run_due"], "one drain per worker; the first ran all 25 in its budget"
    assert Task.objects.count() == 25


def test_a_backlog_in_the_queue_gets_no_more_tasks_however_many_ticks_it_lasts(engine, queued, monkeypatch):
    listeners(1, wait="1h")
    for n in range(30):
        engine.emit("payment.failed", sample("payment.failed"), id=f"evt_{n}")
    monkeypatch.setattr(sweep, "tasks_waiting", lambda: 100)  # the workers are behind
    queued.clear()
    assert engine.advance(hours=1).due == 30
    for _ in range(10):
        assert engine.advance(minutes=7).due == 30
    assert "run_due" not in queued, "the tasks already queued will drain it"
    monkeypatch.undo()
    engine.tick()
    assert Task.objects.count() == 30


def test_a_drain_out_of_budget_queues_one_successor(engine, queued, settings, monkeypatch):
    listeners(1, wait="1h")
    for n in range(4):
        engine.emit("payment.failed", sample("payment.failed"), id=f"evt_{n}")
    settings.AUTOMATIONS = {"TIME_BUDGET_SECONDS": 0}
    monkeypatch.setattr(Conf, "WORKERS", 1)
    queued.clear()
    engine.advance(hours=1)
    # Each drain runs one execution, then hands the rest to one more drain; the last finds none.
    assert queued.count("run_due") == 5
    assert Task.objects.count() == 4


@pytest.mark.parametrize("kept", [False, True])
def test_the_result_of_an_engine_task_that_succeeded_is_kept_only_when_asked(engine, settings, kept):
    # The step log is the runs' record: by default django-q2 stores no result for the engine's
    # tasks that succeeded (a write, and with its save_limit a locked read, a task).
    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "KEEP_TASK_RESULTS": kept}
    listeners(1)
    engine.emit("payment.failed", sample("payment.failed"), id="evt_results")
    assert Task.objects.count() == 1
    results = QueueResult.objects.filter(func__startswith="automations.engine", success=True)
    assert results.exists() is kept
