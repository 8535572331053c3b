"""Billing actions in automations: branch on a decline code, exactly-once money movements."""
from __future__ import annotations

from contextlib import suppress
from decimal import Decimal

import pytest
from django.core import mail

from automations import services
from automations.actions import ActionError, registry
from automations.models import Execution
from automations.conf import app_settings
from billing_events.models import CreditNote, Customer, Invoice, Payment
from tests.conftest import sample
from tests.fixtures.gateways import gateway_apart  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def email(key, subject):
    return {"key": key, "type": "action", "action": "send_email",
            "config": {"to": "{{ customer.email }}", "subject": subject, "body": "b"}}


RETRY_AND_BRANCH = [
    {"key": "retry", "type": "action", "action": "retry_payment", "config": {"payment_method": "default"},
     "on_failure": "continue"},
    {"key": "outcome", "type": "branch",
     "if": {"all": [{"field": "steps.retry.output.status", "operator": "equals", "value": "succeeded"}]},
     "then": [email("thanks", "Payment received: {{ steps.retry.output.payment_id }}")],
     "else": [{"key": "why", "type": "branch",
               "if": {"all": [{"field": "steps.retry.output.decline_code", "operator": "in",
                               "value": ["expired_card", "card_declined"]}]},
               "then": [email("update_card", "Please update your card ({{ steps.retry.output.decline_code }})")],
               "else": [email("top_up", "Your payment failed: {{ steps.retry.output.decline_code | default('unknown') }}")]}]},
]


def run_for(engine, method: str, steps=RETRY_AND_BRANCH) -> Execution:
    automation = services.create_automation({"name": "Retry", "trigger": {"type": "event", "event": "payment.failed"},
                                             "steps": steps})
    services.activate(automation)
    engine.emit("payment.failed", sample("payment.failed", customer={"default_payment_method": method}))
    return Execution.objects.get()


@pytest.mark.parametrize(("method", "subject"), [
    ("pm_card_ok", "Payment received: "),
    ("pm_card_declined", "Please update your card (card_declined)"),
    ("pm_expired_card", "Please update your card (expired_card)"),
    ("pm_insufficient_funds", "Your payment failed: insufficient_funds"),
])
def test_retry_payment_and_branch_on_its_decline_code(engine, method, subject):
    execution = run_for(engine, method)
    assert execution.status == "succeeded", execution.error
    assert [m.subject for m in mail.outbox][0].startswith(subject)
    payment = Payment.objects.exclude(pk="pay_4001").get()
    assert execution.outputs["retry"]["payment_id"] == payment.pk
    assert Invoice.objects.get(pk="inv_2001").status == ("paid" if method == "pm_card_ok" else "open")


def test_a_decline_runs_the_fallback(engine):
    steps = [{"key": "retry", "type": "action", "action": "retry_payment", "config": {},
              "fallback": [{"key": "task", "type": "action", "action": "create_task",
                            "config": {"title": "Call {{ customer.name }}: {{ steps.retry.output.decline_code or steps.retry.output.error }}"}}]}]
    execution = run_for(engine, "pm_insufficient_funds", steps)
    assert execution.status == "failed" and execution.error == "step retry: payment declined: insufficient_funds"
    from automations.models import Task

    assert Task.objects.get().title == "Call Acme Corp: insufficient_funds"


def test_an_unavailable_processor_is_retried_then_gives_up(engine):
    steps = [{"key": "retry", "type": "action", "action": "retry_payment", "config": {},
              "retry": {"max_attempts": 3, "initial_interval": "5m", "backoff_coefficient": 2}}]
    execution = run_for(engine, "pm_processor_unavailable", steps)
    assert execution.status == "waiting"
    engine.advance(minutes=5)
    engine.advance(minutes=10)
    execution.refresh_from_db()
    assert execution.status == "failed"
    assert list(execution.step_runs.values_list("attempt", flat=True)) == [1, 2, 3]
    assert "temporarily unavailable" in execution.error
    assert not Payment.objects.exclude(pk="pay_4001").exists()


class WorkerDied(BaseException):
    pass


def crash_after_the_charge(engine, monkeypatch, method: str, steps: list) -> None:
    """A run whose worker dies in its retry_payment step, after the gateway charged."""
    automation = services.create_automation({"name": "Retry", "trigger": {"type": "event", "event": "payment.failed"},
                                             "steps": steps})
    services.activate(automation)
    action = registry.get("retry_payment")
    real_call = action.call

    def charge_then_die(config, context):
        with suppress(ActionError):  # a decline, which the gateway has recorded
            real_call(config, context)
        raise WorkerDied

    monkeypatch.setattr(action, "call", charge_then_die)
    with pytest.raises(WorkerDied):
        engine.emit("payment.failed", sample("payment.failed", customer={"default_payment_method": method}))
    monkeypatch.setattr(action, "call", real_call)


def test_a_payment_made_before_a_crash_is_not_made_again(engine, monkeypatch, gateway_apart):
    # A gateway apart commits its charge on its own, before the step's result: the intent row
    # stays "running" and the resumed run asks the gateway by idempotency key.
    crash_after_the_charge(engine, monkeypatch, "pm_card_ok", [
        {"key": "retry", "type": "action", "action": "retry_payment", "config": {}}, email("thanks", "ok")])
    assert Payment.objects.filter(status="succeeded").count() == 1

    engine.advance(seconds=app_settings.LEASE_SECONDS + 1)
    execution = Execution.objects.get()
    assert execution.status == "succeeded"
    assert Payment.objects.filter(status="succeeded").count() == 1, "charged once"
    run = execution.step_runs.get(step_key="retry")
    assert run.status == "succeeded" and "recovered by idempotency key" in run.error
    assert len(mail.outbox) == 1


def test_a_decline_made_before_a_crash_is_not_made_again(engine, monkeypatch, gateway_apart):
    crash_after_the_charge(engine, monkeypatch, "pm_card_declined", [
        {"key": "retry", "type": "action", "action": "retry_payment", "config": {},
         "fallback": [email("update_card", "Please update your card")]}])
    assert Execution.objects.get().step_runs.get().status == "running"

    engine.advance(seconds=app_settings.LEASE_SECONDS + 1)
    execution = Execution.objects.get()
    assert Payment.objects.exclude(pk="pay_4001").get().status == "failed", "the declined card is not charged again"
    run = execution.step_runs.get(step_key="retry")
    assert (run.attempt, run.status, run.error) == (1, "failed", "payment declined: card_declined")
    assert run.output["decline_code"] == "card_declined"
    assert execution.status == "failed" and [m.subject for m in mail.outbox] == ["Please update your card"]


def test_void_credit_and_apply_credits_in_one_run(engine):
    engine.emit("customer.created", sample("customer.created"))
    Customer.objects.filter(pk="cus_1001").update(credit_balance=Decimal("200.00"))
    execution = run_for(engine, "pm_card_declined", [
        {"key": "credit", "type": "action", "action": "create_credit_note",
         "config": {"amount": "{{ invoice.amount_due * 0.1 }}", "reason": "goodwill 10%"}},
        {"key": "use_credits", "type": "action", "action": "apply_credits", "config": {}},
        {"key": "void", "type": "action", "action": "void_invoice", "config": {"reason": "written off"}}])
    assert execution.status == "succeeded", execution.error
    assert execution.outputs["credit"]["amount"] == "125.00"
    assert execution.outputs["use_credits"] == {"applied": "200.00", "balance": "0.00", "amount_due": "925.00",
                                                "invoice_status": "open"}
    invoice = Invoice.objects.get(pk="inv_2001")
    assert (invoice.status, invoice.amount_due, invoice.amount_paid) == ("void", Decimal("0.00"), Decimal("200.00"))
    assert CreditNote.objects.get().idempotency_key == f"{execution.pk}:credit:0"


def test_bad_literal_amounts_are_refused_on_save():
    with pytest.raises(Exception, match="steps.c.config.amount"):
        services.create_automation({"name": "C", "trigger": {"type": "manual"}, "steps": [
            {"key": "c", "type": "action", "action": "create_credit_note", "config": {"amount": "ten"}}]})


def test_an_action_without_an_invoice_fails_clearly(engine):
    automation = services.create_automation({"name": "V", "trigger": {"type": "manual"}, "steps": [
        {"key": "v", "type": "action", "action": "void_invoice", "config": {}}]})
    services.activate(automation)
    execution = engine.run(services.run_manual, automation, {"customer": {"id": "c"}})
    execution.refresh_from_db()
    assert execution.status == "failed" and "no invoice to act on" in execution.error
