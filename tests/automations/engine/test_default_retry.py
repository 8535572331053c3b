"""The default retry policy keeps a run alive through errors that pass (an SMTP 451, a 503, a
dropped connection) and never charges a declined card again on its own: the library's Payment
Dunning against a real SMTP server on loopback and the reference gateway's test processor."""
from __future__ import annotations

from datetime import timedelta

import pytest

from automations import clock, services
from automations.models import Execution, StepRun
from billing_events.models import Payment
from tests.conftest import sample
from tests.fixtures.smtp import smtp  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def test_a_temporary_smtp_failure_is_tried_again_and_the_dunning_goes_on(dunning, engine, smtp):
    smtp.replies[:] = ["451 4.3.0 Temporary local problem", "421 4.7.0 Try again later"]
    engine.emit("payment.failed", sample("payment.failed", customer={"default_payment_method": "pm_card_ok"}),
                id="evt_451")
    execution = Execution.objects.get()
    assert execution.status == "waiting" and execution.wake_at == clock.now() + timedelta(minutes=2)
    engine.advance(minutes=2)
    execution.refresh_from_db()
    assert execution.wake_at == clock.now() + timedelta(minutes=6), "the backoff grows: 2m, 6m, 18m, 30m"
    engine.advance(minutes=6)
    assert [message["Subject"] for _, message in smtp.messages] == [
        "We couldn't process your payment for INV-2026-0042"]
    gentle = list(StepRun.objects.filter(step_key="gentle").order_by("pk").values_list("status", "attempt"))
    assert gentle == [("failed", 1), ("failed", 2), ("succeeded", 3)]
    engine.advance(days=3)  # the retry pays: the invoice is recovered
    execution.refresh_from_db()
    assert execution.status == "succeeded", execution.error
    assert Payment.objects.filter(invoice_id="inv_2001", status="succeeded").count() == 1


def test_five_failures_end_the_run_naming_the_step(dunning, engine, smtp):
    smtp.replies[:] = ["451 4.3.0 Temporary local problem"] * 5
    engine.emit("payment.failed", sample("payment.failed"), id="evt_451")
    for minutes in (2, 6, 18, 30):
        engine.advance(minutes=minutes)
    execution = Execution.objects.get()
    assert execution.status == "failed" and execution.error.startswith("step gentle: ")
    assert StepRun.objects.filter(step_key="gentle", status="failed").count() == 5 and not smtp.messages


def test_a_declined_card_is_charged_once_under_the_default_policy(dunning, engine, smtp):
    engine.emit("payment.failed", sample("payment.failed", customer={"default_payment_method": "pm_card_declined"}),
                id="evt_decline")
    engine.advance(days=3)
    engine.advance(hours=2)
    assert StepRun.objects.filter(step_key="retry").count() == 1
    assert Payment.objects.filter(invoice_id="inv_2001").exclude(pk="pay_4001").count() == 1
    execution = Execution.objects.get()
    assert execution.status == "waiting" and execution.outputs["retry"]["decline_code"] == "card_declined"


def test_an_operator_can_still_say_no_retry(engine, smtp):
    automation = services.create_automation({
        "name": "Once", "trigger": {"type": "manual"}, "retry": {"max_attempts": 1},
        "steps": [{"key": "hello", "type": "action", "action": "send_email",
                   "config": {"to": "{{ customer.email }}", "subject": "Hi", "body": "b"}}]})
    services.activate(automation)
    smtp.replies[:] = ["451 4.3.0 Temporary local problem"]
    execution = engine.run(services.run_manual, automation, sample("payment.failed"))
    execution.refresh_from_db()
    assert execution.status == "failed" and "451" in execution.error
