"""A branch's problems show in the branch's own panel, beside what they are about, as every other
step's do: a condition with no field or an unknown one beside that field, an empty condition
beside the condition, a branch with no steps beside its lanes — not only in the Problems list."""
from __future__ import annotations

import json
import re

import pytest

from tests.browser.conftest import accessibility_problems, screenshot
from tests.browser.test_builder_editing import card, open_builder

pytestmark = pytest.mark.django_db(transaction=True)


def panel(page):
    return page.locator(".ab-panel")


def beside(page, field):
    """The problems listed beside the panel's field ``field`` (its path as the server names it)."""
    return panel(page).locator(f"[data-field='{field}'] > .ab-errors li")


def select_branch(page, key):
    card(page, key).locator(":scope > .ab-card-head .ab-select").click()


def test_a_nested_branchs_condition_problems_show_beside_its_fields(page, operator, dunning):
    open_builder(page, dunning)
    select_branch(page, "retry_worked")
    field = panel(page).get_by_label("field", exact=True)
    field.fill("steps.retry.output.statsu")
    field.press("Tab")
    beside(page, "if.all[0].field").get_by_text(
        "steps.retry.output.statsu: steps.retry.output has no field statsu; did you mean status?").wait_for()
    assert field.get_attribute("aria-invalid") == "true"
    field.fill("")
    field.press("Tab")
    beside(page, "if.all[0].field").get_by_text("is required (a path such as invoice.amount_due)").wait_for()

    # No condition at all: said beside the condition, and the Problems list leads there.
    panel(page).get_by_role("button", name="Remove condition").click()
    beside(page, "if.all").get_by_text("must be a non-empty list of conditions").wait_for()
    assert panel(page).locator(".ab-errors--top li").count() == 0
    page.get_by_role("button", name="1 problem").click()
    page.get_by_role("dialog", name="Problems").get_by_role("button", name=re.compile("retry_worked")).click()
    assert page.evaluate("document.activeElement.closest('[data-field]')?.dataset.field") == "if.all"
    screenshot(page, "builder-branch-empty-condition")
    assert accessibility_problems(page) == []


def test_a_new_branch_says_beside_its_lanes_that_it_needs_steps(page, operator, dunning):
    open_builder(page, dunning)
    card(page, "final").locator(".ab-select").click()
    page.locator(".ab-palette").get_by_role("button", name="Branch").click()
    card(page, "branch").wait_for()
    beside(page, "then").get_by_text("a branch needs at least one step in Then or Else").wait_for()
    assert "no steps yet" in panel(page).locator("[data-field='then']").inner_text()
    assert panel(page).locator(".ab-errors--top li").count() == 0
    # The lane's own button adds the missing step, and the problem goes.
    panel(page).get_by_role("button", name="Add a step to Then").click()
    page.get_by_role("dialog", name="Add a step").get_by_role("button", name=re.compile("^Stop")).click()
    select_branch(page, "branch")
    assert "Then: 1 step" in panel(page).locator("[data-field='then']").inner_text()
    page.wait_for_function("() => !document.querySelector(\".ab-panel [data-field='then'] > .ab-errors li\")")
    screenshot(page, "builder-new-branch-lanes")


def test_a_condition_written_as_one_leaf_shows_its_problem_beside_the_field(page, operator, dunning):
    open_builder(page, dunning)
    page.get_by_role("tab", name="JSON").click()
    area = page.locator("#ab-json")
    definition = json.loads(area.input_value())
    paid_meanwhile = next(step for step in definition["steps"] if step["key"] == "paid_meanwhile")
    paid_meanwhile["if"] = {"field": "invoice.statsu", "operator": "equals", "value": "open"}
    area.fill(json.dumps(definition))
    page.get_by_role("button", name="Apply JSON").click()
    select_branch(page, "paid_meanwhile")
    beside(page, "if.all[0].field").get_by_text("invoice.statsu: invoice has no field statsu; did you mean status?").wait_for()
    assert panel(page).get_by_label("field", exact=True).get_attribute("aria-invalid") == "true"


def test_a_value_chosen_from_a_fields_list_is_cleared_when_the_field_changes(page, operator, dunning):
    """"open" was an invoice's status: for the retry's status it would be a condition that never
    holds, looking chosen."""
    open_builder(page, dunning)
    select_branch(page, "still_unpaid")
    value = panel(page).get_by_label("value", exact=True)
    assert value.input_value() == "open"
    field = panel(page).get_by_label("field", exact=True)
    field.fill("steps.retry.output.status")
    field.press("Tab")
    page.wait_for_function("document.querySelector('.ab-panel [data-field=\"if.all[0].value\"] input')?.value === ''")
    assert "equals open" not in card(page, "still_unpaid").inner_text()
    # Typed by hand, a value stays when the field changes to another without a list.
    panel(page).get_by_label("value", exact=True).fill("failed")
    field.fill("steps.retry.output.decline_code")
    field.press("Tab")
    page.wait_for_function("document.querySelector('.ab-panel [data-field=\"if.all[0].value\"] input')?.value === 'failed'")
