"""A message's send window and the automation's frequency caps, set in the builder: the server's
errors beside the fields, the card's summary, the saved draft and the test timeline."""
from __future__ import annotations

import pytest

from automations.definition.serialize import definition_of
from tests.browser.conftest import ARTIFACTS, screenshot
from tests.browser.test_builder_editing import card, open_builder

pytestmark = pytest.mark.django_db(transaction=True)


def panel_screenshot(page, name: str) -> None:
    """The side panel scrolled to what the test set (a full-page shot shows the panel's top only)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(".ab-panel").screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_a_send_window_set_in_the_builder_is_saved_and_waited_for_in_test_mode(page, operator, dunning):
    open_builder(page, dunning)
    card(page, "gentle").locator(".ab-select").click()
    panel = page.locator(".ab-panel")
    panel.get_by_label("Send only within a window").check()
    panel.get_by_label("Closes at", exact=True).fill("08:00")  # before 09:00: refused by the server
    page.get_by_role("button", name="Save draft").click()
    error = panel.locator("[data-field='config.send_window.to'] .ab-errors li")
    error.wait_for()
    assert "must be later than from (09:00)" in error.inner_text()

    panel.get_by_label("Closes at", exact=True).fill("17:30")
    panel.get_by_label("Sat").check()
    assert "mon-sat 09:00-17:30" in card(page, "gentle").inner_text()
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("All changes saved").wait_for()
    panel.locator(".ab-send-window").scroll_into_view_if_needed()
    panel_screenshot(page, "builder-send-window")
    gentle = next(step for step in definition_of(dunning.draft_version)["steps"] if step["key"] == "gentle")
    assert gentle["config"]["send_window"] == {"days": ["mon", "tue", "wed", "thu", "fri", "sat"],
                                               "from": "09:00", "to": "17:30"}

    # The sample customer is in New York, where it is 05:00 on the test's Friday morning.
    page.get_by_role("button", name="Test", exact=True).click()
    entry = page.locator(".ab-timeline [data-test-step=gentle]").first
    entry.wait_for()
    assert "waited for the send window until 2026-11-20 09:00 America/New_York (14:00 UTC)" in entry.inner_text()
    screenshot(page, "builder-send-window-test")


def test_own_frequency_caps_are_set_in_the_settings(page, operator, dunning):
    open_builder(page, dunning)
    page.get_by_role("button", name="Settings").click()
    panel = page.locator(".ab-panel")
    panel.get_by_label("Own caps instead of the installation's").check()
    panel.get_by_label("At most", exact=True).fill("2")
    panel.get_by_label("SMS", exact=True).check()
    panel.get_by_label("Over the cap", exact=True).select_option("skip")
    panel.get_by_label("Timezone", exact=True).select_option("Europe/Berlin")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("All changes saved").wait_for()
    panel.locator(".ab-cap").scroll_into_view_if_needed()
    panel_screenshot(page, "builder-frequency-caps")
    definition = definition_of(dunning.draft_version)
    assert definition["frequency_caps"] == [{"channels": ["email", "sms"], "max": 2, "period": "1d", "on_cap": "skip"}]
    assert definition["timezone"] == "Europe/Berlin"
