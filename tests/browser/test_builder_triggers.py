"""The trigger panel offers the kinds the server describes (its trigger-kind catalogue), by their
labels; switching kinds starts the new one as the server says and saves; a host's own kind is
offered too, with a form drawn from its schema."""
from __future__ import annotations

import pytest

from automations.definition.serialize import definition_of
from automations.trigger_kinds import trigger_kinds
from tests.browser.conftest import screenshot
from tests.browser.test_builder_editing import open_builder
from tests.browser.test_builder_new_steps import checked_after, shot
from tests.noop_step.trigger_kinds import TicketTrigger

pytestmark = pytest.mark.django_db(transaction=True)


def trigger_card(page):
    return page.locator(".ab-card--trigger")


def choose(page, kind):
    checked_after(page, lambda: page.locator(".ab-panel").get_by_label("Starts with", exact=True).select_option(kind))


def saved_trigger(page, automation):
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("All changes saved").wait_for()
    automation.refresh_from_db()
    return definition_of(automation.draft_version)["trigger"]


def test_the_panel_lists_the_catalogues_kinds_and_a_switch_saves(page, operator, dunning):
    open_builder(page, dunning)
    page.locator("#ab-card-trigger").click()
    panel = page.locator(".ab-panel")
    kinds = panel.get_by_label("Starts with", exact=True)
    assert kinds.locator("option").all_inner_texts() == ["A billing event", "A schedule", "By hand"]
    assert "a billing event of the chosen type arrives" in panel.locator(".ab-trigger-description").inner_text()
    assert trigger_card(page).locator("svg.ab-icon--trigger").count() == 1

    choose(page, "schedule")
    assert panel.get_by_label("kind", exact=True).input_value() == "cron", "the catalogue's new schedule"
    assert panel.get_by_label("expression", exact=True).input_value() == "0 9 * * 1"
    assert "each time of a schedule" in panel.locator(".ab-trigger-description").inner_text()
    assert trigger_card(page).locator("svg.ab-icon--delay").count() == 1
    screenshot(page, "builder-trigger-schedule")

    choose(page, "manual")
    assert "Started by hand (Run now, or the API)" in trigger_card(page).inner_text()
    assert "POST run/" in panel.locator(".ab-trigger-description").inner_text()
    assert trigger_card(page).locator("svg.ab-icon--manual").count() == 1
    assert page.get_by_role("button", name="0 problems").is_visible()
    shot(panel, "builder-trigger-panel-manual")
    shot(trigger_card(page), "builder-trigger-card-manual")
    assert saved_trigger(page, dunning) == {"type": "manual"}

    choose(page, "event")
    assert panel.get_by_label("event", exact=True).input_value() == "payment.failed"
    assert "When payment attempt failed" in trigger_card(page).inner_text()
    assert saved_trigger(page, dunning) == {"type": "event", "event": "payment.failed"}


def test_a_hosts_kind_is_offered_with_a_form_drawn_from_its_schema(page, operator, dunning):
    with trigger_kinds.register_temporarily(TicketTrigger):
        open_builder(page, dunning)
        page.locator("#ab-card-trigger").click()
        panel = page.locator(".ab-panel")
        kinds = panel.get_by_label("Starts with", exact=True)
        assert kinds.locator("option").all_inner_texts()[-1] == "A support ticket"
        choose(page, "ticket")
        queue = panel.get_by_label("Queue", exact=True)
        assert queue.input_value() == "billing", "the catalogue's new ticket trigger"
        assert panel.locator("[data-field=queue] code").inner_text() == "queue", "its key beside its label"
        assert "When a billing ticket is opened" in trigger_card(page).inner_text()
        checked_after(page, lambda: queue.select_option("general"))
        checked_after(page, lambda: panel.get_by_label("Lowest priority", exact=True).fill("2"))
        assert "When a general ticket is opened" in trigger_card(page).inner_text()
        assert trigger_card(page).locator("svg.ab-icon--trigger").count() == 1
        assert page.get_by_role("button", name="0 problems").is_visible()
        screenshot(page, "builder-trigger-host-kind")
        shot(panel, "builder-trigger-panel-host-kind")
        assert saved_trigger(page, dunning) == {"type": "ticket", "queue": "general", "priority": 2}
        # the server checks it by its schema: a priority out of range is placed beside the field
        checked_after(page, lambda: panel.get_by_label("Lowest priority", exact=True).fill("9"))
        panel.locator("[data-field=priority] .ab-errors li").first.wait_for()
