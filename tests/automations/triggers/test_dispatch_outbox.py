"""The dispatch of each new event is written with the event (a transactional outbox) when django-q2's
broker is the ORM broker on the same database: committed with it, rolled back with it, never for a
redelivery, and picked up by a real worker cluster like any other task."""
from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction  # noqa: F401  (connection: the skipif conditions)
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from automations import services
from automations.engine.queueing import DISPATCH_EVENT, GROUP
from automations.models import Execution
from automations.triggers import receivers
from billing_events import emit
from billing_events.models import Customer, Event
from billing_events.signals import event_received
from tests.fixtures.cluster import kill, start
from tests.conftest import sample

pytestmark = pytest.mark.django_db(transaction=True)  # real commits, as the cluster sees them


@pytest.fixture(autouse=True)
def queued_not_run(monkeypatch):
    """Tasks are queued for a cluster, as in production, instead of run inline (the tests' ``sync`` mode)."""
    monkeypatch.setattr(Conf, "SYNC", False)


def queued_dispatches() -> list[dict]:
    """The tasks in django-q2's ORM queue, unsigned."""
    return [SignedPackage.loads(row.payload) for row in OrmQ.objects.all()]


def dispatches_queued() -> list[dict]:
    return [task for task in queued_dispatches() if task["func"] == DISPATCH_EVENT]


def test_the_dispatch_is_queued_with_the_event_as_a_django_q2_task():
    event = emit("payment.failed", sample("payment.failed"), id="evt_1")

    [task] = queued_dispatches()
    assert (task["func"], task["args"], task["group"]) == (DISPATCH_EVENT, ("evt_1",), GROUP)
    assert OrmQ.objects.get().key == Conf.CLUSTER_NAME
    assert event.created and Event.objects.filter(pk="evt_1").exists()


def test_other_receivers_still_hear_of_the_event_once_it_is_committed():
    heard = []

    def receiver(sender, event, written, **kwargs):
        heard.append((event.pk, sorted(written)))

    event_received.connect(receiver, dispatch_uid="test.receiver")
    try:
        with transaction.atomic():
            emit("payment.failed", sample("payment.failed"), id="evt_1")
            assert heard == [], "not before the commit"
    finally:
        event_received.disconnect(dispatch_uid="test.receiver")
    assert heard == [("evt_1", [receivers.DISPATCH_WITH_EVENT])]


def test_a_redelivery_stores_mirrors_and_queues_nothing():
    emit("payment.failed", sample("payment.failed"), id="evt_1")
    renamed = sample("payment.failed", customer={"name": "Renamed"})

    again = emit("payment.failed", renamed, id="evt_1", occurred_at="2030-01-01T00:00:00Z")

    assert not again.created
    assert Event.objects.count() == 1 and OrmQ.objects.count() == 1
    assert Customer.objects.get(pk="cus_1001").name == "Acme Corp"


def test_an_emit_rolled_back_with_its_caller_leaves_nothing_behind():
    with pytest.raises(RuntimeError), transaction.atomic():
        emit("payment.failed", sample("payment.failed"), id="evt_1")
        raise RuntimeError("the caller fails after emitting")

    assert not Event.objects.exists() and not Customer.objects.exists() and not OrmQ.objects.exists()


def test_an_older_event_never_overwrites_a_newer_entity():
    emit("customer.created", sample("customer.created", customer={"name": "Newer", "credit_balance": "5.00"}),
         id="evt_new", occurred_at="2026-11-20T12:00:00Z")
    emit("payment.failed", sample("payment.failed", customer={"name": "Older", "credit_balance": "1.00"}),
         id="evt_old", occurred_at="2026-11-20T09:00:00Z")

    customer = Customer.objects.get(pk="cus_1001")
    assert (customer.name, customer.credit_balance) == ("Newer", Decimal("5.00"))
    assert OrmQ.objects.count() == 2, "both are new events: both are dispatched"


def test_an_event_no_automation_listens_to_is_stored_and_queued():
    event = emit("customer.created", sample("customer.created"), id="evt_lonely")

    assert event.created and [task["args"] for task in queued_dispatches()] == [("evt_lonely",)]


def test_another_broker_queues_the_dispatch_after_the_commit(monkeypatch):
    queued = []
    monkeypatch.setattr(Conf, "ORM", "elsewhere")  # the queue is not in the event's database
    monkeypatch.setattr(receivers, "queue_now", lambda *args: queued.append(args))

    with transaction.atomic():
        emit("payment.failed", sample("payment.failed"), id="evt_1")
        assert queued == []

    assert queued == [(DISPATCH_EVENT, "evt_1")] and not OrmQ.objects.exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL's concurrent writers")
def test_the_same_id_emitted_at_once_from_two_threads_is_stored_and_queued_once():
    barrier = threading.Barrier(2)
    created = []

    def emit_once():
        try:
            barrier.wait(timeout=10)
            created.append(emit("payment.failed", sample("payment.failed"), id="evt_race").created)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=emit_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(created) == [False, True]
    assert Event.objects.count() == 1 and [task["args"] for task in queued_dispatches()] == [("evt_race",)]


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a worker cluster needs PostgreSQL")
def test_a_worker_cluster_picks_up_the_queued_dispatch(tmp_path):
    automation = services.create_automation({
        "name": "One run per event", "trigger": {"type": "event", "event": "payment.failed"},
        "steps": [{"key": "wait", "type": "delay", "duration": "1d"}]})
    services.activate(automation)
    emit("payment.failed", sample("payment.failed"), id="evt_1")
    assert OrmQ.objects.count() == 1

    with open(tmp_path / "cluster.log", "wb") as log:
        cluster = start("manage.py", "qcluster", log=log)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (
                    not Execution.objects.filter(event_id="evt_1").exists() or dispatches_queued()):
                time.sleep(0.2)
        finally:
            kill(cluster)
    log_text = (tmp_path / "cluster.log").read_text(errors="replace")[-3000:]

    assert Execution.objects.filter(event_id="evt_1", automation=automation).count() == 1, log_text
    assert not dispatches_queued(), "the cluster took the task and acknowledged it"
    assert Event.objects.get(pk="evt_1").queued_at is None, "dispatched by that task, not by the sweep"
