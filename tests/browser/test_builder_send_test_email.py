""""Send me a test email" in the email panel: the email as edited (not yet saved), rendered on the
sample data, reaches the operator's own inbox through the real mail server, marked as a test."""
from __future__ import annotations

from tests.browser.conftest import ARTIFACTS, screenshot
from tests.browser.test_builder_editing import card, open_builder
from tests.fixtures.smtp import smtp  # noqa: F401  (the fixture)


def test_the_email_as_edited_reaches_the_operators_inbox_marked_as_a_test(page, operator, dunning, smtp):
    open_builder(page, dunning)
    card(page, "gentle").locator(".ab-select").click()
    panel = page.locator(".ab-panel")
    panel.get_by_label("subject", exact=True).fill("Still due: {{ invoice.number }} for {{ customer.name }}")
    page.locator(".ab-preview").get_by_text("Subject: Still due: INV-2026-0042 for Acme Corp").wait_for()

    panel.get_by_role("button", name="Send me a test email").click()

    panel.get_by_role("status").get_by_text("Sent to ops@example.com, marked as a test.").wait_for()
    [(recipients, message)] = smtp.messages
    assert recipients == ["ops@example.com"]
    assert message["Subject"] == "[Test] Still due: INV-2026-0042 for Acme Corp", "what is in the form, unsaved"
    assert "Hi Acme Corp," in message.get_body(("plain",)).get_content()
    screenshot(page, "builder-send-test-email")
    page.locator(".ab-preview").screenshot(path=str(ARTIFACTS / "builder-send-test-email-preview.png"))
