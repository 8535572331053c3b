"""A real worker cluster on PostgreSQL, killed with SIGKILL at random moments while payments,
credit notes, voids and webhooks are under way, restarted each time and left to recover: no run is
lost, no money moves twice, no task is created twice, and each webhook step has one webhook id.
And killed at one chosen moment: inside a money step's transaction, after the charge.

``pytest --crash-kills=60`` kills it more often than the CI's default of 3.
"""
from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection, transaction

from automations import services
from automations.models import Execution, StepRun, Task
from billing_events import emit
from billing_events.models import CreditNote, Customer, Event, GatewayOperation, Invoice, Payment
from tests.conftest import sample
from tests.fixtures.cluster import kill, start

INVOICES = 24

pytestmark = [
    pytest.mark.crash,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a worker cluster needs PostgreSQL"),
]


def definition(hook: str) -> dict:
    webhook = {"type": "action", "action": "send_webhook",
               "config": {"url": hook, "body": {"invoice": "{{ invoice.id }}"}, "timeout": 2}}
    return {
        "name": "Collect", "trigger": {"type": "event", "event": "invoice.issued"},
        "retry": {"max_attempts": 5, "initial_interval": "1s", "backoff_coefficient": 1, "max_interval": "1s"},
        "steps": [
            {"key": "announce", **webhook},
            {"key": "goodwill", "type": "action", "action": "create_credit_note",
             "config": {"amount": "10", "reason": "goodwill"}},
            {"key": "large", "type": "branch",
             "if": {"all": [{"field": "invoice.total", "operator": "greater_than", "value": 500}]},
             "then": [{"key": "collect", "type": "action", "action": "retry_payment", "config": {}}],
             "else": [{"key": "write_off", "type": "action", "action": "void_invoice", "config": {"reason": "small"}}]},
            {"key": "follow_up", "type": "action", "action": "create_task", "config": {"title": "{{ invoice.id }}"}},
            {"key": "report", **webhook},
        ],
    }


def test_a_cluster_killed_at_random_loses_nothing_and_does_nothing_twice(http_server, request, tmp_path,
                                                                          monkeypatch):
    kills = request.config.getoption("--crash-kills")
    http_server.delay = 0.2  # webhook attempts in flight when the kill comes
    automation = services.create_automation(definition(f"{http_server.url}/hook"))
    services.activate(automation)
    with monkeypatch.context() as lost:  # the dispatches are lost on the way: the sweep queues them again
        lost.setattr("automations.triggers.receivers.queue_now", lambda *args, **kwargs: None)
        for n in range(INVOICES):
            customer = {"id": f"cus_{n}", "default_payment_method": "pm_card_ok"}
            total = "1000.00" if n % 2 else "100.00"
            emit("invoice.issued", sample("invoice.issued", customer=customer, invoice={
                "id": f"inv_{n}", "customer_id": f"cus_{n}", "total": total, "amount_due": total, "status": "open"}),
                id=f"evt_{n}")

    seed = int(time.time())
    rng = random.Random(seed)
    with open(tmp_path / "cluster.log", "wb") as log:
        ticker = start("-m", "tests.fixtures.ticker", log=log)
        cluster = start("manage.py", "qcluster", log=log)
        try:
            for _ in range(kills):
                time.sleep(rng.uniform(0.5, 2.5))
                kill(cluster)
                cluster = start("manage.py", "qcluster", log=log)
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline and (
                    Execution.objects.filter(status__in=["running", "waiting"]).exists()
                    or Execution.objects.count() < INVOICES):
                time.sleep(0.5)
        finally:
            kill(cluster)
            kill(ticker)
    log_text = (tmp_path / "cluster.log").read_text(errors="replace")[-3000:]

    executions = list(Execution.objects.all())
    assert Counter(execution.event_id for execution in executions) == {f"evt_{n}": 1 for n in range(INVOICES)}, (
        "no run lost, none started twice", log_text)
    unfinished = [(e.pk, e.status, e.error) for e in executions if e.status not in ("succeeded", "failed")]
    assert not unfinished, (unfinished, log_text)
    failed = [(e.pk, e.error) for e in executions if e.status == "failed"]
    assert all("MAX_INTERRUPTED_ATTEMPTS" in error for _, error in failed), failed
    assert not StepRun.objects.filter(status="running").exists(), "every attempt was settled"

    for n in range(INVOICES):
        invoice = Invoice.objects.get(pk=f"inv_{n}")
        assert CreditNote.objects.filter(invoice_id=invoice.pk).count() <= 1
        assert Payment.objects.filter(invoice_id=invoice.pk, status="succeeded").count() <= 1, "no payment twice"
        assert Event.objects.filter(type="invoice.paid", data__invoice__id=invoice.pk).count() <= 1
        assert Event.objects.filter(type="invoice.voided", data__invoice__id=invoice.pk).count() <= 1
    succeeded = [e for e in executions if e.status == "succeeded"]
    for execution in succeeded:
        invoice = Invoice.objects.get(pk=execution.data["invoice"]["id"])
        assert invoice.status == ("paid" if invoice.total > 500 else "void"), invoice.pk
        assert CreditNote.objects.filter(invoice_id=invoice.pk).count() == 1
    assert Counter(Task.objects.values_list("execution_id", flat=True)).most_common(1)[0][1] == 1, "no task twice"
    assert set(Task.objects.values_list("execution_id", flat=True)) >= {e.pk for e in succeeded}
    assert GatewayOperation.objects.count() == len(set(GatewayOperation.objects.values_list("key", flat=True)))

    # At least once, and one webhook id for each logical step (a repeat carries the same id).
    ids = Counter(received.headers["webhook-id"] for received in http_server.requests)
    expected = {f"{e.pk}:{key}:0" for e in executions for key in ("announce", "report")}
    assert set(ids) <= expected
    assert {f"{e.pk}:{key}:0" for e in succeeded for key in ("announce", "report")} <= set(ids)
    invoice_of = {execution.pk: execution.data["invoice"]["id"] for execution in executions}
    for received in http_server.requests:  # each delivery is about its own run's invoice
        assert received.json() == {"invoice": invoice_of[int(received.headers["webhook-id"].split(":")[0])]}
    print(f"crash test (seed {seed}): {kills} kills, {len(succeeded)} of {INVOICES} runs succeeded, "
          f"{len(failed)} failed, "
          f"{sum(ids.values())} webhook deliveries for {len(ids)} webhook ids, "
          f"{StepRun.objects.filter(status='interrupted').count()} interrupted attempts")


def blocked_backends() -> list[int]:
    """The sessions on the test database waiting for a lock (the server may serve other databases)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return [pid for (pid,) in cursor.fetchall()]


def wait_until(condition, seconds: float, what: str, log_path: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"waited {seconds}s for {what}\n" + log_path.read_text(errors="replace")[-3000:])


def test_a_worker_killed_inside_a_money_steps_transaction_leaves_nothing_and_the_run_charges_once(tmp_path,
                                                                                                   monkeypatch):
    # The charge, its payment, its event and its record under the key are written in the step's
    # transaction; the worker is killed while that transaction is open (held on a customer row
    # this test locks: the payment's event updates that customer).
    automation = services.create_automation({
        "name": "Collect", "trigger": {"type": "event", "event": "invoice.issued"},
        "steps": [{"key": "collect", "type": "action", "action": "retry_payment", "config": {}}]})
    services.activate(automation)
    with monkeypatch.context() as lost:  # the dispatch is lost on the way: the cluster's sweep queues it again
        lost.setattr("automations.triggers.receivers.queue_now", lambda *args, **kwargs: None)
        emit("invoice.issued", sample("invoice.issued", customer={"default_payment_method": "pm_card_ok"}), id="evt_1")
    invoice_id, customer_id = Invoice.objects.get().pk, Invoice.objects.get().customer_id

    locked, release = threading.Event(), threading.Event()

    def hold_the_customer() -> None:
        try:
            with transaction.atomic():
                Customer.objects.select_for_update().get(pk=customer_id)
                locked.set()
                release.wait(60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_customer)
    holder.start()
    log_path = tmp_path / "cluster.log"
    with open(log_path, "wb") as log:
        try:
            assert locked.wait(10)
            cluster = start("manage.py", "qcluster", log=log)
            ticker = start("-m", "tests.fixtures.ticker", log=log)
            try:
                [worker] = wait_until(blocked_backends, 30, "the worker to wait inside its step", log_path)
            finally:
                kill(cluster)
                kill(ticker)
        finally:
            release.set()
            holder.join()

        def worker_gone() -> bool:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [worker])
                return cursor.fetchone()[0] == 0

        wait_until(worker_gone, 10, "the killed worker's session to end", log_path)
        execution = Execution.objects.get()
        assert execution.status == "running" and not execution.step_runs.exists()
        assert not Payment.objects.filter(invoice_id=invoice_id).exists(), "the killed attempt left no payment"
        assert not GatewayOperation.objects.exists() and not Event.objects.exclude(pk="evt_1").exists()
        assert Invoice.objects.get().status == "open"

        cluster = start("manage.py", "qcluster", log=log)
        ticker = start("-m", "tests.fixtures.ticker", log=log)
        try:
            wait_until(lambda: Execution.objects.get().status == "succeeded", 30, "the resumed run", log_path)
        finally:
            kill(cluster)
            kill(ticker)

    execution = Execution.objects.get()
    assert Payment.objects.get(invoice_id=invoice_id).status == "succeeded", "charged once"
    assert list(execution.step_runs.values_list("attempt", "status")) == [(1, "succeeded")]
    assert GatewayOperation.objects.get().key == f"{execution.pk}:collect:0"
    assert Event.objects.filter(type="invoice.paid").count() == 1 and Invoice.objects.get().status == "paid"
