"""The worker's runs: loops, branches, stop, errors, retries and fallbacks, delays, entry conditions."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.core import mail

from automations import clock, services
from automations.actions import Action, ActionError, registry
from automations.models import Execution, Task
from automations.conf import app_settings
from tests.conftest import sample


def make(steps, *, trigger=None, **extra):
    automation = services.create_automation({"name": "Test", "trigger": trigger or {"type": "manual"},
                                             "steps": steps, **extra})
    services.activate(automation)
    return automation


def run(engine, automation, data=None) -> Execution:
    execution = engine.run(services.run_manual, automation, data if data is not None else
                           sample("invoice.issued"))
    execution.refresh_from_db()
    return execution


def task(key, title, **config):
    return {"key": key, "type": "action", "action": "create_task", "config": {"title": title, **config}}


def test_loop_over_line_items_with_a_branch_inside(db, engine):
    automation = make([{"key": "lines", "type": "loop", "over": "invoice.line_items", "as": "line", "steps": [
        {"key": "big", "type": "branch",
         "if": {"all": [{"field": "line.amount", "operator": "greater_than", "value": 500}]},
         "then": [task("review", "Review {{ line.description }}")],
         "else": [task("note", "Small: {{ line.description }} x{{ line.quantity }}")]},
    ]}, task("after", "Done with {{ invoice.number }}")])
    execution = run(engine, automation)
    assert execution.status == "succeeded"
    assert list(Task.objects.order_by("pk").values_list("title", flat=True)) == [
        "Review Pro plan (monthly)", "Small: Extra seats x5", "Done with INV-2026-0042"]
    runs = list(execution.step_runs.values_list("step_key", "loop_index"))
    assert runs == [("lines", ""), ("big", "0"), ("review", "0"), ("big", "1"), ("note", "1"), ("after", "")]
    assert Task.objects.get(title__startswith="Small").idempotency_key == f"{execution.pk}:note:1"


def test_stop_inside_a_loop_ends_the_whole_execution(db, engine):
    automation = make([{"key": "lines", "type": "loop", "over": "invoice.line_items", "steps": [
        task("each", "{{ item.description }}"),
        {"key": "halt", "type": "stop", "status": "canceled"},
    ]}, task("never", "not reached")])
    execution = run(engine, automation)
    assert execution.status == "canceled" and execution.status_reason == "stopped at step halt"
    assert list(Task.objects.values_list("title", flat=True)) == ["Pro plan (monthly)"]


def test_nested_loops_index_each_level(db, engine):
    data = sample("invoice.issued")
    data["invoice"]["line_items"] = [{"description": "a", "tags": ["x", "y"]}, {"description": "b", "tags": ["z"]}]
    automation = make([{"key": "outer", "type": "loop", "over": "invoice.line_items", "as": "line", "steps": [
        {"key": "inner", "type": "loop", "over": "line.tags", "as": "tag",
         "steps": [task("t", "{{ line.description }}-{{ tag }}")]}]}])
    execution = run(engine, automation, data)
    assert list(Task.objects.order_by("pk").values_list("title", "idempotency_key")) == [
        ("a-x", f"{execution.pk}:t:0.0"), ("a-y", f"{execution.pk}:t:0.1"), ("b-z", f"{execution.pk}:t:1.0")]


def test_loop_max_items_caps_the_run(db, engine):
    automation = make([{"key": "lines", "type": "loop", "over": "invoice.line_items", "max_items": 1,
                        "steps": [task("each", "{{ item.description }}")]}])
    execution = run(engine, automation)
    assert Task.objects.count() == 1
    assert execution.step_runs.get(step_key="lines").output == {"items": 1, "truncated": True}


def test_loop_over_something_that_is_not_a_list_fails_clearly(db, engine):
    automation = make([{"key": "lines", "type": "loop", "over": "invoice.number", "steps": [task("t", "x")]}])
    execution = run(engine, automation)
    assert execution.status == "failed"
    assert execution.error == "step lines: over: invoice.number is not a list (it is str)"


def test_a_value_the_data_does_not_have_fails_the_step_naming_it(db, engine):
    automation = make([{"key": "hello", "type": "action", "action": "send_email",
                        "config": {"to": "{{ customer.email }}", "subject": "Hi {{ customer.name }}",
                                   "body": "b"}}])
    # a manual run's customer with no name, and none in the billing system to read it from
    execution = run(engine, automation, {"customer": {"id": "cus_unknown", "email": "a@example.com"}})
    assert execution.status == "failed"
    assert execution.error == "step hello: template 'inline': customer.name is not set (customer has no field name)"
    step_run = execution.step_runs.get()
    assert step_run.status == "failed" and "customer.name is not set" in step_run.error
    assert not mail.outbox


def test_undefined_variable_in_an_email_template_names_the_template(db, engine):
    from automations.models import EmailTemplate

    EmailTemplate.objects.create(key="t", subject="Hi", body_text="x")
    automation = make([{"key": "hello", "type": "action", "action": "send_email",
                        "config": {"to": "{{ customer.email }}", "template": "t"}}])
    EmailTemplate.objects.filter(key="t").update(subject="Hi {{ customer.nick }}")  # edited after activation
    execution = run(engine, automation)
    assert execution.status == "failed"
    assert execution.error == "step hello: template 't': customer.nick is not set (customer has no field nick)"


class Flaky(Action):
    """Fails with a retryable error ``fail_times`` times, then succeeds."""

    key = "flaky"
    calls: list[datetime] = []
    fail_times = 2
    retryable = True

    def run(self, config, context):
        Flaky.calls.append(context.now)
        if len(Flaky.calls) <= Flaky.fail_times:
            raise ActionError(f"try {len(Flaky.calls)} failed", retryable=Flaky.retryable)
        return {"ok": True, "attempt": context.attempt}


@pytest.fixture
def flaky():
    Flaky.calls, Flaky.fail_times, Flaky.retryable = [], 2, True
    with registry.register_temporarily(Flaky):
        yield Flaky


def flaky_step(**extra):
    return {"key": "call", "type": "action", "action": "flaky", "config": {}, **extra}


def test_retryable_errors_are_retried_with_backoff_as_wake_ups(db, engine, flaky):
    automation = make([flaky_step(retry={"max_attempts": 3, "initial_interval": "1m", "backoff_coefficient": 3})])
    execution = run(engine, automation)
    assert execution.status == "waiting" and len(flaky.calls) == 1
    engine.advance(seconds=59)
    assert len(flaky.calls) == 1
    engine.advance(seconds=1)
    assert len(flaky.calls) == 2
    engine.advance(minutes=3)
    execution.refresh_from_db()
    assert execution.status == "succeeded" and execution.outputs["call"] == {"ok": True, "attempt": 3}
    assert [c - flaky.calls[0] for c in flaky.calls] == [timedelta(0), timedelta(minutes=1), timedelta(minutes=4)]
    assert list(execution.step_runs.values_list("attempt", "status", "error")) == [
        (1, "failed", "try 1 failed"), (2, "failed", "try 2 failed"), (3, "succeeded", "")]


def test_the_automation_retry_policy_is_the_default_for_its_steps(db, engine, flaky):
    automation = make([flaky_step()], retry={"max_attempts": 2, "initial_interval": "10s"})
    run(engine, automation)
    engine.advance(seconds=10)
    execution = Execution.objects.get()
    assert execution.status == "failed" and len(flaky.calls) == 2
    assert execution.error == "step call: try 2 failed"


def test_a_permanent_error_is_not_retried(db, engine, flaky):
    flaky.retryable = False
    automation = make([flaky_step(retry={"max_attempts": 5})])
    execution = run(engine, automation)
    assert execution.status == "failed" and len(flaky.calls) == 1


def test_fallback_runs_when_the_step_fails_for_good_then_the_execution_fails(db, engine, flaky):
    flaky.retryable = False
    automation = make([flaky_step(fallback=[task("tell_ops", "{{ steps.call.output.error }}")]),
                       task("next", "not reached")])
    execution = run(engine, automation)
    assert execution.status == "failed" and execution.error == "step call: try 1 failed"
    assert list(Task.objects.values_list("title", flat=True)) == ["try 1 failed"]


def test_on_failure_continue_carries_on_after_the_fallback(db, engine, flaky):
    flaky.retryable = False
    automation = make([flaky_step(on_failure="continue", fallback=[task("tell_ops", "ops")]), task("next", "next")])
    execution = run(engine, automation)
    assert execution.status == "succeeded"
    assert list(Task.objects.order_by("pk").values_list("title", flat=True)) == ["ops", "next"]
    assert execution.outputs["call"] == {"status": "failed", "error": "try 1 failed"}


def test_on_failure_continue_without_fallback(db, engine, flaky):
    flaky.retryable = False
    automation = make([flaky_step(on_failure="continue"), task("next", "{{ steps.call.output.status }}")])
    assert run(engine, automation).status == "succeeded"
    assert Task.objects.get().title == "failed"


def test_an_action_that_crashes_fails_its_step_visibly(db, engine):
    class Broken(Action):
        key = "broken"

        def run(self, config, context):
            return 1 / 0

    with registry.register_temporarily(Broken):
        automation = make([{"key": "b", "type": "action", "action": "broken", "config": {}}])
        execution = run(engine, automation)
    assert execution.status == "failed" and execution.error == "step b: ZeroDivisionError: division by zero"


#: A subscription may have no period end: a delay until it runs only for those that have one.
HAS_PERIOD_END = {"all": [{"field": "subscription.current_period_end", "operator": "is_set"}]}


def test_delay_until_a_date_with_offset_and_time_of_day(db, engine):
    data = sample("subscription.activated", subscription={"current_period_end": "2026-12-16T09:00:00Z"},
                  customer={"timezone": "Europe/Berlin"})
    automation = make([{"key": "before", "type": "delay", "until": "{{ subscription.current_period_end }}",
                        "offset": "-7d", "at": "08:30"}, task("remind", "Renewal")], conditions=HAS_PERIOD_END)
    execution = run(engine, automation, data)
    assert execution.wake_at == datetime(2026, 12, 10, 7, 30, tzinfo=timezone.utc), "08:30 Berlin on Dec 10"
    engine.advance(days=20)
    assert Task.objects.count() == 1


def test_delay_until_a_time_already_past_does_not_wait(db, engine):
    data = sample("subscription.activated", subscription={"current_period_end": "2026-11-01T00:00:00Z"})
    automation = make([{"key": "d", "type": "delay", "until": "{{ subscription.current_period_end }}"},
                       task("t", "now")], conditions=HAS_PERIOD_END)
    assert run(engine, automation, data).status == "succeeded"


def test_delay_until_something_that_is_not_a_date_fails_clearly(db, engine):
    automation = make([{"key": "d", "type": "delay", "until": "{{ invoice.number }}"}])
    execution = run(engine, automation)
    assert execution.status == "failed" and "'INV-2026-0042' is not a date" in execution.error


def test_delay_until_a_date_past_the_calendars_end_fails_clearly(db, engine):
    data = sample("subscription.activated", subscription={"current_period_end": "9999-12-30T00:00:00Z"})
    automation = make([{"key": "d", "type": "delay", "until": "{{ subscription.current_period_end }}",
                        "offset": "5d"}, task("t", "never")], conditions=HAS_PERIOD_END)
    execution = run(engine, automation, data)
    assert execution.status == "failed" and "step d: until: the wait would end beyond the calendar" in execution.error
    assert not Task.objects.exists()


def test_entry_conditions_decide_whether_an_execution_starts(db, engine):
    make([task("t", "big")], trigger={"type": "event", "event": "invoice.issued"},
         conditions={"all": [{"field": "invoice.total", "operator": "greater_than", "value": 1000}]})
    engine.emit("invoice.issued", sample("invoice.issued", invoice={"id": "inv_small", "total": "10.00"}))
    assert not Execution.objects.exists()
    engine.emit("invoice.issued", sample("invoice.issued"))
    assert Execution.objects.get().status == "succeeded"


def test_entry_conditions_that_cannot_be_evaluated_leave_a_failed_execution(db, engine):
    make([task("t", "x")], trigger={"type": "event", "event": "invoice.issued"},
         conditions={"all": [{"field": "event.data.invoice.number", "operator": "greater_than", "value": 3}]})
    engine.emit("invoice.issued", sample("invoice.issued"))
    execution = Execution.objects.get()
    assert execution.status == "failed" and execution.error.startswith("conditions: event.data.invoice.number")


def test_branches_read_fresh_data_and_the_snapshot_stays_available(db, engine):
    from billing_events.models import Invoice

    make([{"key": "wait", "type": "delay", "duration": "1d"},
          task("t", "{{ invoice.status }} now, {{ event.data.invoice.status | default('unknown') }} then")],
         trigger={"type": "event", "event": "invoice.issued"})
    engine.emit("invoice.issued", sample("invoice.issued"))
    Invoice.objects.filter(pk="inv_2001").update(status="paid")
    engine.advance(days=1)
    assert Task.objects.get().title == "paid now, open then"


def test_a_long_run_hands_back_to_the_queue_instead_of_outliving_its_task(db, engine, settings):
    settings.AUTOMATIONS = {"TIME_BUDGET_SECONDS": 0}
    automation = make([task("a", "a"), task("b", "b")])
    execution = run(engine, automation)
    assert execution.status == "succeeded", "continuations are queued and run"
    assert Task.objects.count() == 2


def test_run_manual_records_the_caller_and_reads_data_like_an_event(db, engine, django_user_model):
    user = django_user_model.objects.create(username="ops")
    automation = make([task("t", "For {{ customer.name }}")])
    execution = engine.run(services.run_manual, automation, {"customer": {"id": "c1", "name": "Zed"}}, user)
    execution.refresh_from_db()
    assert execution.trigger["type"] == "manual" and execution.trigger["user"] == "ops"
    assert execution.created_by == user
    assert Task.objects.get().title == "For Zed"


def test_tick_with_nothing_due_does_nothing(db, engine):
    assert engine.tick().due == 0
    clock.advance(timedelta(days=1))
    assert app_settings.SWEEP_BATCH > 0
