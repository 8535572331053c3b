"""exit_on ends a run the moment its invoice is paid; reentry rules per correlation value."""
from __future__ import annotations

import copy

import pytest
from django.core import mail

from automations import library, services
from automations.engine import transitions
from automations.engine.tasks import resume_execution
from automations.models import Execution, Task
from tests.conftest import sample

pytestmark = pytest.mark.django_db


def dunning_with(**settings_):
    library.install_email_templates("payment_dunning")
    definition = copy.deepcopy(library.get_template("payment_dunning")["definition"])
    definition.update(settings_)
    automation = services.create_automation(definition)
    services.activate(automation)
    return automation


def failed(invoice_id="inv_2001"):
    return sample("payment.failed", invoice={"id": invoice_id}, payment={"id": f"pay_{invoice_id}"})


def test_paying_the_invoice_during_the_wait_cancels_the_run_at_once(engine):
    dunning_with(correlation_key="invoice.id", exit_on=["invoice.paid"], reentry="skip_if_running")
    engine.emit("payment.failed", failed(), id="evt_1")
    execution = Execution.objects.get()
    token = execution.wait_token
    engine.advance(days=1)
    engine.emit("invoice.paid", sample("invoice.paid"), id="evt_paid")
    execution.refresh_from_db()
    assert execution.status == "canceled"
    assert execution.status_reason == "exit_on: invoice.paid (evt_paid) for inv_2001"
    assert execution.finished_at is not None
    engine.run(resume_execution, execution.pk, token)  # its pending wake-up is now a no-op
    engine.advance(days=10)
    assert len(mail.outbox) == 1 and not Task.objects.exists()


def test_an_event_for_another_invoice_does_not_end_the_run(engine):
    dunning_with(correlation_key="invoice.id", exit_on=["invoice.paid"])
    engine.emit("payment.failed", failed(), id="evt_1")
    engine.emit("invoice.paid", sample("invoice.paid", invoice={"id": "inv_other"}), id="evt_paid")
    assert Execution.objects.get().status == "waiting"


def test_exit_on_also_ends_a_running_execution(engine):
    dunning_with(correlation_key="invoice.id", exit_on=["invoice.voided"])
    engine.emit("payment.failed", failed(), id="evt_1")
    execution = Execution.objects.get()
    lease = transitions.claim(execution.pk, execution.wait_token)  # a worker is mid-run
    engine.emit("invoice.voided", sample("invoice.voided"), id="evt_void")
    execution.refresh_from_db()
    assert execution.status == "canceled"
    with pytest.raises(transitions.LeaseLost):
        transitions.save_progress(execution.pk, lease)


def test_exit_on_applies_to_runs_of_an_older_version(engine):
    automation = dunning_with(correlation_key="invoice.id", exit_on=["invoice.paid"])
    engine.emit("payment.failed", failed(), id="evt_1")
    v2 = copy.deepcopy(automation.active_version.snapshot)
    v2["exit_on"] = ["invoice.voided"]
    services.update_draft(automation, v2)
    services.activate(automation)
    engine.emit("invoice.paid", sample("invoice.paid"), id="evt_paid")
    assert Execution.objects.get().status == "canceled", "the v1 run follows v1's exit_on"


def test_skip_if_running_starts_one_run_per_invoice(engine):
    dunning_with(correlation_key="invoice.id", reentry="skip_if_running")
    engine.emit("payment.failed", failed(), id="evt_1")
    engine.emit("payment.failed", failed(), id="evt_2")
    engine.emit("payment.failed", failed("inv_2002"), id="evt_3")
    assert sorted(Execution.objects.values_list("correlation_value", flat=True)) == ["inv_2001", "inv_2002"]
    first = Execution.objects.get(correlation_value="inv_2001")
    services.cancel_execution(first, "done by hand")
    engine.emit("payment.failed", failed(), id="evt_4")
    assert Execution.objects.filter(correlation_value="inv_2001").count() == 2, "a new run once the first ended"


def test_once_never_starts_twice_for_the_same_value(engine):
    dunning_with(correlation_key="invoice.id", reentry="once")
    engine.emit("payment.failed", failed(), id="evt_1")
    services.cancel_execution(Execution.objects.get(), "ended")
    engine.emit("payment.failed", failed(), id="evt_2")
    assert Execution.objects.count() == 1


def test_allow_starts_a_run_per_event(engine):
    dunning_with(correlation_key="invoice.id", reentry="allow", exit_on=[])
    engine.emit("payment.failed", failed(), id="evt_1")
    engine.emit("payment.failed", failed(), id="evt_2")
    assert Execution.objects.count() == 2


def test_manual_runs_follow_reentry_too(engine):
    automation = services.create_automation({"name": "M", "trigger": {"type": "manual"},
        "correlation_key": "customer.id", "reentry": "skip_if_running",
        "steps": [{"key": "wait", "type": "delay", "duration": "1d"}]})
    services.activate(automation)
    assert engine.run(services.run_manual, automation, {"customer": {"id": "c1"}}) is not None
    assert engine.run(services.run_manual, automation, {"customer": {"id": "c1"}}) is None
    assert Execution.objects.get().trigger["type"] == "manual"


def test_a_replayed_or_late_exit_event_leaves_later_runs_alone(engine):
    from automations.engine.tasks import dispatch_event

    dunning_with(correlation_key="invoice.id", exit_on=["invoice.paid"], reentry="skip_if_running")
    engine.emit("payment.failed", failed(), id="evt_1")
    engine.advance(hours=1)
    engine.emit("invoice.paid", sample("invoice.paid"), id="evt_paid")
    engine.advance(days=2)
    engine.emit("payment.failed", failed(), id="evt_2")  # the invoice was reopened and failed again
    later = Execution.objects.get(event_id="evt_2")
    assert later.status == "waiting"

    engine.run(dispatch_event, "evt_paid")  # the old payment delivered again
    engine.emit("invoice.paid", sample("invoice.paid"), id="evt_paid_late", occurred_at="2026-11-20T10:30:00Z")
    later.refresh_from_db()
    assert later.status == "waiting", "events that occurred before the run began do not end it"
    assert Execution.objects.get(event_id="evt_1").status_reason == "exit_on: invoice.paid (evt_paid) for inv_2001"

    engine.emit("invoice.paid", sample("invoice.paid"), id="evt_paid_again")
    later.refresh_from_db()
    assert later.status == "canceled" and "evt_paid_again" in later.status_reason


def test_an_exit_event_that_occurred_before_a_late_trigger_still_ends_its_run(engine):
    dunning_with(correlation_key="invoice.id", exit_on=["invoice.paid"])
    engine.emit("payment.failed", failed(), id="evt_1", occurred_at="2026-11-20T09:00:00Z")  # delivered late
    engine.emit("invoice.paid", sample("invoice.paid"), id="evt_paid", occurred_at="2026-11-20T09:30:00Z")
    assert Execution.objects.get().status == "canceled", "paid after the failure, whatever the delivery order"


@pytest.mark.django_db(transaction=True)
def test_a_run_ended_by_the_payment_it_made_leaves_no_step_running(engine):
    from billing_events.models import Event, Payment

    dunning_with(correlation_key="invoice.id", exit_on=["invoice.paid"], reentry="skip_if_running")
    engine.emit("payment.failed", failed(), id="evt_1")
    engine.emit("customer.created", sample("customer.created", customer={"default_payment_method": "pm_card_ok"}))
    execution = Execution.objects.get()
    engine.advance(days=3)  # the retry pays the invoice

    # The payment, its invoice.paid event and the steps after it up to the run's own end (the
    # "recovered" stop) commit together: the run has ended when the event is dispatched, so the
    # exit rule finds nothing left to end and the run is not marked canceled by its own payment.
    execution.refresh_from_db()
    payment = Payment.objects.get(status="succeeded")
    assert Event.objects.filter(id=f"evt_invoice_paid_{execution.pk}:retry:0").exists()
    assert execution.status == "succeeded" and execution.status_reason == "stopped at step recovered"
    retry = execution.step_runs.get(step_key="retry")
    assert retry.status == "succeeded" and retry.output["payment_id"] == payment.pk
    assert retry.finished_at is not None
    assert not execution.step_runs.filter(status="running").exists()


def test_exit_rules_are_found_by_event_type_whatever_the_number_of_automations(engine):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from automations.triggers.exits import exit_executions
    from billing_events.models import Event

    dunning_with(correlation_key="invoice.id", exit_on=["invoice.paid"])
    engine.emit("payment.failed", failed(), id="evt_1")
    paid = engine.emit("invoice.paid", sample("invoice.paid", invoice={"id": "inv_other"}), id="evt_paid")

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            exit_executions(Event.objects.get(pk=paid.pk))
        return len(queries) - 1  # the event's own read
    alone = statements()
    for n in range(20):  # other automations with exit rules for other event types
        other = copy.deepcopy(library.get_template("payment_dunning")["definition"])
        other.update(name=f"Other {n}", correlation_key="invoice.id", exit_on=["invoice.voided"])
        services.activate(services.create_automation(other))
    assert statements() == alone == 2, "the rules by event type, then the live runs of the one matching version"


def test_the_migration_writes_the_rules_of_versions_activated_before_it(engine):
    import importlib

    from django.apps import apps

    from automations.models import ExitRule

    migration = importlib.import_module("automations.migrations.0006_exit_rule")
    automation = dunning_with(correlation_key="invoice.id", exit_on=["invoice.paid", "invoice.voided"])
    ExitRule.objects.all().delete()
    migration.rules_of_activated_versions(apps, None)
    assert sorted(ExitRule.objects.values_list("version_id", "event_type", "correlation_key")) == [
        (automation.active_version.pk, "invoice.paid", "invoice.id"),
        (automation.active_version.pk, "invoice.voided", "invoice.id")]


def test_an_exit_event_listed_twice_activates_and_ends_the_run_once(engine):
    dunning_with(correlation_key="invoice.id", exit_on=["invoice.paid", "invoice.paid"])
    engine.emit("payment.failed", failed(), id="evt_1")
    engine.emit("invoice.paid", sample("invoice.paid"), id="evt_paid")
    assert Execution.objects.get().status == "canceled"
