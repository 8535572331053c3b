"""wait_for: the event with the run's correlation value ends the wait, else the timeout does."""
from __future__ import annotations

from datetime import timedelta

import pytest

from automations import clock, services
from automations.engine import event_waits as waits
from automations.models import EventWaiter, Execution, Task
from billing_events.errors import InvalidInput
from billing_events.models import Event
from tests.conftest import START, sample

PAID_OR_NOT = [
    {"key": "wait_paid", "type": "wait_for", "events": ["invoice.paid"], "timeout": "3d"},
    {"key": "paid", "type": "branch",
     "if": {"all": [{"field": "steps.wait_paid.output.event", "operator": "is_set"}]},
     "then": [{"key": "thanks", "type": "action", "action": "create_task",
               "config": {"title": "Thank {{ customer.email }} for paying {{ invoice.number }}"}}],
     "else": [{"key": "retry", "type": "action", "action": "create_task",
               "config": {"title": "Retry {{ invoice.number }}"}}]},
]


def make(steps=PAID_OR_NOT, **extra):
    automation = services.create_automation({"name": "Paid within 3 days", "trigger": {"type": "manual"},
                                             "correlation_key": "invoice.id", "steps": steps, **extra})
    services.activate(automation)
    return automation


def start(engine, automation, invoice_id="inv_w1") -> Execution:
    execution = engine.run(services.run_manual, automation, sample("invoice.issued", invoice={"id": invoice_id}))
    execution.refresh_from_db()
    return execution


def paid(engine, invoice_id="inv_w1", **kwargs):
    return engine.emit("invoice.paid", sample("invoice.paid", invoice={"id": invoice_id, "status": "paid"}),
                       **kwargs)


def tasks() -> list[str]:
    return list(Task.objects.order_by("pk").values_list("title", flat=True))


def test_paid_within_the_timeout_takes_the_paid_branch_at_the_events_time(db, engine):
    execution = start(engine, make())
    assert execution.status == "waiting" and execution.wake_at == START + timedelta(days=3)
    clock.advance(timedelta(days=1, hours=2))
    event = paid(engine, id="evt_paid_1")
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert execution.outputs["wait_paid"] == {"event": "invoice.paid", "event_id": "evt_paid_1"}
    assert tasks() == ["Thank ada@example.com for paying INV-2026-0042"] or tasks()[0].startswith("Thank ")
    wait_run = execution.step_runs.get(step_key="wait_paid")
    assert wait_run.finished_at == START + timedelta(days=1, hours=2) == event.received_at
    assert not EventWaiter.objects.exists()


def test_not_paid_takes_the_timeout_branch_at_the_timeout(db, engine):
    execution = start(engine, make())
    engine.advance(days=2, hours=23)
    execution.refresh_from_db()
    assert execution.status == "waiting" and tasks() == []
    engine.advance(hours=1)
    execution.refresh_from_db()
    assert execution.status == "succeeded" and execution.outputs["wait_paid"] == {"timed_out": True}
    assert tasks() == ["Retry INV-2026-0042"]
    assert execution.step_runs.get(step_key="wait_paid").finished_at == START + timedelta(days=3)
    assert not EventWaiter.objects.exists()


def test_an_event_arriving_twice_wakes_the_run_once(db, engine, monkeypatch):
    execution = start(engine, make())
    resumed = []
    original = waits.deliver
    monkeypatch.setattr(waits, "deliver", lambda *args: resumed.append(original(*args)) or resumed[-1])
    clock.advance(timedelta(hours=5))
    paid(engine, id="evt_a")
    paid(engine, id="evt_a")  # the same event delivered again: stored once
    paid(engine, id="evt_b")  # another payment event for the same invoice after the run moved on
    execution.refresh_from_db()
    assert execution.status == "succeeded" and execution.outputs["wait_paid"]["event_id"] == "evt_a"
    assert resumed == [True]
    assert execution.step_runs.filter(step_key="wait_paid").count() == 1
    assert len(tasks()) == 1


def test_two_events_before_the_resume_wake_it_once(db, engine):
    execution = start(engine, make())
    from billing_events import emit

    # both arrive before any worker resumes the run (their dispatch runs, the resume is queued)
    emit("invoice.paid", sample("invoice.paid", invoice={"id": "inv_w1"}), id="evt_1")
    emit("invoice.paid", sample("invoice.paid", invoice={"id": "inv_w1"}), id="evt_2")
    from automations.triggers.events import dispatch

    with engine._capture(execute=False) as queued:
        dispatch("evt_1")
        dispatch("evt_2")
    assert len(queued) == 1  # one resume queued, by the first event
    for callback in queued:
        engine.run(callback)
    execution.refresh_from_db()
    assert execution.outputs["wait_paid"]["event_id"] == "evt_1"
    assert len(tasks()) == 1


def test_an_event_for_another_invoice_wakes_nothing(db, engine):
    execution = start(engine, make())
    other = start(engine, make(), invoice_id="inv_other")
    clock.advance(timedelta(hours=1))
    paid(engine, invoice_id="inv_somebody_else")
    for run in (execution, other):
        run.refresh_from_db()
        assert run.status == "waiting" and run.wake_at == START + timedelta(days=3)
    assert tasks() == []
    paid(engine, invoice_id="inv_other")
    execution.refresh_from_db()
    other.refresh_from_db()
    assert execution.status == "waiting" and other.status == "succeeded"


def test_an_event_arriving_while_the_run_is_on_the_step_before_is_still_seen(transactional_db, engine):
    """The payment lands and is dispatched while the worker performs the step before the wait
    (outside a transaction, as in a worker: emit's dispatch runs at once): dispatch finds no
    waiter yet; the wait, once stored, finds the event."""
    from automations.actions import Action, registry
    from billing_events import emit

    seen, caught_up = [], []
    original = waits.catch_up

    class PayMeanwhile(Action):
        key = "pay_meanwhile"
        config_schema = {"type": "object", "properties": {}, "additionalProperties": False}

        def run(self, config, context):
            clock.advance(timedelta(minutes=1))
            event = emit("invoice.paid", sample("invoice.paid", invoice={"id": "inv_w1"}), id="evt_during")
            assert Event.objects.get(pk=event.id).dispatched_at is not None
            seen.append((event.id, EventWaiter.objects.count()))
            return {}

    def spy(*args):
        caught_up.append(original(*args))
        return caught_up[-1]

    with registry.register_temporarily(PayMeanwhile), pytest.MonkeyPatch.context() as patch:
        patch.setattr(waits, "catch_up", spy)
        execution = start(engine, make([{"key": "before", "type": "action", "action": "pay_meanwhile"},
                                        *PAID_OR_NOT]))
    execution.refresh_from_db()
    assert seen == [("evt_during", 0)]  # dispatched while no waiter existed
    assert caught_up == [True]  # the wait found it
    assert execution.status == "succeeded"
    assert execution.outputs["wait_paid"] == {"event": "invoice.paid", "event_id": "evt_during"}
    assert tasks()[0].startswith("Thank ")


def test_a_second_wait_in_the_same_run_waits_for_a_new_event(db, engine):
    steps = [{"key": "first", "type": "wait_for", "events": ["invoice.paid"], "timeout": "1d"},
             {"key": "second", "type": "wait_for", "events": ["invoice.paid"], "timeout": "1d"}]
    execution = start(engine, make(steps))
    clock.advance(timedelta(hours=1))
    paid(engine, id="evt_one")
    execution.refresh_from_db()
    assert execution.outputs["first"]["event_id"] == "evt_one" and execution.status == "waiting"
    engine.advance(days=1, hours=1)
    execution.refresh_from_db()
    assert execution.outputs["second"] == {"timed_out": True}


def test_until_a_date_from_the_data(db, engine):
    steps = [{"key": "wait_due", "type": "wait_for", "events": ["invoice.paid"],
              "until": "{{ invoice.due_date }}", "offset": "2d"}]
    automation = make(steps, conditions={"all": [{"field": "invoice.due_date", "operator": "is_set"}]})
    data = sample("invoice.issued", invoice={"id": "inv_w1", "due_date": "2026-11-25"})
    execution = engine.run(services.run_manual, automation, data)
    execution.refresh_from_db()
    assert execution.wake_at.isoformat() == "2026-11-27T00:00:00+00:00"


@pytest.mark.parametrize("step, field", [
    ({"key": "w", "type": "wait_for", "events": ["invoice.payd"], "timeout": "3d"}, "steps.w.events[0]"),
    ({"key": "w", "type": "wait_for", "events": ["invoice.paid"]}, "steps.w.timeout"),
    ({"key": "w", "type": "wait_for", "events": ["invoice.paid"], "timeout": "3 days"}, "steps.w.timeout"),
    ({"key": "w", "type": "wait_for", "events": [], "timeout": "3d"}, "steps.w.events"),
    ({"key": "w", "type": "wait_for", "events": ["invoice.paid"], "timeout": "3d", "until": "x"}, "steps.w.timeout"),
    ({"key": "w", "type": "wait_for", "events": ["invoice.paid"], "until": "{{ invoce.due_date }}"},
     "steps.w.until"),
])
def test_a_bad_wait_for_is_refused_naming_the_field(db, step, field):
    from billing_events.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        services.create_automation({"name": "x", "trigger": {"type": "manual"}, "correlation_key": "invoice.id",
                                    "steps": [step]})
    assert field in [error["field"] for error in caught.value.errors]


def test_wait_for_needs_a_correlation_key(db):
    from billing_events.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        services.create_automation({"name": "x", "trigger": {"type": "manual"}, "steps": PAID_OR_NOT})
    assert caught.value.errors[0]["field"] == "steps.wait_paid.events"
    assert "correlation_key" in caught.value.errors[0]["message"]


def test_the_definition_round_trips(db):
    automation = make()
    assert services.current_definition(automation)["steps"][0] == PAID_OR_NOT[0]


def test_test_mode_takes_the_timeout_path_unless_an_event_is_simulated(db):
    automation = make()
    timed_out = services.test_run(automation)
    wait, branch = timed_out["timeline"][:2]
    assert wait["output"] == {"timed_out": True} and wait["day"] == 3  # the wait is logged when it ends
    assert branch["branch"] == "else" and branch["day"] == 3

    paid_run = services.test_run(automation, events=[{"type": "invoice.paid", "after": "30h"}])
    wait, branch = paid_run["timeline"][:2]
    assert wait["output"] == {"event": "invoice.paid", "event_id": "test_event_1"}
    assert wait["offset"] == "1d 6h" and branch["offset"] == "1d 6h"
    assert branch["branch"] == "then" and branch["day"] == 1

    late = services.test_run(automation, events=[{"type": "invoice.paid", "after": "4d"}])
    assert late["timeline"][0]["output"] == {"timed_out": True}


def test_test_mode_events_through_the_api(db, admin_client):
    automation = make()
    answer = admin_client.post(f"/api/automations/{automation.pk}/test/",
                               {"events": [{"type": "invoice.paid", "after": "2d"}]}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["timeline"][1]["branch"] == "then"
    bad = admin_client.post(f"/api/automations/{automation.pk}/test/",
                            {"events": [{"type": "invoice.payd"}]}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "events.0.type"


def test_the_run_view_says_what_the_run_waits_for(db, engine, admin_client):
    execution = start(engine, make())
    answer = admin_client.get(f"/api/executions/{execution.pk}/")
    assert answer.json()["step_states"]["wait_paid"] == {
        "status": "waiting", "label": "waiting for invoice.paid until 2026-11-23 10:00 UTC", "attempts": 1, "runs": 0}



def test_a_timeout_or_a_simulated_event_beyond_ten_years_is_refused_naming_the_field(db):
    automation = make()
    with pytest.raises(InvalidInput) as refused:
        services.test_run(automation, events=[{"type": "invoice.paid", "after": "999999w"}])
    assert refused.value.errors[0]["field"] == "events[0].after"
    with pytest.raises(InvalidInput) as refused:
        make([{**PAID_OR_NOT[0], "timeout": "999999w"}, *PAID_OR_NOT[1:]])
    assert refused.value.errors[0]["field"] == "steps.wait_paid.timeout"
    assert "longer than 10 years" in refused.value.errors[0]["message"]
