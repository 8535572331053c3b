"""Admin pages beside the run view, as an operator meets them in a real browser: approving a
write-off on its approval page needs a confirmation naming the money, the event page says which
runs the event started and why the others did not start, and canceling runs from the list asks for
a reason first; each passes axe-core's WCAG 2.1 A/AA checks."""
from __future__ import annotations

import pytest

from tests.browser.conftest import accessibility_problems, login, screenshot
from tests.conftest import sample


@pytest.fixture
def write_off(operator):
    from automations import library, services
    from automations.models import ApprovalRequest
    from billing_events import emit

    services.activate(library.instantiate("write_off"))
    emit("invoice.issued", sample("invoice.issued"), id="evt_issued")
    emit("invoice.overdue", sample("invoice.overdue"), id="evt_overdue")
    return ApprovalRequest.objects.get()


def test_approving_a_write_off_on_its_page_asks_to_confirm_the_void(page, write_off):
    from automations.models import ApprovalRequest
    from billing_events.models import Invoice

    login(page, "ops")
    page.goto(f"/admin/automations/approvalrequest/{write_off.pk}/change/")
    moves = page.locator(".field-approving_moves")
    assert "Voids INV-2026-0042 (1,250.00 USD due)" in moves.inner_text()
    assert accessibility_problems(page) == []
    screenshot(page, "approval-page")

    page.get_by_label("Approve", exact=True).check()
    page.get_by_label("Comment").fill("customer went bust")
    page.get_by_role("button", name="Save", exact=True).click()
    confirm = page.locator(".field-confirm_money")
    confirm.get_by_text("Approving moves money (Voids INV-2026-0042 (1,250.00 USD due)): tick the box to confirm, "
                        "or reject instead.").wait_for()
    assert ApprovalRequest.objects.get().status == "pending" and Invoice.objects.get(id="inv_2001").status == "open"
    assert accessibility_problems(page) == []
    screenshot(page, "approval-page-confirm")

    page.get_by_label("Yes, approve: Voids INV-2026-0042 (1,250.00 USD due)").check()
    page.get_by_label("Approve", exact=True).check()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/approvalrequest/")
    request = ApprovalRequest.objects.get()
    assert (request.status, request.comment) == ("approved", "customer went bust")
    assert Invoice.objects.get(id="inv_2001").status == "void"


def test_the_event_page_says_which_runs_it_started_and_why_the_others_did_not(page, operator):
    from automations import library, services
    from automations.models import Execution
    from billing_events import emit

    dunning = library.instantiate("payment_dunning")
    services.activate(dunning)
    library.instantiate("write_off")  # a draft only: it listens for invoice.overdue, not this event
    low = services.create_automation({
        "name": "Large invoices only", "trigger": {"type": "event", "event": "payment.failed"},
        "conditions": {"all": [{"field": "invoice.amount_due", "operator": "greater_than", "value": 5000}]},
        "steps": [{"key": "note", "type": "action", "action": "create_task", "config": {"title": "Call"}}]})
    services.activate(low)
    quiet = services.create_automation({
        "name": "Paused reminder", "trigger": {"type": "event", "event": "payment.failed"},
        "steps": [{"key": "note", "type": "action", "action": "create_task", "config": {"title": "Call"}}]})
    services.activate(quiet)
    services.pause(quiet)
    emit("payment.failed", sample("payment.failed"), id="evt_first")
    emit("payment.failed", sample("payment.failed"), id="evt_second")
    run = Execution.objects.get(automation=dunning)

    login(page, "ops")
    page.goto("/admin/billing_events/event/evt_second/change/")
    runs = page.locator(".field-automations")
    said = runs.inner_text()
    assert (f"No run started: A run for the same value was still under way — run #{run.pk} for invoice inv_2001 was "
            "still under way, and it runs one at a time per invoice") in said
    assert ("No run started: The entry conditions were not met — invoice.amount_due greater than 5000 "
            "(it is 1250.00)") in said
    assert "No run started: The automation was paused" in said
    assert accessibility_problems(page) == []
    screenshot(page, "event-page-not-started")
    runs.get_by_role("link", name=f"run #{run.pk}").click()
    page.wait_for_url(f"**/execution/{run.pk}/change/")

    page.goto("/admin/billing_events/event/evt_first/change/")
    started = page.locator(".field-automations")
    assert f"Started run #{run.pk} (version 1) · Waiting" in started.inner_text()
    assert accessibility_problems(page) == []
    screenshot(page, "event-page-started")
    started.get_by_role("link", name=f"run #{run.pk}").click()
    page.wait_for_url(f"**/execution/{run.pk}/change/")
    page.get_by_role("link", name="payment.failed (evt_first)").wait_for()  # and back from the run to its event


def test_canceling_runs_from_the_list_asks_for_a_reason(page, operator):
    from automations import library, services
    from automations.models import Execution
    from billing_events import emit

    services.activate(library.instantiate("payment_dunning"))
    emit("payment.failed", sample("payment.failed"), id="evt_failed")
    execution = Execution.objects.get()

    login(page, "ops")
    page.goto("/admin/automations/execution/")
    page.locator(f"input[name=_selected_action][value='{execution.pk}']").check()
    page.locator("select[name=action]").select_option("cancel_selected")
    # Django's admin labels this button "Go" up to 6.0 and "Run" from 6.1.
    page.locator(".actions button[type=submit]").click()
    page.get_by_role("heading", name="Cancel 1 execution?").wait_for()
    assert accessibility_problems(page) == []
    screenshot(page, "cancel-from-list")
    page.get_by_role("button", name="Cancel 1 execution").click()
    page.get_by_text("Say why these runs are canceled: the reason is recorded with your name.").wait_for()
    assert page.get_by_label("Reason (recorded with your name)").get_attribute("aria-invalid") == "true"
    assert Execution.objects.get().status == "waiting"
    assert accessibility_problems(page) == []
    screenshot(page, "cancel-from-list-no-reason")
    page.get_by_label("Reason (recorded with your name)").fill("duplicate of an older run")
    page.get_by_role("button", name="Cancel 1 execution").click()
    page.get_by_text("1 execution(s) canceled: duplicate of an older run").wait_for()
    execution.refresh_from_db()
    assert execution.status_reason == "canceled by ops in the admin: duplicate of an older run"
