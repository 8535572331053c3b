"""A step costs one commit: an action whose effect is in this database runs in its step's
transaction (exactly once, nothing to recover), and a control step commits with the next step."""
from __future__ import annotations

import pytest
from django.db import OperationalError, transaction

from automations import services
from automations.actions import Action, ActionError, registry
from automations.models import Execution, StepRun, Task
from tests.conftest import sample


def make(steps):
    automation = services.create_automation({"name": "Inline", "trigger": {"type": "manual"}, "steps": steps})
    services.activate(automation)
    return automation


def run(engine, automation) -> Execution:
    execution = engine.run(services.run_manual, automation, sample("invoice.issued"))
    return Execution.objects.get(pk=execution.pk)


class LocalNote(Action):
    """Creates a task, then does what the test asks: fail (keeping its task or rolling it back
    itself), break, or see its run canceled meanwhile."""

    key = "local_note"
    local = True
    then = ""

    def run(self, config, context):
        if self.then == "fail and roll back":
            with transaction.atomic():
                self.write(context)
                raise ActionError("the attempt failed after writing")
        self.write(context)
        if self.then == "fail":
            raise ActionError("the attempt failed after writing")
        if self.then == "break":
            raise RuntimeError("a bug")
        if self.then == "deadlock":
            raise OperationalError("deadlock detected")
        if self.then == "lose the lease":  # as if another worker had taken the run over meanwhile
            Execution.objects.filter(pk=context.execution_id).update(lease_token="another worker's")
        return {"ok": True}

    @staticmethod
    def write(context):
        Task.objects.create(title="written by the attempt", idempotency_key=context.idempotency_key,
                            execution_id=context.execution_id)


@pytest.fixture
def local_note():
    with registry.register_temporarily(LocalNote):
        yield registry.get("local_note")


BRANCH = {"key": "always", "type": "branch", "if": {"all": [{"field": "invoice.amount_due", "operator": "is_set"}]},
          "then": [{"key": "note", "type": "action", "action": "local_note"}]}


def test_a_local_action_commits_with_its_log_row(db, engine, local_note):
    execution = run(engine, make([BRANCH]))
    assert execution.status == "succeeded"
    assert list(execution.step_runs.order_by("pk").values_list("step_key", "status")) == [
        ("always", "succeeded"), ("note", "succeeded")]
    assert Task.objects.count() == 1


@pytest.mark.parametrize(("then", "tasks", "error"), [
    ("fail", 1, "the attempt failed after writing"),  # an error it raises commits with what it wrote
    ("fail and roll back", 0, "the attempt failed after writing"),  # unless it rolled that back itself
    ("break", 0, "RuntimeError: a bug"),  # any other exception leaves nothing of the attempt
])
def test_what_a_failed_local_attempt_leaves_is_up_to_the_action(db, engine, local_note, then, tasks, error):
    local_note.then = then
    try:
        execution = run(engine, make([BRANCH]))
    finally:
        local_note.then = ""
    assert execution.status == "failed" and execution.step_runs.get(step_key="note").error == error
    assert Task.objects.count() == tasks
    assert list(execution.step_runs.order_by("pk").values_list("step_key", "status")) == [
        ("always", "succeeded"), ("note", "failed")], "the branch before it is still logged"


def test_a_database_error_rolls_the_attempt_back_and_is_tried_again(db, engine, local_note):
    local_note.then = "deadlock"
    try:
        automation = make([{**BRANCH["then"][0], "retry": {"max_attempts": 2, "initial_interval": "1m"}}])
        execution = run(engine, automation)
        assert execution.status == "waiting" and Task.objects.count() == 0
        local_note.then = ""
        engine.advance(minutes=1)
    finally:
        local_note.then = ""
    execution.refresh_from_db()
    assert execution.status == "succeeded" and Task.objects.count() == 1
    assert list(execution.step_runs.values_list("attempt", "status", "error")) == [
        (1, "failed", "OperationalError: deadlock detected"), (2, "succeeded", "")]


def test_a_local_action_that_cannot_prove_its_lease_takes_no_effect(db, engine, local_note):
    local_note.then = "lose the lease"
    try:
        execution = run(engine, make([BRANCH]))
    finally:
        local_note.then = ""
    assert Task.objects.count() == 0, "the effect is rolled back with the step it belongs to"
    assert not execution.step_runs.exists(), "and so are the step and the branch before it"
    assert execution.status == "running" and execution.cursor == [{"owner": None, "slot": "steps", "index": 0}]


def test_create_task_runs_once_without_an_intent_row(db, engine):
    execution = run(engine, make([{"key": "t", "type": "action", "action": "create_task",
                                   "config": {"title": "Once"}}]))
    row = execution.step_runs.get()
    assert row.status == "succeeded" and row.input == {"title": "Once"} and row.output["title"] == "Once"
    assert Task.objects.get().idempotency_key == f"{execution.pk}:t:0"


def test_a_step_after_an_action_that_changed_billing_data_reads_it_again(db, engine):
    engine.emit("invoice.issued", sample("invoice.issued"), id="evt_1")  # the customer, in the billing data
    execution = run(engine, make([
        {"key": "read_first", "type": "branch",
         "if": {"all": [{"field": "customer.tags", "operator": "not_contains", "value": "vip"}]},
         "then": [{"key": "tag", "type": "action", "action": "add_tag", "config": {"tag": "vip"}}]},
        {"key": "read_again", "type": "branch",
         "if": {"all": [{"field": "customer.tags", "operator": "contains", "value": "vip"}]},
         "then": [{"key": "seen", "type": "action", "action": "create_task", "config": {"title": "VIP now"}}]},
    ]))
    assert execution.status == "succeeded"
    assert execution.outputs["read_first"] == {"branch": "then"} and execution.outputs["read_again"] == {"branch": "then"}
    assert Task.objects.filter(title="VIP now").exists()
