"""At-least-once delivery: duplicated tasks and wake-ups run no step twice; dead workers are recovered."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from automations import clock
from automations.actions import Action, registry
from automations.engine import interpreter, transitions
from automations.engine.tasks import dispatch_event, resume_execution
from automations.models import Execution, StepRun, Task
from billing_events.conf import app_settings
from tests.conftest import sample


class WorkerDied(BaseException):
    """Stands for the process being killed: not an Exception, so nothing in the engine catches it."""


def test_the_same_wake_up_delivered_twice_runs_each_step_once(dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    execution = Execution.objects.get()
    token = execution.wait_token
    clock.advance(timedelta(days=3))
    engine.run(resume_execution, execution.pk, token)
    engine.run(resume_execution, execution.pk, token)  # the broker hands the same task out again
    engine.tick()
    assert [m.subject for m in mail.outbox].count("Action required: invoice INV-2026-0042 is still unpaid") == 1
    assert Task.objects.count() == 1
    assert StepRun.objects.filter(step_key="urgent").count() == 1


def test_a_stale_wake_up_finds_nothing_to_do(dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    execution = Execution.objects.get()
    first_token = 1
    assert execution.wait_token > first_token
    engine.run(resume_execution, execution.pk, first_token)  # the start task, delivered late
    assert StepRun.objects.filter(step_key="gentle").count() == 1
    assert len(mail.outbox) == 1


def test_the_same_dispatch_delivered_twice_starts_one_execution(dunning, engine):
    event = engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    engine.run(dispatch_event, event.pk)
    assert Execution.objects.count() == 1
    assert len(mail.outbox) == 1


def test_two_workers_claiming_one_wake_up_get_one_lease(dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    execution = Execution.objects.get()
    leases = [transitions.claim(execution.pk, execution.wait_token) for _ in range(2)]
    assert leases[0] and leases[1] is None


def test_a_worker_that_dies_between_steps_is_resumed_from_its_cursor(dunning, engine, monkeypatch):
    real_step = interpreter._run_one_step
    calls = []

    def dies_after_first_step(*args):
        calls.append(1)
        if len(calls) == 2:
            raise WorkerDied
        return real_step(*args)

    monkeypatch.setattr(interpreter, "_run_one_step", dies_after_first_step)
    with pytest.raises(WorkerDied):
        engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    monkeypatch.setattr(interpreter, "_run_one_step", real_step)

    execution = Execution.objects.get()
    assert execution.status == "running" and execution.cursor[0]["index"] == 1
    assert len(mail.outbox) == 1

    engine.advance(seconds=app_settings.LEASE_SECONDS - 1)
    assert Execution.objects.get().status == "running", "a live lease is left alone"
    result = engine.advance(seconds=2)
    assert result.recovered == 1
    execution.refresh_from_db()
    assert execution.status == "waiting"
    assert list(execution.step_runs.values_list("step_key", flat=True)) == ["gentle", "wait_3d"]
    assert len(mail.outbox) == 1, "the step finished before the crash is not run again"


class CrashingTask(Action):
    """Creates its task, then the worker dies before the result is stored."""

    key = "crashing_task"
    crash = True

    def run(self, config, context):
        registry.get("create_task").run({"title": "Follow up"}, context)
        if CrashingTask.crash:
            raise WorkerDied
        return {"done": True}

    def recover(self, context):
        return registry.get("create_task").recover(context)


def test_an_attempt_cut_short_by_a_crash_is_resolved_by_its_idempotency_key(db, engine):
    from automations import services

    with registry.register_temporarily(CrashingTask):
        automation = services.create_automation({
            "name": "Crash", "trigger": {"type": "manual"},
            "steps": [{"key": "task", "type": "action", "action": "crashing_task", "config": {}}]})
        services.activate(automation)
        with pytest.raises(WorkerDied):
            engine.run(services.run_manual, automation, {})
        CrashingTask.crash = False
        engine.advance(seconds=app_settings.LEASE_SECONDS + 1)
    execution = Execution.objects.get()
    assert execution.status == "succeeded"
    assert Task.objects.count() == 1, "the task created before the crash is not created again"
    run = execution.step_runs.get()
    assert run.status == "succeeded" and "recovered by idempotency key" in run.error
    assert run.output["task_id"] == Task.objects.get().pk


def test_an_attempt_cut_short_without_a_way_to_recover_is_performed_again(db, engine, monkeypatch):
    from automations import services

    automation = services.create_automation({
        "name": "Mail", "trigger": {"type": "manual"},
        "steps": [{"key": "hello", "type": "action", "action": "send_email",
                   "config": {"to": "a@example.com", "subject": "Hi", "body": "Hello"}}]})
    services.activate(automation)
    send = registry.get("send_email").run
    monkeypatch.setattr(registry.get("send_email"), "run", lambda *a: (_ for _ in ()).throw(WorkerDied()))
    with pytest.raises(WorkerDied):
        engine.run(services.run_manual, automation, {})
    monkeypatch.setattr(registry.get("send_email"), "run", send)
    engine.advance(seconds=app_settings.LEASE_SECONDS + 1)
    execution = Execution.objects.get()
    assert execution.status == "succeeded"
    assert list(execution.step_runs.values_list("attempt", "status")) == [(1, "interrupted"), (2, "succeeded")]
    assert mail.outbox[0].extra_headers["Message-ID"] == f"<{execution.pk}.hello.0@automations>"


def test_a_canceled_execution_is_not_resumed(dunning, engine):
    from automations import services

    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    execution = Execution.objects.get()
    assert services.cancel_execution(execution, "customer called")
    assert execution.status == "canceled" and execution.status_reason == "customer called"
    engine.advance(days=10)
    assert len(mail.outbox) == 1
    assert not services.cancel_execution(execution), "an ended execution cannot be canceled again"


def test_a_lost_dispatch_is_redelivered_by_the_sweep(dunning, engine, django_capture_on_commit_callbacks):
    from billing_events import emit

    with django_capture_on_commit_callbacks(execute=False):
        emit("payment.failed", sample("payment.failed"), id="evt_lost")  # the queued task never runs
    assert not Execution.objects.exists()
    engine.advance(seconds=app_settings.REDISPATCH_SECONDS + 1)
    assert Execution.objects.count() == 1
    engine.advance(seconds=app_settings.REDISPATCH_SECONDS + 1)
    assert Execution.objects.count() == 1


def test_a_lost_wake_up_task_is_queued_again(dunning, engine, monkeypatch):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    monkeypatch.setattr("automations.engine.sweep.async_task", lambda *a, **k: None)  # the broker loses it
    engine.advance(days=3)
    assert len(mail.outbox) == 1
    monkeypatch.undo()
    engine.advance(seconds=app_settings.REQUEUE_SECONDS - 10)
    assert len(mail.outbox) == 1, "not queued twice while the first may still be on its way"
    engine.advance(seconds=20)
    assert len(mail.outbox) == 2
