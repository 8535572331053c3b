"""The buttons that move money, through the API: resume-now/, what retry/, approve/ and a new run
would move (``retry_effects``, ``approve_effects``, ``new_run``), and cancel/ with a reason, required."""
from __future__ import annotations

import pytest

from automations import library, services
from automations.models import Execution, StepRun
from tests.conftest import sample

pytestmark = pytest.mark.django_db


def test_resume_now_goes_on_in_the_same_run_and_409s_once_it_is_not_waiting(api, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    detail = api.get(f"/api/executions/{execution.pk}/").json()
    assert detail["resume_now"] == {
        "allowed": True, "kind": "delay", "effects": ["Charges INV-2026-0042 1,250.00 USD"],
        "text": "the delay at step wait_3d is skipped: the run goes on now at step still_unpaid, which has not run "
                "yet (instead of at 2026-11-23 10:00 UTC)",
        "title": "Skip the wait at step wait_3d?", "action": "Skip the wait and go on now"}
    with engine._running():
        resumed = api.post(f"/api/executions/{execution.pk}/resume-now/")
    assert resumed.status_code == 200
    assert Execution.objects.count() == 1
    assert StepRun.objects.filter(execution=execution, step_key="retry").count() == 1
    services.cancel_execution(execution, "done")
    again = api.post(f"/api/executions/{execution.pk}/resume-now/")
    assert again.status_code == 409
    assert again.json()["errors"][0]["message"] == "only a waiting execution can be resumed now; this one is canceled"


def test_resume_now_refuses_an_approval_with_a_409_saying_why(api, engine):
    services.activate(library.instantiate("write_off"))
    engine.emit("invoice.issued", sample("invoice.issued"), id="evt_issued")
    engine.emit("invoice.overdue", sample("invoice.overdue"), id="evt_overdue")
    execution = Execution.objects.get()
    answer = api.post(f"/api/executions/{execution.pk}/resume-now/")
    assert answer.status_code == 409
    assert "approve or reject it" in answer.json()["errors"][0]["message"]
    detail = api.get(f"/api/executions/{execution.pk}/").json()
    assert detail["resume_now"]["allowed"] is False
    assert detail["approvals"][0]["approve_effects"] == ["Voids INV-2026-0042 (1,250.00 USD due)"]
    one = api.get(f"/api/approvals/{detail['approvals'][0]['id']}/").json()
    assert one["approve_effects"] == ["Voids INV-2026-0042 (1,250.00 USD due)"]


def test_retry_effects_say_what_the_failed_step_charges(api, engine):
    automation = services.create_automation({"name": "Charge", "trigger": {"type": "event", "event": "payment.failed"},
                                             "steps": [{"key": "charge", "type": "action", "action": "retry_payment",
                                                        "config": {}},
                                                       {"key": "credit", "type": "action",
                                                        "action": "create_credit_note", "config": {"amount": "50"}}]})
    services.activate(automation)
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    detail = api.get(f"/api/executions/{execution.pk}/").json()
    assert detail["status"] == "failed" and detail["resume_now"] is None
    assert detail["retry_effects"] == ["Charges INV-2026-0042 1,250.00 USD again (attempt 2 of step charge)",
                                       "Credits 50.00 USD on INV-2026-0042"]


def test_cancel_records_who_where_and_why(api, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    assert api.post(f"/api/executions/{execution.pk}/cancel/", {"reason": 7, "x": 1}, format="json").status_code == 400
    canceled = api.post(f"/api/executions/{execution.pk}/cancel/", {"reason": "customer  called"}, format="json")
    assert canceled.status_code == 200
    assert canceled.json()["status_reason"] == "canceled by ops through the API: customer called"


def test_cancel_without_a_reason_is_refused_naming_the_reason(api, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    missing = api.post(f"/api/executions/{execution.pk}/cancel/", {}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "reason"
    blank = api.post(f"/api/executions/{execution.pk}/cancel/", {"reason": "   "}, format="json")
    assert blank.status_code == 400 and blank.json()["errors"] == [
        {"field": "reason", "message": "say why the run is canceled: the reason is recorded with your name"}]
    execution.refresh_from_db()
    assert execution.status == "waiting" and execution.canceled_in == ""


def test_cancel_records_who_where_and_why_on_the_run(api, dunning, engine, django_user_model):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    api.post(f"/api/executions/{execution.pk}/cancel/", {"reason": "paid by bank transfer"}, format="json")
    execution.refresh_from_db()
    assert (execution.canceled_by.get_username(), execution.canceled_in, execution.cancel_reason) == (
        "ops", "api", "paid by bank transfer")
    detail = api.get(f"/api/executions/{execution.pk}/").json()
    assert detail["ending"]["label"] == "Canceled by ops through the API: paid by bank transfer"


def test_resume_now_needs_the_change_permission(stranger, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    assert stranger.post(f"/api/executions/{execution.pk}/resume-now/").status_code == 403


def test_retry_of_a_charge_declined_for_good_is_refused_with_the_reason(api, engine):
    from billing_events.models import Customer

    engine.emit("invoice.issued", sample("invoice.issued"), id="evt_seed")
    Customer.objects.filter(pk="cus_1001").update(default_payment_method="pm_card_lost")
    automation = services.create_automation({"name": "Charge", "trigger": {"type": "manual"}, "steps": [
        {"key": "charge", "type": "action", "action": "retry_payment", "config": {}}]})
    services.activate(automation)
    execution = engine.run(services.run_manual, automation, sample("invoice.issued"))

    detail = api.get(f"/api/executions/{execution.pk}/").json()
    assert detail["status"] == "failed"
    assert detail["retry_refused"].startswith("this card was declined for good on ")
    answer = api.post(f"/api/executions/{execution.pk}/retry/")
    assert answer.status_code == 409
    assert answer.json()["errors"][0]["message"] == f"not retried: {detail['retry_refused']}"
