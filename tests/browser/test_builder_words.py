"""What an operator reads in the builder's settings and on its cards are words — the catalogue's
for events, the settings' own labels, an earlier step's output as that step's — with the keys an
engineer needs shown small beside them."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ARTIFACTS, accessibility_problems, screenshot
from tests.browser.test_builder_editing import card, open_builder

pytestmark = pytest.mark.django_db(transaction=True)

KEY = re.compile(r"\b[a-z]+_[a-z_]+\b|\b[a-z]+\.[a-z_]+\b")  # correlation_key, invoice.paid


def test_the_settings_and_the_cards_speak_in_words_with_keys_beside(page, operator, dunning):
    open_builder(page, dunning)
    assert page.locator(".ab-card--trigger").inner_text().endswith("When payment attempt failed")
    assert "Only if invoice amount due is greater than 0" in page.locator(".ab-card--conditions").inner_text()
    assert "If retry's status equals succeeded" in card(page, "retry_worked").inner_text()

    page.get_by_role("button", name="Settings").click()
    panel = page.locator(".ab-panel")
    about = panel.get_by_label("What a run is about", exact=True)
    assert about.input_value() == "invoice.id"
    assert panel.locator("[data-field='correlation_key'] code").inner_text() == "correlation_key"
    again = panel.get_by_label("Starting again", exact=True)
    assert again.locator("option:checked").inner_text() == "Not while a run for the same invoice is under way"
    assert panel.get_by_label("Invoice was paid", exact=True).is_checked()
    assert panel.locator("[data-field='exit_on.invoice.paid'] code").inner_text() == "invoice.paid"
    assert panel.get_by_label("Each wait longer by (times)", exact=True).is_visible()
    # No label or legend an operator reads is a key; the keys are in the small code beside them.
    words = panel.locator("label, legend").evaluate_all(
        "items => items.map(item => [...item.childNodes].filter(node => node.nodeName !== 'CODE')"
        ".map(node => node.textContent).join('').trim())")
    assert words and not [text for text in words if KEY.search(text)], words
    assert accessibility_problems(page) == []
    screenshot(page, "builder-settings-words")
    panel.screenshot(path=str(ARTIFACTS / "builder-settings-panel.png"))
    retries = panel.locator("[data-field='retry']")
    retries.scroll_into_view_if_needed()
    retries.screenshot(path=str(ARTIFACTS / "builder-settings-retries.png"))

    # A problem in the settings is named by the setting in the Problems list.
    about.fill("invoice.idd")
    page.get_by_role("button", name="1 problem").click()
    assert page.get_by_role("dialog", name="Problems").get_by_role(
        "button", name=re.compile("^Settings · What a run is about")).is_visible()
