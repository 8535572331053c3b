"""Outcomes on the flow: the builder shows on each card how many runs wait there now and how many of
the period's runs reached it, for the period and version chosen in the bar above the flow."""
from __future__ import annotations

from datetime import timedelta

from automations import clock
from automations.engine import tick
from billing_events import emit
from tests.browser.conftest import accessibility_problems, screenshot
from tests.browser.test_builder_editing import card, open_builder
from tests.conftest import sample


def _failed(invoice: str, card_on_file: str) -> dict:
    customer = f"cus_{invoice}"
    return sample("payment.failed", customer={"id": customer, "default_payment_method": card_on_file},
                  invoice={"id": invoice, "customer_id": customer},
                  payment={"id": f"pay_{invoice}", "invoice_id": invoice, "customer_id": customer})


def test_the_cards_say_how_many_runs_wait_there_and_reached_them(page, operator, dunning):
    # Two invoices' dunnings: the retry pays the first and ends it; the second's card declines, so
    # it gets the urgent notice and waits seven days for the final one.
    emit("payment.failed", _failed("inv_paid", "pm_card_ok"), id="evt_paid")
    emit("payment.failed", _failed("inv_unpaid", "pm_insufficient_funds"), id="evt_unpaid")
    clock.advance(timedelta(days=3))
    tick()

    open_builder(page, dunning)
    bar = page.get_by_role("group", name="Figures on the flow")
    bar.get_by_text("2 runs started · 1 live now · 0 runs reached the goal (0%)").wait_for()
    assert card(page, "gentle").locator(".ab-figures").inner_text() == "2 runs reached it (100%)"
    assert card(page, "retry").locator(".ab-figures").inner_text() == "2 runs reached it (100%)"
    assert card(page, "urgent").locator(".ab-figures").inner_text() == "1 run reached it (50%)"
    assert card(page, "wait_7d").locator(".ab-figures").inner_text() == "1 waiting here now · 1 run reached it (50%)"
    assert card(page, "final").locator(".ab-figures").inner_text() == "0 runs reached it (0%)"
    screenshot(page, "builder-figures-on-the-flow")
    screenshot(page, "builder-figures", height=1250)  # the documentation's picture

    # A version chosen in the bar: the cards follow, and the control keeps the keyboard's focus
    # through the redraw (the bar is not drawn again with the flow).
    version = bar.get_by_label("Version counted")
    version.focus()
    version.select_option("1")
    page.wait_for_function("() => document.querySelector('.ab-figures-summary').textContent.startsWith('2 runs')")
    page.wait_for_load_state("networkidle")
    assert version.evaluate("select => select === document.activeElement")
    assert card(page, "urgent").locator(".ab-figures").inner_text() == "1 run reached it (50%)"
    bar.get_by_label("Period of the figures").select_option(label="Last 7 days")
    bar.get_by_text("2 runs started · 1 live now").wait_for()
    assert accessibility_problems(page) == []
