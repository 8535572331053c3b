"""At-least-once delivery: duplicated tasks and wake-ups run no step twice; dead workers are recovered."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from automations import clock
from automations.actions import Action, registry
from automations.engine import run_loop, transitions
from automations.engine.tasks import dispatch_event, resume_execution
from automations.models import Execution, StepRun, Task
from automations.conf import app_settings
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
    real_step = run_loop.step_once
    calls = []

    def dies_after_first_step(*args):
        calls.append(1)
        if len(calls) == 2:
            raise WorkerDied
        return real_step(*args)

    monkeypatch.setattr(run_loop, "step_once", dies_after_first_step)
    with pytest.raises(WorkerDied):
        engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    monkeypatch.setattr(run_loop, "step_once", real_step)

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


def start_crashing_run(engine) -> Execution:
    """A run whose worker dies in its one step, after the step's task was created."""
    from automations import services

    CrashingTask.crash = True
    automation = services.create_automation({
        "name": "Crash", "trigger": {"type": "manual"},
        "steps": [{"key": "task", "type": "action", "action": "crashing_task", "config": {}}]})
    services.activate(automation)
    with pytest.raises(WorkerDied):
        engine.run(services.run_manual, automation, {})
    return Execution.objects.get()


def test_an_attempt_cut_short_by_a_crash_is_resolved_by_its_idempotency_key(db, engine):
    with registry.register_temporarily(CrashingTask):
        start_crashing_run(engine)
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


def test_a_lost_drain_task_strands_nothing(dunning, engine, monkeypatch):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    monkeypatch.setattr("automations.engine.sweep.queue_now", lambda *a, **k: None)  # the broker loses the drains
    engine.advance(days=3)
    assert len(mail.outbox) == 1
    monkeypatch.undo()
    engine.tick()
    assert len(mail.outbox) == 2, "the next tick's drain finds the wake-up still due, with no wait"


def webhook_automation(url, retry=None, **config):
    from automations import services

    automation = services.create_automation({
        "name": "Hook", "trigger": {"type": "manual"}, **({"retry": retry} if retry else {}),
        "steps": [{"key": "hook", "type": "action", "action": "send_webhook", "config": {"url": url, **config}}]})
    services.activate(automation)
    return automation


def test_an_attempt_that_outlives_the_task_timeout_is_a_failed_attempt(db, engine, http_server,
                                                                       django_capture_on_commit_callbacks):
    import time

    from django_q.exceptions import TimeoutException
    from django_q.timeout import TimeoutHandler

    from automations import services

    http_server.respond(200, {"ok": True}, delay=3)
    automation = webhook_automation(f"{http_server.url}/slow", retry={"max_attempts": 1}, timeout=10)
    with django_capture_on_commit_callbacks(execute=False):
        execution = services.run_manual(automation, {})
    started = time.monotonic()
    with pytest.raises(TimeoutException), TimeoutHandler(1):  # django-q2's own alarm, as in a worker
        resume_execution(execution.pk, execution.wait_token)
    assert time.monotonic() - started < 2.5, "the worker is let go at its timeout"
    execution.refresh_from_db()
    assert execution.status == "failed" and "timed out" in execution.error
    run = execution.step_runs.get()
    assert run.status == "failed" and "outlived the worker's task timeout" in run.error
    engine.advance(seconds=app_settings.LEASE_SECONDS + 1)
    assert len(http_server.requests) == 1, "not sent again"


def test_a_timed_out_attempt_is_retried_under_the_retry_policy(db, http_server, django_capture_on_commit_callbacks):
    from django_q.exceptions import TimeoutException
    from django_q.timeout import TimeoutHandler

    from automations import services

    http_server.respond(200, {"ok": True}, delay=3)
    automation = services.create_automation({
        "name": "Hook", "trigger": {"type": "manual"}, "retry": {"max_attempts": 2, "initial_interval": "1m"},
        "steps": [{"key": "hook", "type": "action", "action": "send_webhook",
                   "config": {"url": f"{http_server.url}/slow", "timeout": 10}}]})
    services.activate(automation)
    with django_capture_on_commit_callbacks(execute=False):
        execution = services.run_manual(automation, {})
        with pytest.raises(TimeoutException), TimeoutHandler(1):
            resume_execution(execution.pk, execution.wait_token)
    execution.refresh_from_db()
    assert execution.status == "waiting" and execution.cursor[-1]["attempt"] == 2


class DiesEveryTime(Action):
    """Kills its worker on every attempt (an attempt that always outlives the task)."""

    key = "dies_every_time"
    attempts = 0

    def run(self, config, context):
        DiesEveryTime.attempts += 1
        raise WorkerDied


def test_interrupted_attempts_are_capped(db, engine):
    from automations import services

    with registry.register_temporarily(DiesEveryTime):
        automation = services.create_automation({
            "name": "Poison", "trigger": {"type": "manual"},
            "steps": [{"key": "die", "type": "action", "action": "dies_every_time", "config": {}}]})
        services.activate(automation)
        with pytest.raises(WorkerDied):
            engine.run(services.run_manual, automation, {})
        for _ in range(5):
            try:
                engine.advance(seconds=app_settings.LEASE_SECONDS + 1)
            except WorkerDied:
                pass
    execution = Execution.objects.get()
    assert DiesEveryTime.attempts == app_settings.MAX_INTERRUPTED_ATTEMPTS == 3
    assert execution.status == "failed" and "MAX_INTERRUPTED_ATTEMPTS" in execution.error
    assert list(execution.step_runs.values_list("attempt", "status")) == [
        (1, "interrupted"), (2, "interrupted"), (3, "failed")]


def test_outbound_timeouts_are_capped_by_the_action_timeout(db, engine, http_server, settings):
    from automations import services
    from billing_events.errors import InvalidInput

    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "ACTION_TIMEOUT_SECONDS": 1}
    with pytest.raises(InvalidInput, match="config.timeout: must be at most 1 seconds"):
        webhook_automation(http_server.url, timeout=5)
    http_server.respond(200, {"ok": True}, delay=3)
    automation = webhook_automation(f"{http_server.url}/slow")
    execution = engine.run(services.run_manual, automation, {})
    run = execution.step_runs.get()
    assert run.status == "failed" and "timed out after 1s" in run.error


@pytest.mark.parametrize(("takes_effect", "status"), [(True, "succeeded"), (False, "interrupted")])
def test_an_attempt_whose_worker_died_in_a_run_that_was_canceled_is_settled(db, engine, takes_effect, status):
    from automations import services

    with registry.register_temporarily(CrashingTask):
        execution = start_crashing_run(engine)
        if not takes_effect:
            Task.objects.all().delete()
        assert services.cancel_execution(execution, "exit_on: invoice.paid (evt_paid) for inv_1")
        engine.advance(seconds=app_settings.LEASE_SECONDS - 1)
        assert execution.step_runs.get().status == "running", "its worker may still be at it"
        assert engine.advance(seconds=2).settled == 1
    run = execution.step_runs.get()
    assert run.status == status and run.finished_at is not None and "the run ended" in run.error
    assert Execution.objects.get().status == "canceled"
