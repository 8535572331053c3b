"""A step costs one commit: an action whose effect is in this database runs in its step's
transaction (exactly once, nothing to recover), and a control step commits with the next step."""
from __future__ import annotations

import pytest
from django.db import OperationalError, connections, transaction

from automations import clock, services
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


def test_the_tasks_a_run_creates_have_their_creation_in_their_history(db, engine):
    # Written with the step log when the steps' transaction commits (one statement for all of
    # them), as simple-history writes it, at the apps' clock.
    execution = run(engine, make([{"key": f"t{n}", "type": "action", "action": "create_task",
                                   "config": {"title": f"Task {n}"}} for n in range(3)]))
    assert execution.status == "succeeded"
    history = Task.history.order_by("title")
    assert [(row.title, row.history_type, row.history_date, row.execution_id, row.history_change_reason,
             row.history_user_id) for row in history] == [
        (f"Task {n}", "+", clock.now(), execution.pk, None, None) for n in range(3)], (
        "as simple-history writes a creation, at the apps' clock (frozen by the tests)")
    assert {row.id for row in history} == set(Task.objects.values_list("pk", flat=True))


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


# --- steps that go straight on share one commit ------------------------------------------------


class Scripted(Action):
    """A local action that writes a task, then does what its config says: succeed, fail as a step
    (an ActionError) or raise as a bug would."""

    key = "scripted"
    local = True

    def run(self, config, context):
        Task.objects.create(title=config.get("title", context.step_key), idempotency_key=context.idempotency_key,
                            execution_id=context.execution_id)
        if config.get("then") == "fail":
            raise ActionError("the attempt failed after writing")
        if config.get("then") == "crash":
            raise RuntimeError("a bug in the action")
        return {"ok": True}


@pytest.fixture
def scripted():
    with registry.register_temporarily(Scripted):
        yield


def note(key, then=""):
    return {"key": key, "type": "action", "action": "scripted", "config": {"then": then} if then else {}}


def steps_of(execution):
    return list(execution.step_runs.order_by("pk").values_list("step_key", "status"))


def test_a_failing_local_action_keeps_the_local_actions_before_it(db, engine, scripted):
    execution = run(engine, make([note("first"), note("second"), note("third", then="fail")]))
    assert execution.status == "failed"
    assert sorted(Task.objects.values_list("title", flat=True)) == ["first", "second", "third"], (
        "a failure the action reports commits with what it wrote, and with the steps before it")
    assert steps_of(execution) == [("first", "succeeded"), ("second", "succeeded"), ("third", "failed")]


def test_a_local_action_that_raises_like_a_bug_fails_its_step_only(db, engine, scripted):
    execution = run(engine, make([note("first"), note("buggy", then="crash"), note("never")]))
    assert execution.status == "failed" and "RuntimeError: a bug in the action" in execution.error
    assert list(Task.objects.values_list("title", flat=True)) == ["first"]
    assert steps_of(execution) == [("first", "succeeded"), ("buggy", "failed")]


def test_a_control_step_failing_after_local_actions_does_each_of_them_once(db, engine, scripted):
    # The loop fails while the two tasks wait in its transaction: everything is rolled back and the
    # pass runs again from the last commit, a commit per step, so the tasks exist once each.
    execution = run(engine, make([note("first"), note("second"),
                                  {"key": "each", "type": "loop", "over": "invoice.number",
                                   "steps": [note("inside")]}]))
    assert execution.status == "failed" and "is not a list" in execution.error
    assert sorted(Task.objects.values_list("title", flat=True)) == ["first", "second"]
    assert steps_of(execution) == [("first", "succeeded"), ("second", "succeeded"), ("each", "failed")]


def test_a_batch_whose_lease_is_lost_takes_no_effect(db, engine, local_note, scripted):
    local_note.then = "lose the lease"
    try:
        execution = run(engine, make([note("first"), note("second"),
                                      {"key": "last", "type": "action", "action": "local_note"}]))
    finally:
        local_note.then = ""
    assert Task.objects.count() == 0, "no task of the batch outlives the lease its commit could not prove"
    assert not execution.step_runs.exists()
    assert execution.status == "running" and execution.cursor == [{"owner": None, "slot": "steps", "index": 0}]


def test_an_outside_action_commits_the_local_steps_before_it_first(transactional_db, engine, scripted, http_server):
    # The webhook's intent must be on record with everything before it: a worker dying during the
    # call must not roll back the task while the webhook has gone out.
    seen = []

    class ReadsWhenAsked(list):
        """The server's script: reads, from the server's own connection, what is committed."""

        def __bool__(self):
            return True

        def pop(self, index=-1):
            seen.append(list(Task.objects.values_list("title", flat=True)))
            connections.close_all()  # this thread's connection
            return 200, {"Content-Type": "application/json"}, b"{}", 0

    http_server.script = ReadsWhenAsked()
    execution = run(engine, make([note("first"),
                                  {"key": "hook", "type": "action", "action": "send_webhook",
                                   "config": {"url": http_server.url + "/hook"}}]))
    assert execution.status == "succeeded", execution.error
    assert seen == [["first"]], "the task was committed before the webhook went out"
