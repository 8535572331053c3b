"""A step added from the palette starts with what an operator would expect — an email to the
customer with a subject and a body, a wait of a day, an approval that gives up after three days —
and is not a problem the moment it is added."""
from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_builder_editing import card, open_builder

pytestmark = pytest.mark.django_db(transaction=True)


def checked_after(page, action):
    """Do ``action``, then wait for the server's check of what it left on screen."""
    before = page.locator("#ab-builder").get_attribute("data-validated")
    action()
    page.wait_for_function("before => document.querySelector('#ab-builder').dataset.validated !== before", arg=before)


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
