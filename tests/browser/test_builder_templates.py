"""Use a library template: it opens in the builder unsaved — checked, tested and previewed as it
is, nothing created (not even its email templates) — until the operator saves it; Cancel leaves
nothing behind, in the database or in the browser."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import accessibility_problems, login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def use_template(page, title):
    login(page, "ops")
    page.goto("/admin/automations/automation/add/")
    page.get_by_role("link", name=f"Use {title}").click()
    page.locator("#ab-builder[data-validated]").wait_for(state="attached")


def stored_drafts(page):
    return page.evaluate("Object.keys(localStorage).filter(key => key.startsWith('billing-automations:builder'))")


def test_a_template_is_shown_unsaved_and_cancel_leaves_nothing_behind(page, operator):
    from automations.models import Automation, EmailTemplate

    use_template(page, "Payment Dunning")
    assert "/add/builder/?template=payment_dunning" in page.url
    page.locator("[data-step-key=gentle]").wait_for()
    notice = page.locator(".ab-notices")
    assert "Payment Dunning, from the library: nothing is created until you save the draft." in notice.inner_text()
    assert page.locator(".ab-state").first.inner_text() == "new, from Payment Dunning, not saved yet"
    # Checked as it is: its email templates count as coming with it.
    page.get_by_role("button", name="0 problems").wait_for()
    assert not Automation.objects.exists() and not EmailTemplate.objects.exists()

    # Its email templates are shown and previewed, as coming with it.
    page.locator("[data-step-key=gentle] > .ab-card .ab-select").click()
    panel = page.locator(".ab-panel")
    panel.get_by_text("comes with Payment Dunning: it is created when you save the draft").wait_for()
    page.locator(".ab-preview").get_by_text("Subject: We couldn't process your payment for INV-2026-0042").wait_for()
    assert page.get_by_role("button", name="Save email template").count() == 0
    # A test runs on it as it is, and creates nothing either.
    page.get_by_role("button", name="Test", exact=True).click()
    page.locator(".ab-timeline").wait_for()
    assert "Day 10" in page.locator(".ab-timeline").inner_text()
    assert accessibility_problems(page) == []
    screenshot(page, "builder-template-unsaved")

    # An edit is kept in this browser until saved or canceled; Cancel drops it and goes back.
    page.locator("[data-step-key=wait_3d] > .ab-card .ab-select").click()
    panel.get_by_label("duration", exact=True).fill("2d")
    assert stored_drafts(page) == ["billing-automations:builder:new:payment_dunning"]
    notice.get_by_role("button", name="Cancel").click()
    page.wait_for_url("**/admin/automations/automation/add/")
    assert stored_drafts(page) == []
    assert not Automation.objects.exists() and not EmailTemplate.objects.exists()


def test_a_template_saved_from_the_builder_is_created_as_edited_with_its_email_templates(page, operator):
    from automations.definition.serialize import definition_of
    from automations.models import Automation, EmailTemplate

    use_template(page, "Payment Dunning")
    page.locator("[data-step-key=wait_3d] > .ab-card .ab-select").click()
    page.locator(".ab-panel").get_by_label("duration", exact=True).fill("2d")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("All changes saved").wait_for()
    automation = Automation.objects.get()
    page.wait_for_url(re.compile(rf"/admin/automations/automation/{automation.pk}/builder/$"))
    steps = {step["key"]: step for step in definition_of(automation.draft_version)["steps"]}
    assert steps["wait_3d"]["duration"] == "2d"
    assert EmailTemplate.objects.count() == 4
    assert "from the library" not in page.locator(".ab-notices").inner_text()
    assert page.locator(".ab-state").first.inner_text() == "draft v1, never activated"
    assert stored_drafts(page) == []
    # Its email templates are ordinary ones now, saved on their own from the panel.
    page.locator("[data-step-key=gentle] > .ab-card .ab-select").click()
    page.get_by_role("button", name="Save email template").wait_for()
