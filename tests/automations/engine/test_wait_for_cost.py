"""One event among 10,000 waiting executions: the waiters are found through the index, so the
dispatch sends the same statements whether one run waits or ten thousand do."""
from __future__ import annotations

import pytest
from django_q.conf import Conf

from automations import clock, services
from automations.steps.cursor import initial_cursor
from automations.models import EventWaiter, Execution
from automations.triggers.events import dispatch
from billing_events import emit
from tests.automations.engine.test_wait_for import PAID_OR_NOT
from tests.conftest import sample
from tests.fixtures.statements import counting

pytestmark = pytest.mark.django_db(transaction=True)  # outside the test's transaction: real commits

#: exit rules, wait rules, the waiters, then for the one woken: BEGIN, its wake-up, its waiter
#: rows, COMMIT; the automations listening for the type; the event marked dispatched.
DISPATCH_STATEMENTS = 10


@pytest.fixture(autouse=True)
def queued_not_run(monkeypatch):
    """The resume queued on commit stays queued, as on a real cluster: its cost is the worker's."""
    monkeypatch.setattr(Conf, "SYNC", False)


def waiting_crowd(automation, count: int) -> None:
    """``count`` executions waiting in the wait step, each for its own invoice."""
    version = automation.active_version
    now = clock.now()
    executions = Execution.objects.bulk_create(
        Execution(automation=automation, version=version, status="waiting", trigger={"type": "manual"},
                  correlation_value=f"inv_crowd_{n}", cursor=initial_cursor(), started_at=now, wake_at=now.replace(
                      year=now.year + 1), wait_token=2)
        for n in range(count))
    if executions[0].pk is None:  # SQLite before 3.35 returns no ids
        executions = list(Execution.objects.filter(correlation_value__startswith="inv_crowd_"))
    EventWaiter.objects.bulk_create(
        EventWaiter(execution=execution, wait_token=2, step_key="wait_paid", event_type="invoice.paid",
                    correlation_key="invoice.id", correlation_value=execution.correlation_value, since=now)
        for execution in executions)


def one_payment(automation, crowd: int, name: str):
    Execution.objects.all().delete()
    waiting_crowd(automation, crowd)
    with Conf_sync(True):
        target = services.run_manual(automation, sample("invoice.issued", invoice={"id": f"inv_{name}"}))
    target.refresh_from_db()
    assert target.status == "waiting"
    event = emit("invoice.paid", sample("invoice.paid", invoice={"id": f"inv_{name}"}), id=f"evt_{name}")
    with counting() as cost:
        dispatch(event.id)
    target.refresh_from_db()
    assert target.wake_at == clock.now() and target.waiters.filter(event_id=event.id).count() == 1
    assert EventWaiter.objects.filter(event_id__isnull=False).count() == 1  # nobody else was touched
    return cost


class Conf_sync:
    def __init__(self, value: bool) -> None:
        self.value = value

    def __enter__(self):
        self.saved, Conf.SYNC = Conf.SYNC, self.value

    def __exit__(self, *exc):
        Conf.SYNC = self.saved


def test_one_event_among_ten_thousand_waiting_executions_costs_a_constant_number_of_statements():
    automation = services.create_automation({"name": "Paid", "trigger": {"type": "manual"},
                                             "correlation_key": "invoice.id", "steps": PAID_OR_NOT})
    services.activate(automation)
    emit("customer.created", sample("customer.created"), id="evt_warm_up")

    few = one_payment(automation, 1, "few")
    many = one_payment(automation, 10_000, "many")

    assert len(many.statements) == len(few.statements), f"few: {few}\nmany: {many}"
    assert len(many.statements) <= DISPATCH_STATEMENTS, f"{many}"
    assert not any("inv_crowd" in sql for sql in many.statements)
