"""The run view's buttons say what they do — what moves money, what is sent, what happens for the
first time and what again — Cancel needs a reason, a payment declined while the run went on reads
as declined, and the run view, the run list, the builder and the automations list pass axe-core's
WCAG 2.1 A/AA checks."""
from __future__ import annotations

from datetime import timedelta

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


@pytest.fixture
def completed_dunning(waiting_dunning):
    """The dunning run to its end: the card on file declines the retry, the run goes on (its
    ``on_failure: continue``) with the urgent notice, the task and the final notice."""
    from automations import clock
    from automations.engine import tick

    for days in (3, 7):
        clock.advance(timedelta(days=days))
        tick()
    waiting_dunning.refresh_from_db()
    assert waiting_dunning.status == "succeeded"
    return waiting_dunning


def _tab_to(page, name: str, limit: int = 80) -> None:
    """Press Tab until the control named ``name`` has the focus: it is reachable by keyboard."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.textContent.trim()") == name:
            return
    raise AssertionError(f"{name!r} is not reachable with Tab")


def test_resume_now_skips_the_wait_and_says_the_payment_step_runs_for_the_first_time(page, waiting_dunning):
    from automations.models import Execution

    login(page, "ops")
    page.goto(f"/admin/automations/execution/{waiting_dunning.pk}/change/")
    actions = page.get_by_role("group", name="Execution actions")
    actions.get_by_role("button", name="Resume now").wait_for()
    # a second dunning for the same invoice may not start while this one is live: the page says why
    assert ("Start a new run: not now, this run is still under way, and Payment "
            "dunning runs one at a time per invoice") in actions.inner_text()
    assert accessibility_problems(page) == []
    screenshot(page, "run-view-waiting")
    _tab_to(page, "Resume now")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Skip the wait at step wait_3d?")
    said = dialog.inner_text()
    assert ("The delay at step wait_3d is skipped: the run goes on now at step still_unpaid, which has not run yet "
            "(instead of at 2026-11-23 10:00 UTC)") in said
    assert "in this same run: the steps it has already done are not repeated" in said
    assert "This moves money:\n\nCharges INV-2026-0042 1,250.00 USD" in said
    assert "again" not in said, "nothing happens again: the payment step has not run in this run"
    assert accessibility_problems(page) == []
    screenshot(page, "run-view-resume-now-dialog")
    dialog.get_by_role("button", name="Skip the wait and go on now").click()
    page.get_by_text("Resumed now by ops in the admin: the delay at step wait_3d is skipped").first.wait_for()
    assert Execution.objects.count() == 1
    assert waiting_dunning.step_runs.filter(step_key="retry").count() == 1
    assert waiting_dunning.step_runs.filter(step_key="gentle").count() == 1


def test_cancel_needs_a_reason_and_the_page_says_who_where_and_why(page, waiting_dunning):
    login(page, "ops")
    page.goto(f"/admin/automations/execution/{waiting_dunning.pk}/change/")
    _tab_to(page, "Cancel execution")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=f"Cancel execution #{waiting_dunning.pk}?")
    dialog.get_by_role("button", name="Cancel the execution").click()
    reason = dialog.get_by_label("Reason (required, recorded with your name)")
    error = "Say why the run is canceled: the reason is recorded with your name."
    dialog.get_by_text(error).wait_for()
    assert reason.get_attribute("aria-invalid") == "true"
    assert page.evaluate("() => document.activeElement.id") == "ab-cancel-reason", "the focus goes to the field"
    assert page.evaluate(
        "() => document.getElementById(document.getElementById('ab-cancel-reason').getAttribute('aria-describedby'))"
        ".textContent") == error, "the error is read with the field"
    assert accessibility_problems(page) == []
    screenshot(page, "run-view-cancel-dialog-no-reason")
    waiting_dunning.refresh_from_db()
    assert waiting_dunning.status == "waiting", "nothing is canceled without a reason"

    reason.fill("customer paid by bank transfer")
    dialog.get_by_role("button", name="Cancel the execution").click()
    facts = page.locator(".ab-facts")
    facts.get_by_text("Canceled by ops in the admin: customer paid by bank transfer").wait_for()
    assert "why it was canceled" in facts.inner_text().lower()  # the labels are drawn in capitals
    waiting_dunning.refresh_from_db()
    assert waiting_dunning.status == "canceled"
    assert (waiting_dunning.canceled_by.get_username(), waiting_dunning.canceled_in,
            waiting_dunning.cancel_reason) == ("ops", "admin", "customer paid by bank transfer")
    assert accessibility_problems(page) == []
    screenshot(page, "run-view-canceled")


def test_retry_from_the_failed_step_says_what_it_charges_again(page, operator):
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
    assert page.locator(".ab-run-summary").inner_text() == (
        "Failed at step charge: payment declined: card_declined.")
    assert accessibility_problems(page) == []
    screenshot(page, "run-view-failed")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=f"Retry execution #{execution.pk} from the failed step?")
    assert "Charges INV-2026-0042 1,250.00 USD again (attempt 2 of step charge)" in dialog.inner_text()
    screenshot(page, "run-view-retry-dialog")
    dialog.get_by_role("button", name="Keep it as it is").click()
    assert execution.step_runs.count() == 1, "nothing ran"
    page.get_by_role("button", name="Retry from the failed step").click()
    with page.expect_navigation():  # the page reloads once the retry is done
        page.get_by_role("dialog").get_by_role("button", name="Retry from the failed step").click()
    page.get_by_role("group", name="Execution actions").wait_for()
    assert execution.step_runs.count() == 2


def test_a_card_declined_for_good_is_not_offered_for_retry_and_the_page_says_why(page, operator):
    from automations import services
    from automations.models import Execution
    from billing_events import emit

    automation = services.create_automation({"name": "Charge once", "trigger": {"type": "event", "event": "payment.failed"},
                                             "steps": [{"key": "charge", "type": "action", "action": "retry_payment",
                                                        "config": {}}]})
    services.activate(automation)
    emit("payment.failed", sample("payment.failed", customer={"default_payment_method": "pm_card_lost"}),
         id="evt_failed")
    execution = Execution.objects.get()
    assert execution.status == "failed"
    login(page, "ops")
    page.goto(f"/admin/automations/execution/{execution.pk}/change/")
    refused = page.locator(".ab-run-actions .ab-resume-refused")
    refused.wait_for()
    assert refused.inner_text().startswith("Retry from the failed step is not offered: this card was declined for good on ")
    assert "lost_card: the issuer will never approve this card" in refused.inner_text()
    assert page.get_by_role("button", name="Retry from the failed step").count() == 0
    assert accessibility_problems(page) == []
    screenshot(page, "run-view-retry-refused")


def test_a_declined_payment_the_run_went_on_past_reads_as_declined_not_succeeded(page, completed_dunning):
    login(page, "ops")
    page.goto(f"/admin/automations/execution/{completed_dunning.pk}/change/")
    summary = page.locator(".ab-run-summary")
    summary.wait_for()
    assert summary.inner_text() == ("Completed all its steps, but step retry was declined: Your card was declined "
                                    "(card_declined), and the run went on without it.")
    card = page.locator("[data-step-key='retry'] > .ab-card > .ab-status")
    assert card.inner_text() == "declined — continued: Your card was declined (card_declined)"
    assert "succeeded" not in card.inner_text().lower()
    worked = page.locator("[data-step-key='retry_worked'] > .ab-card > .ab-status")
    assert worked.inner_text() == "condition not met: took Else"
    row = page.locator(".ab-step-log tr", has=page.locator("code", has_text="retry")).first
    assert "declined — continued: Your card was declined (card_declined)" in row.inner_text()
    facts = page.locator(".ab-facts").inner_text()
    assert "Completed, payment declined" in facts
    assert accessibility_problems(page) == []
    screenshot(page, "run-view-declined-continued")

    page.locator("[data-step-key='retry'] > .ab-card .ab-select").click()
    page.locator(".ab-run-details").get_by_text("Attempt 1: declined — continued: Your card was declined").wait_for()
    page.locator("#ab-card-conditions").click()
    page.locator(".ab-run-details").get_by_text(
        "Only if invoice amount due is greater than 0: they held when the run started.").wait_for()
    page.locator("#ab-card-trigger").click()
    page.locator(".ab-run-details").get_by_text(
        "Started by the event payment.failed (evt_failed) at 2026-11-20 10:00 UTC.").wait_for()
    assert accessibility_problems(page) == []
    screenshot(page, "run-view-trigger-details")

    page.goto("/admin/automations/execution/")
    listed = page.locator("#result_list tbody tr").first
    assert "Completed, payment declined" in listed.inner_text()
    assert "Completed all its steps, but step retry was declined (card_declined)" in listed.inner_text()
    assert accessibility_problems(page) == []
    screenshot(page, "run-list")


def test_start_a_new_run_names_the_money_and_the_messages_it_repeats(page, completed_dunning):
    from automations.models import Execution

    login(page, "ops")
    page.goto(f"/admin/automations/execution/{completed_dunning.pk}/change/")
    _tab_to(page, "Start a new run")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Start a new run of Payment dunning?")
    said = dialog.inner_text()
    assert ("This starts a new run of Payment dunning (version 1) from the same event (payment.failed evt_failed): it "
            "may charge INV-2026-0042 1,250.00 USD again and send 4 emails.") in said
    assert "It may move money:\n\nCharges INV-2026-0042 1,250.00 USD again" in said
    assert accessibility_problems(page) == []
    screenshot(page, "run-view-new-run-dialog")
    dialog.get_by_role("button", name="Keep it as it is").click()
    assert Execution.objects.count() == 1, "nothing started"

    page.get_by_role("button", name="Start a new run").click()
    with page.expect_navigation():  # to the new run's page
        page.get_by_role("dialog").get_by_role("button", name="Start a new run").click()
    page.get_by_role("group", name="Execution actions").wait_for()
    new = Execution.objects.exclude(pk=completed_dunning.pk).get()
    assert page.url.endswith(f"/execution/{new.pk}/change/")
    assert new.data == completed_dunning.data and new.trigger["type"] == "manual"


def test_the_builder_and_the_automations_list_pass_wcag_21_aa(page, waiting_dunning):
    login(page, "ops")
    page.goto("/admin/automations/automation/")
    assert accessibility_problems(page) == []
    screenshot(page, "automations-list")
    page.goto(f"/admin/automations/automation/{waiting_dunning.automation_id}/builder/")
    page.get_by_role("button", name="Activate").wait_for()
    assert accessibility_problems(page) == []
