"""A loop's items are kept once, apart from the cursor: a run goes on over the list as it was when
the loop was entered, through waits, failures and retries; executions whose cursor still holds its
items (stored before) run to the end; test mode writes nothing; the items go with their execution."""
from __future__ import annotations

from datetime import timedelta

import pytest

from automations import clock, services
from automations.actions import Action, registry
from automations.conf import app_settings
from automations.models import Execution, LoopItems, Task
from automations.retention import prune
from automations.steps import loop
from billing_events.models import Customer
from tests.conftest import sample

pytestmark = pytest.mark.django_db


def make(steps):
    automation = services.create_automation({"name": "Loop", "trigger": {"type": "manual"}, "steps": steps})
    services.activate(automation)
    return automation


def task(key, title):
    return {"key": key, "type": "action", "action": "create_task", "config": {"title": title}}


def titles() -> list[str]:
    return list(Task.objects.order_by("pk").values_list("title", flat=True))


@pytest.fixture
def customers():
    Customer.objects.bulk_create(Customer(id=f"cus_{n}", name=f"Customer {n}", email=f"c{n}@example.com")
                                 for n in range(5))


EACH_CUSTOMER_HOURLY = [{"key": "each", "type": "loop", "over": {"collection": "customers"}, "as": "customer",
                         "steps": [{"key": "hour", "type": "delay", "duration": "1h"},
                                   task("note", "{{ customer.name }}")]}]


def test_a_loop_resumed_after_a_wait_runs_over_its_items_as_they_were(engine, customers):
    execution = engine.run(services.run_manual, make(EACH_CUSTOMER_HOURLY), {})
    execution.refresh_from_db()
    frame = execution.cursor[-1]
    assert execution.status == "waiting" and frame["count"] == 5 and "items" not in frame
    assert LoopItems.objects.get(pk=frame["items_ref"]).items[1]["name"] == "Customer 1"

    Customer.objects.filter(id="cus_1").update(name="Renamed meanwhile")
    for _ in range(5):
        engine.advance(hours=1)
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert titles() == [f"Customer {n}" for n in range(5)], "the list as it was when the loop was entered"
    assert LoopItems.objects.filter(execution=execution).count() == 1, "kept once, not per item"


def test_each_page_of_a_collection_is_kept_once(engine, customers, monkeypatch):
    monkeypatch.setattr(loop, "PAGE_SIZE", 2)
    monkeypatch.setattr(loop, "PAGES_PER_REFILL", 1)
    automation = make([{**EACH_CUSTOMER_HOURLY[0], "steps": [task("note", "{{ customer.name }}")]}])
    execution = engine.run(services.run_manual, automation, {})
    execution.refresh_from_db()
    assert execution.status == "succeeded" and titles() == [f"Customer {n}" for n in range(5)]
    pages = LoopItems.objects.filter(execution=execution).order_by("pk")
    assert [(page.offset, len(page.items)) for page in pages] == [(0, 2), (2, 2), (4, 1)]
    assert list(execution.step_runs.filter(step_key="note").values_list("loop_index", flat=True)) == [
        "0", "1", "2", "3", "4"]


class FailsOnce(Action):
    """A local action that breaks unexpectedly in the first pass of its run: in the transaction
    the loop's entry left open (both rolled back, the pass runs again a commit per step), then alone
    (its transaction is rolled back, and the step fails for good). It succeeds when run again."""

    key = "fails_once"
    local = True
    calls = 0

    def run(self, config, context):
        FailsOnce.calls += 1
        if FailsOnce.calls <= 2:
            raise RuntimeError("not this time")
        return {"ok": True}


@pytest.fixture
def fails_once():
    FailsOnce.calls = 0
    with registry.register_temporarily(FailsOnce):
        yield


def test_a_run_that_fails_in_a_loop_is_retried_on_the_loops_items(engine, fails_once):
    automation = make([{"key": "lines", "type": "loop", "over": "invoice.line_items", "as": "line", "steps": [
        {"key": "check", "type": "action", "action": "fails_once", "config": {}},
        task("note", "{{ line.description }}")]}])
    execution = engine.run(services.run_manual, automation, sample("invoice.issued"))
    execution.refresh_from_db()
    assert execution.status == "failed" and execution.error == "step check: RuntimeError: not this time"
    assert LoopItems.objects.filter(pk=execution.cursor[-1]["items_ref"]).exists(), (
        "the items were committed with the loop's entry, not rolled back with the failed step")

    engine.run(services.retry_execution, execution)
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert titles() == ["Pro plan (monthly)", "Extra seats"]


def as_stored_before(execution: Execution) -> None:
    """Rewrite the execution's loop frames as they were stored before items were kept apart."""
    cursor = execution.cursor
    for frame in cursor:
        if "items_ref" in frame:
            frame["items"] = LoopItems.objects.get(pk=frame.pop("items_ref")).items
            del frame["count"]
    Execution.objects.filter(pk=execution.pk).update(cursor=cursor)
    LoopItems.objects.all().delete()


def test_a_loop_in_flight_with_its_items_in_the_cursor_runs_to_the_end(engine):
    data = sample("invoice.issued")
    data["invoice"]["line_items"] = [{"description": "a", "tags": ["x", "y"]}, {"description": "b", "tags": ["z"]}]
    automation = make([{"key": "outer", "type": "loop", "over": "invoice.line_items", "as": "line", "steps": [
        {"key": "inner", "type": "loop", "over": "line.tags", "as": "tag", "steps": [
            {"key": "hour", "type": "delay", "duration": "1h"}, task("t", "{{ line.description }}-{{ tag }}")]}]}])
    execution = engine.run(services.run_manual, automation, data)
    execution.refresh_from_db()
    as_stored_before(execution)
    execution.refresh_from_db()
    assert [frame["items"] for frame in execution.cursor[1:]] == [data["invoice"]["line_items"], ["x", "y"]]

    for _ in range(3):
        engine.advance(hours=1)
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert list(Task.objects.order_by("pk").values_list("title", "idempotency_key")) == [
        ("a-x", f"{execution.pk}:t:0.0"), ("a-y", f"{execution.pk}:t:0.1"), ("b-z", f"{execution.pk}:t:1.0")]
    assert LoopItems.objects.count() == 1, "the loop entered after the upgrade keeps its items apart"


def test_a_collection_loop_in_flight_with_a_page_in_the_cursor_goes_on_to_the_next(engine, customers, monkeypatch):
    monkeypatch.setattr(loop, "PAGE_SIZE", 2)
    monkeypatch.setattr(loop, "PAGES_PER_REFILL", 1)
    execution = engine.run(services.run_manual, make(EACH_CUSTOMER_HOURLY), {})
    execution.refresh_from_db()
    as_stored_before(execution)
    for _ in range(5):
        engine.advance(hours=1)
    execution.refresh_from_db()
    assert execution.status == "succeeded" and titles() == [f"Customer {n}" for n in range(5)]
    assert list(execution.step_runs.filter(step_key="note").values_list("loop_index", flat=True)) == [
        "0", "1", "2", "3", "4"]


def test_test_mode_keeps_loop_items_in_memory(customers):
    result = services.test_run(services.create_automation({"name": "Loop", "trigger": {"type": "manual"},
                                                           "steps": EACH_CUSTOMER_HOURLY}))
    assert result["status"] == "succeeded"
    assert [entry["would"]["would_create_task"]["title"] for entry in result["timeline"] if entry["step"] == "note"] == [
        f"Customer {n}" for n in range(5)]
    assert [entry.get("loop_index") for entry in result["timeline"] if entry["step"] == "note"] == [
        "0", "1", "2", "3", "4"]
    assert not LoopItems.objects.exists()


def test_loop_items_go_with_their_execution(engine):
    automation = make([{"key": "lines", "type": "loop", "over": "invoice.line_items", "steps": [task("t", "x")]}])
    execution = engine.run(services.run_manual, automation, sample("invoice.issued"))
    assert LoopItems.objects.filter(execution=execution).exists()
    prune(clock.now() + timedelta(days=app_settings.RETENTION_DAYS + 1))
    assert not Execution.objects.exists() and not LoopItems.objects.exists()


def test_a_step_that_cannot_be_evaluated_right_after_a_loops_entry_fails_with_the_items_kept(engine):
    automation = make([{"key": "lines", "type": "loop", "over": "invoice.line_items", "as": "line", "steps": [
        {"key": "until", "type": "delay", "until": "{{ line.description }}"}]}])
    execution = engine.run(services.run_manual, automation, sample("invoice.issued"))
    execution.refresh_from_db()
    assert execution.status == "failed" and execution.error.startswith("step until:")
    assert LoopItems.objects.filter(pk=execution.cursor[-1]["items_ref"]).exists()
    assert list(execution.step_runs.order_by("pk").values_list("step_key", "status")) == [
        ("lines", "succeeded"), ("until", "failed")]
