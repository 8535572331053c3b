"""Retention: old finished executions go with their step log, events, history rows and django-q2
results, in batches; live executions and what they need stay."""
from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django_q.models import Task as QueuedTask

from automations import clock, services
from automations.models import Automation, EmailTemplate, Execution, StepRun, Task
from billing_events import emit
from billing_events.models import Event
from tests.conftest import START, sample

pytestmark = pytest.mark.django_db


def long_wait() -> Automation:
    automation = services.create_automation({
        "name": "Year", "trigger": {"type": "event", "event": "invoice.issued"},
        "steps": [{"key": "year", "type": "delay", "duration": "365d"}]})
    services.activate(automation)
    return automation


def once_per_customer() -> Automation:
    automation = services.create_automation({
        "name": "Once", "trigger": {"type": "event", "event": "customer.created"}, "correlation_key": "customer.id",
        "reentry": "once", "steps": [{"key": "note", "type": "action", "action": "create_task",
                                      "config": {"title": "Welcome {{ customer.name }}"}}]})
    services.activate(automation)
    return automation


@pytest.fixture
def history(dunning, engine):
    """A finished dunning run, a run still waiting on an old event, a finished run that enforces
    reentry: once, an event whose dispatch never happened, edited and deleted email templates,
    all 101 days old."""
    long_wait()
    once_per_customer()
    engine.emit("payment.failed", sample("payment.failed"), id="evt_failed")
    other = {"id": "cus_other", "default_payment_method": "pm_card_ok"}
    engine.emit("invoice.issued", sample("invoice.issued", customer=other,
                                         invoice={"id": "inv_other", "customer_id": "cus_other"}), id="evt_issued")
    engine.emit("customer.created", sample("customer.created", customer=other), id="evt_customer")
    emit("customer.created", sample("customer.created", customer={"id": "cus_lost"}), id="evt_undispatched")
    engine.advance(days=3)
    engine.advance(days=7)  # the dunning run ends
    Event.objects.filter(pk="evt_undispatched").update(dispatched_at=None)  # its dispatch was lost
    template = EmailTemplate.objects.get(key="payment_failed_final")
    for subject in ("Final notice", "Final notice!"):
        template.subject = subject
        template.save()
    EmailTemplate.objects.get(key="payment_failed_urgent").delete()
    # History rows and task results carry the test clock's time (START to START + 10 days).
    clock.set_now(START + timedelta(days=101))


def prune(**options) -> str:
    out = StringIO()
    call_command("automations_prune", stdout=out, **options)
    return out.getvalue()


def test_prune_deletes_what_is_old_and_keeps_what_live_runs_need(history):
    done = Execution.objects.get(event_id="evt_failed")
    assert done.status == "succeeded" and done.step_runs.count() == 11
    waiting = Execution.objects.get(event_id="evt_issued")
    results = QueuedTask.objects.count()

    output = prune()

    assert output.strip() == f"deleted: executions 1, step runs 11, events 1, history 10, task results {results}"
    assert set(Execution.objects.values_list("event_id", flat=True)) == {"evt_issued", "evt_customer",
                                                                      "evt_undispatched"}
    assert not StepRun.objects.filter(execution_id=done.pk).exists()
    assert waiting.step_runs.count() == 1 and Execution.objects.get(pk=waiting.pk).status == "waiting"
    assert set(Event.objects.values_list("pk", flat=True)) == {"evt_issued", "evt_customer", "evt_undispatched"}
    assert list(EmailTemplate.history.filter(key="payment_failed_final").values_list("subject", flat=True)) == [
        "Final notice!"], "the latest row of a living object stays"
    assert not EmailTemplate.history.filter(key="payment_failed_urgent").exists()
    assert Task.history.count() == Task.objects.count() == 3, "tasks and their last history row stay"
    assert Automation.history.count() == Automation.objects.count() == 3
    assert not QueuedTask.objects.exists()
    assert prune().strip() == "deleted: executions 0, step runs 0, events 0, history 0, task results 0"


def test_prune_works_in_batches_and_respects_the_period(history):
    assert prune(days=200).strip().startswith("deleted: executions 0, step runs 0, events 0")
    assert prune(days=90, batch=1).strip().startswith("deleted: executions 1, step runs 11, events 1, history 10")


def test_the_tick_queues_a_daily_prune_that_goes_on_until_done(history, engine, monkeypatch, settings):
    # results kept: a result of today's stays when the prune deletes those of long ago
    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "PRUNE_BATCH": 2, "KEEP_TASK_RESULTS": True}
    monkeypatch.setattr("automations.retention.TASK_BATCHES", 1)  # one batch of each kind per task
    assert engine.tick().pruned == 1
    assert not Execution.objects.filter(event_id="evt_failed").exists()
    assert EmailTemplate.history.filter(key="payment_failed_final").count() == 1
    assert Automation.history.count() == 3
    assert not QueuedTask.objects.filter(stopped__lt=clock.now() - timedelta(days=90)).exists()
    assert set(QueuedTask.objects.exclude(func="automations.retention.prune_task").values_list("func", flat=True)) == {
        "automations.engine.tasks.run_due"}, "the drain the tick queued for the lost dispatch is today's, and stays"
    long_ago = clock.now() - timedelta(days=91)
    Execution.objects.filter(event_id="evt_issued").update(status="canceled", finished_at=long_ago)
    clock.advance(timedelta(hours=23))
    assert engine.tick().pruned == 0, "once a day"
    assert Execution.objects.filter(event_id="evt_issued").exists()
    clock.advance(timedelta(hours=1))
    assert engine.tick().pruned == 1
    assert not Execution.objects.filter(event_id="evt_issued").exists()


def test_prune_without_a_period_is_refused(history, settings):
    from django.core.management import CommandError

    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "RETENTION_DAYS": None}
    with pytest.raises(CommandError, match="RETENTION_DAYS"):
        prune()


def test_history_rows_carry_the_apps_clock_and_task_results_the_wall_clock(db, monkeypatch):
    """The apps' clock (moved here without the wall clock, as a host's own tests might) stamps the
    history rows retention judges by it; django-q2's results keep the wall clock's time and are
    judged by that."""
    import billing_events.clock

    later = START + timedelta(days=200)
    monkeypatch.setattr(billing_events.clock, "_frozen", later)  # the wall clock stays near START
    EmailTemplate.objects.create(key="stamped", subject="s", body_text="b")
    assert EmailTemplate.history.get(key="stamped").history_date == later
    QueuedTask.objects.create(id="recent", name="recent", func="f", group="automations", started=START, stopped=START,
                              success=True)
    prune(days=90)
    assert QueuedTask.objects.filter(id="recent").exists(), "stopped at the wall clock's now: not old"
    assert EmailTemplate.history.filter(key="stamped").exists()
