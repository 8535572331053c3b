"""Concurrency on PostgreSQL: real connections in parallel threads, committed data."""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection, connections  # noqa: F401 (connection: read by skipif)

from automations import clock
from automations.engine import transitions
from automations.steps.cursor import initial_cursor
from automations.models import Execution
from billing_events import emit
from billing_events.models import Event
from tests.conftest import sample

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL's row locks"),
]


def in_parallel(func: Callable[[int], object], workers: int = 2) -> list[object]:
    """Run ``func(i)`` in ``workers`` threads released at the same instant; return their results."""
    barrier = threading.Barrier(workers)
    results: list[object] = [None] * workers
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = func(index)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


@pytest.fixture
def due_executions(dunning):
    version = dunning.active_version
    Execution.objects.bulk_create(
        Execution(automation=dunning, version=version, status="waiting", wake_at=clock.now() - timedelta(minutes=1),
                  wait_token=1, cursor=initial_cursor(), started_at=clock.now()) for _ in range(200))
    return set(Execution.objects.values_list("pk", flat=True))


def test_drains_at_the_same_instant_claim_each_wake_up_once(due_executions):
    def drain(i: int) -> list[int]:
        taken = []
        while (pk := transitions.claim_next_due(transitions.new_lease())) is not None:
            taken.append(pk)
        return taken

    taken = [pk for claims in in_parallel(drain, workers=4) for pk in claims]
    assert sorted(taken) == sorted(due_executions), "every due wake-up claimed, none twice"
    assert set(Execution.objects.values_list("status", flat=True)) == {"running"}


def test_parallel_claims_of_one_wake_up_give_one_lease(due_executions):
    pk = min(due_executions)
    leases = in_parallel(lambda i: transitions.claim(pk, 1), workers=4)
    assert len([lease for lease in leases if lease]) == 1
    assert Execution.objects.get(pk=pk).status == "running"


def test_parallel_emits_of_one_event_id_store_it_once(dunning, monkeypatch):
    dispatched: list[str] = []
    monkeypatch.setattr("automations.triggers.receivers.queue_now",
                        lambda func, event_id, **kw: dispatched.append(event_id))
    results = in_parallel(lambda i: emit("payment.failed", sample("payment.failed"), id="evt_race").created,
                          workers=4)
    assert sorted(results) == [False, False, False, True]
    assert Event.objects.count() == 1 and dispatched == ["evt_race"]


def test_a_cancel_racing_a_claim_leaves_one_outcome(due_executions):
    pk = min(due_executions)

    def act(i: int):
        return transitions.claim(pk, 1) if i == 0 else transitions.cancel(pk, "race")

    lease, canceled = in_parallel(act)
    status = Execution.objects.get(pk=pk).status
    assert status == "canceled" if canceled else status == "running"
    assert lease or canceled


def test_parallel_retries_with_one_idempotency_key_charge_once(db):
    from billing_events.gateway import get_gateway
    from billing_events.models import Payment

    emit("invoice.issued", sample("invoice.issued"), id="evt_seed")
    results = in_parallel(lambda i: get_gateway().retry_payment("inv_2001", payment_method="pm_card_ok",
                                                                idempotency_key="exec:retry:0"), workers=4)
    assert Payment.objects.filter(invoice_id="inv_2001").count() == 1
    assert len({result["payment_id"] for result in results}) == 1
    assert Event.objects.filter(type="invoice.paid").count() == 1


def test_parallel_failures_for_one_invoice_start_one_skip_if_running_run(dunning, monkeypatch):
    from automations import services
    from automations.triggers.events import dispatch

    definition = dict(dunning.active_version.snapshot, correlation_key="invoice.id", reentry="skip_if_running")
    services.update_draft(dunning, definition)
    services.activate(dunning)
    monkeypatch.setattr("automations.triggers.receivers.queue_now", lambda *a, **k: None)
    monkeypatch.setattr("automations.engine.queueing.async_task", lambda *a, **k: None)
    for n in range(4):
        emit("payment.failed", sample("payment.failed"), id=f"evt_{n}")
    in_parallel(lambda i: dispatch(f"evt_{i}"), workers=4)
    assert Execution.objects.filter(correlation_value="inv_2001").count() == 1


def test_two_schedule_sweeps_at_the_same_instant_start_one_run_per_slot(db, monkeypatch):
    from automations import services
    from automations.triggers.schedule_slots import fire_due

    monkeypatch.setattr("automations.engine.queueing.async_task", lambda *a, **k: None)
    for n in range(10):
        automation = services.create_automation({"name": f"S{n}", "trigger": {"type": "schedule", "schedule": {
            "kind": "interval", "every": "1h"}}, "steps": [{"key": "d", "type": "delay", "duration": "1d"}]})
        services.activate(automation)
    moment = clock.now() + timedelta(hours=1)
    counts = in_parallel(lambda i: fire_due(moment), workers=4)
    assert sum(counts) == 10
    assert Execution.objects.count() == 10
    assert Execution.objects.values("automation").distinct().count() == 10
