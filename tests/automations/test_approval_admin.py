"""The approval request's admin page: what it is about and who decides in words, what approving
moves, and a second, explicit confirmation naming that money before approving moves it — asked
again when what approving moves has changed since the page was shown."""
from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages

from automations import library, services
from automations.models import ApprovalRequest, Execution
from billing_events.models import Invoice
from tests.conftest import sample

pytestmark = pytest.mark.django_db

VOIDS = "Voids INV-2026-0042 (1,250.00 USD due)"


@pytest.fixture
def write_off(engine):
    """The library's Write-off approval, waiting for finance to approve voiding INV-2026-0042."""
    services.activate(library.instantiate("write_off"))
    engine.emit("invoice.issued", sample("invoice.issued"), id="evt_issued")
    engine.emit("invoice.overdue", sample("invoice.overdue"), id="evt_overdue")
    return ApprovalRequest.objects.get()


def _url(request: ApprovalRequest) -> str:
    return f"/admin/automations/approvalrequest/{request.pk}/change/"


def _errors(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", error) for error in re.findall(r'<ul class="errorlist"[^>]*>\s*<li>(.*?)</li>', html)]


def test_the_page_says_what_approving_moves_and_who_decides_in_words(admin_client, write_off):
    body = admin_client.get(_url(write_off)).content.decode()
    assert "Approving moves" in body and f"<li>{VOIDS}</li>" in body
    assert f"Yes, approve: {VOIDS}" in body, "the confirmation names the money"
    assert "Customer: Acme Corp" in body and "Invoice: INV-2026-0042" in body and "Amount due: 1250.00 USD" in body
    assert "users allowed to decide approvals <code class='ab-key'>automations.decide_approval</code>" in body
    assert "at its deadline it is rejected" in body
    assert "on_timeout" not in body and "step_key" not in body


def test_one_click_on_approve_moves_no_money(admin_client, engine, write_off):
    answer = engine.run(admin_client.post, _url(write_off), {"decision": "approved", "comment": "bust",
                                                            "shown_effects": VOIDS})
    assert answer.status_code == 200
    assert _errors(answer.content.decode()) == [
        f"Approving moves money ({VOIDS}): tick the box to confirm, or reject instead."]
    assert ApprovalRequest.objects.get().status == "pending"
    assert Invoice.objects.get(id="inv_2001").status == "open"


def test_a_confirmation_for_other_money_is_asked_again(admin_client, engine, write_off):
    answer = engine.run(admin_client.post, _url(write_off), {
        "decision": "approved", "shown_effects": "Voids INV-2026-0042 (900.00 USD due)", "confirm_money": "on"})
    assert _errors(answer.content.decode()) == [
        f"What approving moves has changed since the page was shown: {VOIDS}. Confirm again."]
    assert ApprovalRequest.objects.get().status == "pending"
    assert Invoice.objects.get(id="inv_2001").status == "open"


def test_approving_with_the_confirmation_voids_the_invoice(admin_client, engine, write_off):
    answer = engine.run(admin_client.post, _url(write_off), {
        "decision": "approved", "comment": "customer went bust", "shown_effects": VOIDS, "confirm_money": "on"})
    assert answer.status_code == 302
    request = ApprovalRequest.objects.get()
    assert (request.status, request.comment) == ("approved", "customer went bust")
    assert Invoice.objects.get(id="inv_2001").status == "void"
    assert Execution.objects.get().status == "succeeded"
    # The message names the decision, not the request as it was before it ("… (pending) was changed").
    shown = [str(message) for message in get_messages(answer.wsgi_request)]
    assert shown == ["Approved by admin: Write off invoice INV-2026-0042 ($1,250.00) for Acme Corp? "
                     "The run goes on at once."]


def test_saving_without_a_decision_says_nothing_was_decided(admin_client, engine, write_off):
    answer = engine.run(admin_client.post, _url(write_off), {"decision": "", "shown_effects": VOIDS})
    assert answer.status_code == 302
    assert [str(message) for message in get_messages(answer.wsgi_request)] == [
        "Nothing decided: the request is still pending."]
    assert ApprovalRequest.objects.get().status == "pending"


def test_rejecting_needs_no_money_confirmation(admin_client, engine, write_off):
    answer = engine.run(admin_client.post, _url(write_off), {"decision": "rejected", "comment": "keep trying",
                                                            "shown_effects": VOIDS})
    assert answer.status_code == 302
    assert ApprovalRequest.objects.get().status == "rejected"
    assert Invoice.objects.get(id="inv_2001").status == "open"


def test_an_approval_that_moves_no_money_is_decided_in_one_step(admin_client, engine):
    automation = services.create_automation({
        "name": "Ask first", "trigger": {"type": "event", "event": "invoice.overdue"},
        "steps": [{"key": "ask", "type": "approval", "ask": "Call {{ customer.name }}?",
                   "approvers": {"permission": "automations.decide_approval"}},
                  {"key": "task", "type": "action", "action": "create_task", "config": {"title": "Call"}}]})
    services.activate(automation)
    engine.emit("invoice.overdue", sample("invoice.overdue"), id="evt_overdue")
    request = ApprovalRequest.objects.get()
    body = admin_client.get(_url(request)).content.decode()
    assert "No money, before the run&#x27;s next wait." in body and 'name="confirm_money"' not in body
    answer = engine.run(admin_client.post, _url(request), {"decision": "approved"})
    assert answer.status_code == 302 and ApprovalRequest.objects.get().status == "approved"
