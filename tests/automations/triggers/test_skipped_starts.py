"""An event that starts no run of an automation listening for its type says why: the dispatcher
records it (paused, the trigger's setting, the entry conditions, the reentry rule with the run that
held the value), once per event and automation, and records nothing when a run started."""
from __future__ import annotations

import pytest

from automations import services
from automations.models import Execution, SkippedStart
from automations.triggers.events import dispatch
from tests.conftest import sample

pytestmark = pytest.mark.django_db


def listening(name: str = "Call", event: str = "payment.failed", **settings) -> object:
    automation = services.create_automation({
        "name": name, "trigger": {"type": "event", "event": event}, **settings,
        "steps": [{"key": "wait", "type": "delay", "duration": "3d"},
                  {"key": "call", "type": "action", "action": "create_task", "config": {"title": "Call"}}]})
    services.activate(automation)
    return automation


def skip_of(event_id: str) -> SkippedStart:
    return SkippedStart.objects.get(event_id=event_id)


def test_a_run_started_records_nothing(engine):
    listening()
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    assert Execution.objects.count() == 1 and not SkippedStart.objects.exists()


def test_entry_conditions_not_met_say_which_comparison_failed(engine):
    automation = listening(conditions={"all": [
        {"field": "invoice.amount_due", "operator": "greater_than", "value": 5000},
        {"field": "invoice.currency", "operator": "equals", "value": "USD"}]})
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    skip = skip_of("evt_1")
    assert (skip.automation, skip.reason, skip.version) == (automation, "conditions", automation.active_version)
    assert skip.detail == "invoice.amount_due greater than 5000 (it is 1250.00)", "only the comparison that failed"
    assert not Execution.objects.exists()


def test_a_paused_automation_records_that_it_was_paused(engine):
    automation = listening()
    services.pause(automation)
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    assert (skip_of("evt_1").reason, skip_of("evt_1").detail) == ("paused", "it starts no runs until it is resumed")


def test_a_live_run_for_the_same_value_is_named(engine):
    listening(correlation_key="invoice.id", reentry="skip_if_running")
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    live = Execution.objects.get()
    engine.emit("payment.failed", sample("payment.failed"), id="evt_2")
    skip = skip_of("evt_2")
    assert (skip.reason, skip.blocking) == ("live_run", live)
    assert skip.detail == f"run #{live.pk} for invoice inv_2001 was still under way, and it runs one at a time per invoice"


def test_a_value_that_ran_once_is_named(engine):
    listening(correlation_key="invoice.id", reentry="once")
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    first = Execution.objects.get()
    services.cancel_execution(first, "done")
    engine.emit("payment.failed", sample("payment.failed"), id="evt_2")
    skip = skip_of("evt_2")
    assert (skip.reason, skip.blocking) == ("ran_once", first)
    assert skip.detail == f"it runs once per invoice, and run #{first.pk} already ran for invoice inv_2001"


def test_a_trigger_for_another_number_of_days_says_both(engine):
    automation = services.create_automation({
        "name": "Renewal 30d", "trigger": {"type": "event", "event": "subscription.ending_soon", "days_before": 30},
        "steps": [{"key": "call", "type": "action", "action": "create_task", "config": {"title": "Call"}}]})
    services.activate(automation)
    data = {**sample("subscription.ending_soon"), "days_before": 7}
    engine.emit("subscription.ending_soon", data, id="evt_7d")
    skip = skip_of("evt_7d")
    assert (skip.reason, skip.detail) == ("trigger", "it starts 30 days before the end; this event is 7 days before")


def test_a_dispatch_run_again_records_once(engine):
    automation = listening()
    services.pause(automation)
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    with engine._running():
        dispatch("evt_1")
    assert SkippedStart.objects.filter(event_id="evt_1").count() == 1


def test_a_redispatch_after_its_run_started_records_no_reason(engine):
    listening(correlation_key="invoice.id", reentry="skip_if_running")
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    with engine._running():
        dispatch("evt_1")  # the sweep hands the event out again: its run exists, nothing was skipped
    assert Execution.objects.count() == 1 and not SkippedStart.objects.exists()


def test_the_reasons_go_with_their_event_when_events_are_pruned(engine):
    from datetime import timedelta

    from automations import clock
    from automations.retention import prune
    from billing_events.models import Event

    automation = listening()
    services.pause(automation)
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    prune(clock.now() + timedelta(days=400), days=30)
    assert not Event.objects.filter(pk="evt_1").exists() and not SkippedStart.objects.exists()
