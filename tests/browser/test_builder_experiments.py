"""An experiment in the builder: the split step's card and lanes on the flow, its variants compared in
the Outcomes tab, and "Keep variant A" making the draft the automation without the split."""
from __future__ import annotations

from datetime import timedelta

from automations import clock, services
from automations.definition.serialize import definition_of
from automations.engine import tick
from automations.models import StepRun
from billing_events import emit
from tests.automations.steps.test_split import _with_split
from tests.browser.conftest import accessibility_problems, screenshot
from tests.browser.test_builder_editing import card, keys_in, open_builder
from tests.browser.test_builder_figures import _failed


def test_the_variants_are_compared_and_the_one_kept_replaces_the_split(page, operator, dunning):
    services.update_draft(dunning, _with_split(definition_of(dunning.active_version)))
    services.activate(dunning)
    for n in range(12):
        emit("payment.failed", _failed(f"inv_{n}", "pm_card_ok" if n % 3 else "pm_insufficient_funds"), id=f"evt_{n}")
    tick()
    clock.advance(timedelta(days=3))
    tick()

    open_builder(page, dunning)
    split = card(page, "experiment")
    assert "A 50 : B 50" in split.inner_text()
    assert keys_in(page, "experiment.a") == ["retry_now"]
    page.get_by_role("tab", name="Outcomes").click()
    panel = page.locator(".ab-panel")
    experiment = panel.locator(".ab-experiment[data-step-key=experiment]")
    experiment.wait_for()
    rows = experiment.locator("tbody tr")
    assert rows.count() == 2 and rows.nth(0).locator("th").inner_text() == "Variant A"
    assert "Too few runs to tell yet" in experiment.locator(".ab-experiment__verdict").inner_text()
    experiment.scroll_into_view_if_needed()
    screenshot(page, "builder-outcomes-experiment", height=1100)
    assert accessibility_problems(page) == []

    # The test takes the variant the live run on the same invoice took, and may be told the other.
    page.get_by_role("tab", name="Test", exact=True).click()
    page.get_by_role("button", name="Run test").click()
    step = page.locator("[data-test-step=experiment]")
    step.wait_for()
    assert "Drawn by invoice.id inv_2001: the one a live run on this data takes." in step.inner_text()
    drawn = "A" if "Took Variant A" in step.inner_text() else "B"
    other = "B" if drawn == "A" else "A"
    page.get_by_label("Variant at experiment").select_option(label=f"Variant {other}")
    page.get_by_role("button", name="Run test").click()
    page.get_by_text(f"Took Variant {other}").wait_for()
    assert "Chosen by the test." in step.inner_text()
    lane = page.get_by_role("region", name=f"Variant {other} of experiment")
    assert lane.locator(".ab-lane-taken").text_content() == " · taken", "the flow shows the variant the test took"
    assert ("retry_now" in page.locator(".ab-timeline").inner_text()) == (other == "A")
    screenshot(page, "builder-test-split")
    page.get_by_role("tab", name="Outcomes").click()

    experiment.get_by_role("button", name="Keep variant A").click()
    page.get_by_text("The draft keeps variant A in place of experiment").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert page.locator("li.ab-step[data-step-key=experiment]").count() == 0
    assert keys_in(page, "steps")[:2] == ["retry_now", "gentle"]
    screenshot(page, "builder-variant-kept")

    # A run's page shows the variant it took as the lane taken.
    run = StepRun.objects.filter(step_key="experiment").select_related("execution").first()
    page.goto(f"/admin/automations/execution/{run.execution.pk}/change/")
    taken = page.get_by_role("region", name=f"Variant {run.output['variant'].upper()} of experiment")
    assert taken.locator(".ab-lane-taken").text_content() == " · taken"
    assert f"took variant {run.output['variant'].upper()} (by invoice.id " in card(page, "experiment").inner_text()
    screenshot(page, "run-view-split")
