"""wait_for in the builder: added from the "+" menu, edited in its panel, saved, and tried in the
test panel with and without the event."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import accessibility_problems, screenshot
from tests.browser.test_build_dunning import add_step, panel
from tests.browser.test_builder_editing import card, keys_in, open_builder

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_wait_for_step_is_added_edited_saved_and_tested(page, operator, dunning):
    open_builder(page, dunning)
    add_step(page, page.locator("ol.ab-lane--main"), "Wait for event")
    assert keys_in(page, "steps")[-1] == "wait_for"
    assert "wait until invoice was paid · up to 3 days" in card(page, "wait_for").inner_text()
    assert panel(page).get_by_role("heading", level=3).inner_text() == "Wait for event: wait_for"
    assert card(page, "wait_for").locator(".ab-card-type").inner_text() == "Wait for event"
    screenshot(page, "builder-wait-for-panel")

    panel(page).get_by_label("timeout", exact=True).fill("2d")
    panel(page).get_by_label("Invoice was voided", exact=True).check()
    assert "wait until invoice was paid or invoice was voided · up to 2 days" in card(page, "wait_for").inner_text()
    panel(page).get_by_label("timeout", exact=True).fill("2 days")
    panel(page).locator("[data-field='timeout'] .ab-errors li").get_by_text(
        re.compile("'2 days' is not a duration")).wait_for()
    panel(page).get_by_label("timeout", exact=True).fill("2d")

    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("All changes saved").wait_for()
    dunning.refresh_from_db()
    from automations.definition.serialize import definition_of

    saved = definition_of(dunning.draft_version)["steps"][-1]
    assert saved == {"key": "wait_for", "type": "wait_for", "events": ["invoice.paid", "invoice.voided"],
                     "timeout": "2d"}

    page.get_by_role("tab", name="Test", exact=True).click()
    page.get_by_role("button", name="Run test").click()
    entry = page.locator("[data-test-step=wait_for]")
    entry.wait_for()
    assert "until the timeout: no event came" in entry.inner_text()
    # An event simulated eleven days in, while the run waits for it: the dunning's exit_on lists
    # invoice.voided, and as in a live run the exit comes first: the run is canceled then.
    page.locator(".ab-panel").get_by_label("events that arrive", exact=True).fill("invoice.voided after 11d")
    page.get_by_role("button", name="Run test").click()
    page.get_by_text("Ends canceled after 11d: exit_on: invoice.voided (test_event_1).").wait_for()
    assert not page.locator("[data-test-step=wait_for]").count()
    card(page, "wait_for").scroll_into_view_if_needed()
    screenshot(page, "builder-wait-for")


def test_an_approval_is_decided_on_the_run_view(page, operator):
    from automations import library, services
    from automations.models import ApprovalRequest, Execution
    from billing_events import emit
    from tests.browser.conftest import login
    from tests.conftest import sample

    automation = library.instantiate("write_off")
    services.activate(automation)
    emit("invoice.issued", sample("invoice.issued"), id="evt_issued")
    emit("invoice.overdue", sample("invoice.overdue"), id="evt_overdue")
    execution = Execution.objects.get(automation=automation)
    assert execution.status == "waiting"

    login(page, "ops")
    page.goto(f"/admin/automations/execution/{execution.pk}/change/")
    request = page.locator("[data-approval]")
    request.get_by_text("Write off invoice INV-2026-0042 ($1,250.00) for Acme Corp?").wait_for()
    assert "waiting for a decision until 2026-11-27 10:00 UTC" in card(page, "ask_finance").inner_text()
    screenshot(page, "run-view-approval")
    request.get_by_label("comment").fill("customer went bust")
    request.get_by_role("button", name="Approve").click()
    dialog = page.get_by_role("dialog", name="Approve: Write off invoice INV-2026-0042 ($1,250.00) for Acme Corp?")
    assert "This moves money:\n\nVoids INV-2026-0042 (1,250.00 USD due)" in dialog.inner_text()
    assert accessibility_problems(page) == []
    screenshot(page, "run-view-approve-dialog")
    dialog.get_by_role("button", name="Approve").click()
    page.locator(".ab-approval--approved").get_by_text("approved by ops: customer went bust").wait_for()
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert ApprovalRequest.objects.get().status == "approved"
