"""The buttons that move money, through the API: resume-now/, what retry/ and approve/ would
move (``retry_effects``, ``approve_effects``), and cancel/ with a reason."""
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
        "allowed": True, "kind": "delay", "effects": ["Charges INV-2026-0042 1,250.00 USD again"],
        "text": "the delay at step wait_3d ends now (it would have ended 2026-11-23 10:00 UTC) and the run goes on "
                "at step still_unpaid"}
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
    assert detail["retry_effects"] == ["Charges INV-2026-0042 1,250.00 USD again", "Credits 50.00 USD on INV-2026-0042"]


def test_cancel_records_who_where_and_why(api, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    assert api.post(f"/api/executions/{execution.pk}/cancel/", {"reason": 7, "x": 1}, format="json").status_code == 400
    canceled = api.post(f"/api/executions/{execution.pk}/cancel/", {"reason": "customer  called"}, format="json")
    assert canceled.status_code == 200
    assert canceled.json()["status_reason"] == "canceled by ops through the API: customer called"


def test_cancel_without_a_reason_still_says_who_and_where(api, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    assert api.post(f"/api/executions/{execution.pk}/cancel/").json()["status_reason"] == "canceled by ops through the API"


def test_resume_now_needs_the_change_permission(stranger, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    assert stranger.post(f"/api/executions/{execution.pk}/resume-now/").status_code == 403
