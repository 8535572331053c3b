"""The builder opens on a library automation with nothing wrong in the browser."""
from __future__ import annotations

import pytest

from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_builder_draws_the_dunning_template(page, operator):
    from automations import library

    automation = library.instantiate("payment_dunning")
    login(page, "ops")
    page.goto(f"/admin/automations/automation/{automation.pk}/builder/")
    page.locator("[data-step-key=gentle]").wait_for()
    assert "Send email payment_failed_gentle to {{ customer.email }}" in page.locator("[data-step-key=gentle]").inner_text()
    assert page.get_by_role("button", name="0 problems").is_visible()
    screenshot(page, "builder-dunning")
