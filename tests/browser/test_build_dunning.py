"""A payment dunning built from a blank automation through the builder alone, saved, activated,
run by a real event, and watched on the run view."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import activate_version, login, screenshot
from tests.conftest import sample

pytestmark = pytest.mark.django_db(transaction=True)


def add_step(page, lane_locator, label: str) -> None:
    """Open the last "Add step" menu of a lane and choose ``label``."""
    lane_locator.locator(":scope > li.ab-insert button").last.click()
    menu = page.get_by_role("dialog", name="Add a step")
    menu.get_by_role("button", name=re.compile(f"^{re.escape(label)}")).click()


def panel(page):
    return page.locator(".ab-panel")


def fill_condition(page, field: str, operator_label: str, value: str) -> None:
    """The panel's condition row: the field typed (Tab offers its type's operators), an operator
    chosen by its label, the value typed."""
    panel(page).get_by_label("field", exact=True).fill(field)
    panel(page).get_by_label("field", exact=True).press("Tab")
    panel(page).get_by_label("operator", exact=True).select_option(label=operator_label)
    # A field whose values are known (an output's status) takes its value from a list; once the
    # draft's check has answered, the control is the one it stays.
    page.wait_for_load_state("networkidle")
    value_control = panel(page).get_by_label("value", exact=True)
    if value_control.evaluate("element => element.tagName") == "SELECT":
        value_control.select_option(value)
    else:
        value_control.fill(value)


def rename(page, key: str) -> None:
    field = panel(page).get_by_label("key", exact=True)
    field.fill(key)
    field.press("Tab")
    page.locator(f"[data-step-key={key}]").wait_for()


def test_a_blank_automation_asks_what_starts_it_until_an_event_is_chosen(page, operator):
    login(page, "ops")
    page.goto("/admin/automations/automation/add/builder/")
    page.locator("#ab-builder[data-validated]").wait_for(state="attached")
    trigger = page.get_by_role("button", name=re.compile("^Trigger"))
    assert "When (no event chosen) happens" in trigger.inner_text()
    trigger.click()
    panel(page).locator(".ab-errors li").get_by_text("Choose what starts this automation").wait_for()
    page.locator(".ab-problems-button").click()
    problems = page.locator(".ab-problem-list").inner_text()
    assert "Trigger: Choose what starts this automation" in problems
    assert "Steps: add at least one step" in problems
    assert "None" not in problems and "unknown event type" not in problems
    screenshot(page, "builder-blank-choose-trigger")
    page.keyboard.press("Escape")

    panel(page).get_by_label("event", exact=True).select_option("payment.failed")
    page.locator(".ab-problems-button").filter(has_not_text="Choose").wait_for()
    page.wait_for_function("() => !document.querySelector('.ab-panel').innerText.includes('Choose what starts')")
    assert "When payment attempt failed" in trigger.inner_text()


def test_build_the_dunning_from_blank_activate_and_watch_a_run(page, operator):
    from automations import library
    from automations.models import Automation, Execution
    from billing_events import emit

    library.install_email_templates("payment_dunning")
    login(page, "ops")
    page.goto("/admin/automations/automation/add/")
    page.get_by_role("link", name="Start blank in the builder").click()
    page.wait_for_url("**/automation/add/builder/")
    page.get_by_role("button", name="Settings").click()
    panel(page).get_by_label("Name", exact=True).fill("Payment dunning")

    # Trigger and entry condition.
    page.get_by_role("button", name=re.compile("^Trigger")).click()
    panel(page).get_by_label("Starts with", exact=True).select_option("event")
    panel(page).get_by_label("event", exact=True).select_option("payment.failed")
    assert "Payment attempt failed" in panel(page).inner_text()
    page.get_by_role("button", name=re.compile("^Entry conditions")).click()
    panel(page).get_by_role("button", name="Add condition").click()
    fill_condition(page, "invoice.amount_due", "is greater than", "0")

    main = page.locator("ol.ab-lane--main")
    # The gentle email.
    add_step(page, main, "Send email")
    rename(page, "gentle")
    assert panel(page).get_by_label("to", exact=True).input_value() == "{{ customer.email }}"
    panel(page).get_by_label("a stored email template").check()  # a new email starts written here
    panel(page).get_by_label("template", exact=True).select_option("payment_failed_gentle")
    # Three days' wait.
    add_step(page, main, "Delay")
    rename(page, "wait_3d")
    panel(page).get_by_label("duration", exact=True).fill("3d")
    # Retry the payment; a decline goes on to the branch.
    add_step(page, main, "Retry payment")
    rename(page, "retry")
    panel(page).get_by_label("Then", exact=True).select_option("continue")
    # Branch on the retry's output.
    add_step(page, main, "Branch")
    rename(page, "declined")
    fill_condition(page, "steps.retry.output.status", "equals", "failed")
    then_lane = page.locator("ol[data-lane='declined.then']")
    add_step(page, then_lane, "Create task")
    rename(page, "follow_up")
    panel(page).get_by_label("title", exact=True).fill("Call {{ customer.name }} about {{ invoice.number }}")
    panel(page).get_by_label("assignee", exact=True).fill("collections")
    add_step(page, page.locator("ol[data-lane='declined.else']"), "Stop")
    rename(page, "recovered")
    # The final notice.
    add_step(page, main, "Send email")
    rename(page, "final")
    panel(page).get_by_label("a stored email template").check()
    panel(page).get_by_label("template", exact=True).select_option("payment_failed_final")

    page.get_by_role("button", name="0 problems").wait_for()
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("All changes saved").wait_for()
    screenshot(page, "builder-dunning-built")

    automation = Automation.objects.get()
    assert page.url.endswith(f"/admin/automations/automation/{automation.pk}/builder/")
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(operator)
    saved = api.get(f"/api/automations/{automation.pk}/").json()["draft_definition"]
    assert saved["name"] == "Payment dunning"
    assert saved["trigger"] == {"type": "event", "event": "payment.failed"}
    assert saved["conditions"] == {"all": [{"field": "invoice.amount_due", "operator": "greater_than", "value": 0}]}
    assert [step["key"] for step in saved["steps"]] == ["gentle", "wait_3d", "retry", "declined", "final"]
    steps = {step["key"]: step for step in saved["steps"]}
    assert steps["gentle"]["config"] == {"to": "{{ customer.email }}", "template": "payment_failed_gentle"}
    assert steps["wait_3d"]["duration"] == "3d"
    assert steps["retry"]["action"] == "retry_payment" and steps["retry"]["on_failure"] == "continue"
    assert steps["declined"]["if"] == {"all": [{"field": "steps.retry.output.status", "operator": "equals",
                                                "value": "failed"}]}
    assert steps["declined"]["then"][0]["config"] == {  # a new task is due in two days, of normal priority
        "title": "Call {{ customer.name }} about {{ invoice.number }}", "assignee": "collections", "due_in": "2d",
        "priority": "normal"}
    assert steps["declined"]["else"] == [{"key": "recovered", "type": "stop"}]

    assert "No execution is running or waiting now." in activate_version(page, 1)
    automation.refresh_from_db()
    assert automation.status == "active"

    emit("payment.failed", sample("payment.failed"), id="evt_browser")
    execution = Execution.objects.get()
    page.goto(f"/admin/automations/execution/{execution.pk}/change/")
    run = page.locator("#ab-run")
    run.locator("[data-step-key=gentle]").wait_for()
    assert "succeeded" in run.locator("[data-step-key=gentle] .ab-status").inner_text()
    assert re.search(r"waiting until \d{4}-\d\d-\d\d", run.locator("[data-step-key=wait_3d] .ab-status").inner_text())
    assert "not reached" in run.locator("[data-step-key=retry] .ab-status").inner_text()
    run.locator("[data-step-key=gentle] .ab-select").click()
    details = run.locator(".ab-run-details")
    assert "We couldn't process your payment for INV-2026-0042" in details.inner_text()
    screenshot(page, "run-view")
