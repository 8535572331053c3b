"""The full Payment Dunning flow over 10 virtual days."""
from __future__ import annotations

from django.core import mail

from automations.models import Execution, Task
from billing_events.models import Invoice
from tests.conftest import sample


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


DECLINING = {"default_payment_method": "pm_insufficient_funds"}


def test_unpaid_invoice_gets_gentle_urgent_and_final_emails(dunning, engine):
    engine.emit("payment.failed", sample("payment.failed", customer=DECLINING), id="evt_1")

    execution = Execution.objects.get()
    assert execution.status == "waiting"
    assert subjects() == ["We couldn't process your payment for INV-2026-0042"]
    assert mail.outbox[0].to == ["billing@acme.example"]
    assert "$1,250.00" in mail.outbox[0].body

    engine.advance(days=2, hours=23)
    assert len(mail.outbox) == 1, "nothing is due before the 3 days are over"

    engine.advance(hours=1)
    assert subjects()[1] == "Action required: invoice INV-2026-0042 is still unpaid"
    task = Task.objects.get()
    assert task.title == "Call Acme Corp about INV-2026-0042"
    assert task.description == "$1,250.00 still due; the retry failed (insufficient_funds)."
    assert task.assignee == "collections" and task.invoice_id == "inv_2001"
    execution.refresh_from_db()
    assert execution.status == "waiting"

    engine.advance(days=7)
    assert subjects()[2] == "Final notice: invoice INV-2026-0042"
    assert [m.to for m in mail.outbox] == [["billing@acme.example"]] * 3
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    log = list(execution.step_runs.values_list("step_key", "status"))
    assert log == [("gentle", "succeeded"), ("wait_3d", "succeeded"), ("still_unpaid", "succeeded"),
                   ("retry", "failed"), ("retry_worked", "succeeded"), ("card_unusable", "succeeded"),
                   ("urgent", "succeeded"),
                   ("follow_up", "succeeded"), ("wait_7d", "succeeded"), ("paid_meanwhile", "succeeded"),
                   ("final", "succeeded")]
    assert Invoice.objects.get(pk="inv_2001").status == "open"


def test_a_successful_retry_recovers_the_payment_and_ends_the_run(dunning, engine):
    engine.emit("payment.failed", sample("payment.failed", customer={"default_payment_method": "pm_card_ok"}),
                id="evt_1")
    engine.advance(days=3)
    execution = Execution.objects.get()
    assert execution.status == "succeeded" and execution.status_reason == "stopped at step recovered"
    assert Invoice.objects.get(pk="inv_2001").status == "paid"
    assert execution.outputs["retry"]["status"] == "succeeded"
    assert subjects() == ["We couldn't process your payment for INV-2026-0042"]
    assert not Task.objects.exists()


def test_invoice_paid_event_during_the_wait_ends_the_run_at_once(dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    engine.advance(days=1)
    engine.emit("invoice.paid", sample("invoice.paid"), id="evt_2")
    execution = Execution.objects.get()
    assert execution.status == "canceled" and execution.status_reason.startswith("exit_on: invoice.paid (evt_2)")
    engine.advance(days=10)
    assert subjects() == ["We couldn't process your payment for INV-2026-0042"]


def test_a_second_failure_for_the_same_invoice_starts_no_second_run(dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    engine.emit("payment.failed", sample("payment.failed"), id="evt_2")
    assert Execution.objects.count() == 1 and len(mail.outbox) == 1


def test_invoice_paid_during_the_wait_takes_the_stop_branch(dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    engine.advance(days=1)
    # paid in the billing system without an event reaching us: the branch reads current data
    Invoice.objects.filter(pk="inv_2001").update(status="paid", amount_due=0)

    engine.advance(days=2)
    execution = Execution.objects.get()
    assert execution.status == "succeeded"
    assert execution.status_reason == "stopped at step paid"
    branch = execution.step_runs.get(step_key="still_unpaid")
    assert branch.output["branch"] == "else"
    assert "invoice.status equals 'open' (actual 'paid') -> no" in branch.output["reason"]
    assert subjects() == ["We couldn't process your payment for INV-2026-0042"]
    engine.advance(days=10)
    assert len(mail.outbox) == 1
    assert not Task.objects.exists()
