"""A step added from the palette starts with what an operator would expect — an email to the
customer with a subject and a body, a wait of a day, an approval that gives up after three days —
and is not a problem the moment it is added. A host's own step type is in the palette too, with a
form drawn from what the server says of it."""
from __future__ import annotations

import pytest

from automations.definition.serialize import definition_of
from tests.browser.conftest import ARTIFACTS, screenshot
from tests.browser.test_builder_editing import card, keys_in, open_builder

pytestmark = pytest.mark.django_db(transaction=True)


def checked_after(page, action):
    """Do ``action``, then wait for the server's check of what it left on screen."""
    before = page.locator("#ab-builder").get_attribute("data-validated")
    action()
    page.wait_for_function("before => document.querySelector('#ab-builder').dataset.validated !== before", arg=before)


def shot(locator, name):
    """A screenshot of one element (a card, the panel) as it is on screen."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def add_after(page, after, label):
    card(page, after).locator(".ab-select").click()
    page.locator(".ab-palette").get_by_role("button", name=label, exact=True).click()


def test_new_steps_start_with_sensible_values_and_no_problem(page, operator, dunning):
    open_builder(page, dunning)
    panel = page.locator(".ab-panel")
    add_after(page, "final", "Send email")
    assert panel.get_by_label("to", exact=True).input_value() == "{{ customer.email }}"
    assert panel.get_by_label("written here").is_checked()
    assert panel.get_by_label("subject", exact=True).input_value() == "About your account"
    page.locator(".ab-preview").get_by_text("Subject: About your account").wait_for()
    assert "Hello Acme Corp," in page.locator(".ab-preview").inner_text()
    assert 'Send email "About your account" to {{ customer.email }}' in card(page, "send_email").inner_text()

    add_after(page, "send_email", "Delay")
    assert "wait 1 day" in card(page, "delay").inner_text()
    add_after(page, "delay", "Wait for event")
    assert panel.get_by_label("timeout", exact=True).input_value() == "3d"
    add_after(page, "wait_for", "Approval")
    assert panel.get_by_label("When nobody decides in time", exact=True).input_value() == "rejected"
    checked_after(page, lambda: add_after(page, "approval", "Create task"))
    assert panel.get_by_label("title", exact=True).input_value() == "Follow up on {{ automation.name }}"
    assert page.get_by_role("button", name="0 problems").is_visible()
    assert page.locator(".ab-badge--error").count() == 0

    # Switched from a stored template to one written here, an email starts from the same words.
    card(page, "gentle").locator(".ab-select").click()
    checked_after(page, lambda: panel.get_by_label("written here").check())
    assert panel.get_by_label("subject", exact=True).input_value() == "About your account"
    assert page.get_by_role("button", name="0 problems").is_visible()
    screenshot(page, "builder-new-steps")


def test_a_hosts_own_step_type_is_added_from_the_palette_edited_saved_and_tested(page, operator, dunning):
    from automations.steps import step_types
    from tests.noop_step.models import NoopStep

    with step_types.register_temporarily(NoopStep):
        open_builder(page, dunning)
        panel = page.locator(".ab-panel")
        add_after(page, "gentle", "Noop")
        assert keys_in(page, "steps")[:3] == ["gentle", "noop", "wait_3d"]
        assert panel.locator("h3").inner_text() == "Noop: noop"
        note = panel.get_by_label("Note", exact=True)
        assert panel.locator("[data-field=note] code").inner_text() == "note", "its key beside its label"
        checked_after(page, lambda: note.fill("Reminded about {{ invoice.number }}"))
        noop = card(page, "noop")
        assert noop.locator(".ab-card-type").inner_text() == "Noop"
        assert noop.locator(".ab-card-summary").inner_text() == "Reminded about {{ invoice.number }}"
        assert noop.locator("svg.ab-icon--step").count() == 1
        assert page.get_by_role("button", name="0 problems").is_visible()
        # the server checks the note as a template: a typo is placed beside the field
        checked_after(page, lambda: note.fill("Reminded about {{ invoce.number }}"))
        panel.locator("[data-field=note] .ab-errors li").first.wait_for()
        checked_after(page, lambda: note.fill("Reminded about {{ invoice.number }}"))
        screenshot(page, "builder-host-step-type")
        palette = page.locator(".ab-palette")
        palette.evaluate("element => { element.scrollTop = element.scrollHeight; }")
        shot(palette, "builder-host-step-type-palette")
        shot(noop, "builder-host-step-type-card")
        shot(panel, "builder-host-step-type-form")

        page.get_by_role("button", name="Save draft").click()
        page.get_by_text("All changes saved").wait_for()
        dunning.refresh_from_db()
        saved = definition_of(dunning.draft_version)["steps"][1]
        assert saved == {"key": "noop", "type": "noop", "note": "Reminded about {{ invoice.number }}"}

        page.get_by_role("tab", name="Test", exact=True).click()
        page.get_by_role("button", name="Run test").click()
        entry = page.locator(".ab-timeline [data-test-step=noop]")
        entry.wait_for()
        assert "Note Reminded about {{ invoice.number }}" in entry.inner_text()
        assert entry.locator("svg.ab-icon--step").count() == 1
        assert "Test: day 0" in card(page, "noop").inner_text()
        shot(entry, "builder-host-step-type-timeline")

        # the insert menu offers it too, by its label
        page.locator("ol.ab-lane--main > li.ab-insert button").last.click()
        menu = page.get_by_role("dialog", name="Add a step")
        menu.get_by_label("Filter steps").fill("noop")
        assert menu.locator(".ab-menu-item:not([hidden]) .ab-menu-item__label").all_inner_texts() == ["Noop"]
