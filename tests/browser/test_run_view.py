"""The run view's buttons that move money say so, Cancel takes a reason, and the run view, the
builder and the automations list pass axe-core's WCAG 2.1 A/AA checks."""
from __future__ import annotations

import pytest

from tests.browser.conftest import accessibility_problems, login, screenshot
from tests.conftest import sample



@pytest.fixture
def waiting_dunning(operator):
    from automations import library, services
    from automations.models import Execution
    from billing_events import emit

    automation = library.instantiate("payment_dunning")
    services.activate(automation)
    emit("payment.failed", sample("payment.failed"), id="evt_failed")
    return Execution.objects.get(automation=automation)


def _tab_to(page, name: str, limit: int = 80) -> None:
    """Press Tab until the control named ``name`` has the focus: it is reachable by keyboard."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.textContent.trim()") == name:
            return
    raise AssertionError(f"{name!r} is not reachable with Tab")


def test_resume_now_says_what_it_charges_and_goes_on_in_the_same_run(page, waiting_dunning):
    from automations.models import Execution

    login(page, "ops")
    page.goto(f"/admin/automations/execution/{waiting_dunning.pk}/change/")
    actions = page.get_by_role("group", name="Execution actions")
    actions.get_by_role("button", name="Start a new run").wait_for()
    assert accessibility_problems(page) == []
    screenshot(page, "run-view-waiting")
    _tab_to(page, "Resume now")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=f"Resume execution #{waiting_dunning.pk} now?")
    said = dialog.inner_text()
    assert "The delay at step wait_3d ends now" in said and "in this same run" in said
    assert "Charges INV-2026-0042 1,250.00 USD again" in said
    assert accessibility_problems(page) == []
    screenshot(page, "run-view-resume-now-dialog")
    dialog.get_by_role("button", name="Resume now").click()
    page.get_by_text("resumed now by ops in the admin").first.wait_for()
    assert Execution.objects.count() == 1
    assert waiting_dunning.step_runs.filter(step_key="retry").count() == 1
    assert waiting_dunning.step_runs.filter(step_key="gentle").count() == 1


def test_cancel_takes_a_reason_recorded_as_done_in_the_admin(page, waiting_dunning):
    login(page, "ops")
    page.goto(f"/admin/automations/execution/{waiting_dunning.pk}/change/")
    _tab_to(page, "Cancel execution")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=f"Cancel execution #{waiting_dunning.pk}?")
    dialog.get_by_label("Reason (recorded with your name)").fill("customer called, paid by wire")
    screenshot(page, "run-view-cancel-dialog")
    dialog.get_by_role("button", name="Cancel the execution").click()
    page.get_by_text("canceled by ops in the admin: customer called, paid by wire").first.wait_for()
    waiting_dunning.refresh_from_db()
    assert waiting_dunning.status == "canceled"
    assert waiting_dunning.status_reason == "canceled by ops in the admin: customer called, paid by wire"
    assert accessibility_problems(page) == []
    screenshot(page, "run-view-canceled")


def test_retry_from_the_failed_step_says_what_it_charges(page, operator):
    from automations import services
    from automations.models import Execution
    from billing_events import emit

    automation = services.create_automation({"name": "Charge once", "trigger": {"type": "event", "event": "payment.failed"},
                                             "steps": [{"key": "charge", "type": "action", "action": "retry_payment",
                                                        "config": {}}]})
    services.activate(automation)
    emit("payment.failed", sample("payment.failed"), id="evt_failed")
    execution = Execution.objects.get()
    assert execution.status == "failed"
    login(page, "ops")
    page.goto(f"/admin/automations/execution/{execution.pk}/change/")
    _tab_to(page, "Retry from the failed step")
    assert accessibility_problems(page) == []
    screenshot(page, "run-view-failed")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=f"Retry execution #{execution.pk} from the failed step?")
    assert "Charges INV-2026-0042 1,250.00 USD again" in dialog.inner_text()
    screenshot(page, "run-view-retry-dialog")
    dialog.get_by_role("button", name="Keep it as it is").click()
    assert execution.step_runs.count() == 1, "nothing ran"
    page.get_by_role("button", name="Retry from the failed step").click()
    with page.expect_navigation():  # the page reloads once the retry is done
        page.get_by_role("dialog").get_by_role("button", name="Retry from the failed step").click()
    page.get_by_role("group", name="Execution actions").wait_for()
    assert execution.step_runs.count() == 2


def test_the_builder_and_the_automations_list_pass_wcag_21_aa(page, waiting_dunning):
    login(page, "ops")
    page.goto("/admin/automations/automation/")
    assert accessibility_problems(page) == []
    screenshot(page, "automations-list")
    page.goto(f"/admin/automations/automation/{waiting_dunning.automation_id}/builder/")
    page.get_by_role("button", name="Activate").wait_for()
    assert accessibility_problems(page) == []
