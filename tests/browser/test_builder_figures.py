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
    bar.get_by_text("2 runs started · 1 live now · 0 runs reached the goal (0%) · "
                    "$1,250.00 recovered (1 invoice: 1 by a retry)").wait_for()
    assert card(page, "gentle").locator(".ab-figures").inner_text() == "2 runs reached it (100%)"
    assert card(page, "retry").locator(".ab-figures").inner_text() == "2 runs reached it (100%) · $1,250.00 recovered"
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



def test_the_outcomes_tab_draws_the_days_the_funnel_and_the_money_recovered(page, operator, dunning):
    # Three invoices over four days: the retry pays the first on day three; the second's customer
    # pays on day one, after the gentle email; the third's card declines and it waits.
    emit("payment.failed", _failed("inv_retry", "pm_card_ok"), id="evt_retry")
    emit("payment.failed", _failed("inv_customer", "pm_insufficient_funds"), id="evt_customer")
    emit("payment.failed", _failed("inv_unpaid", "pm_insufficient_funds"), id="evt_unpaid")
    clock.advance(timedelta(days=1))
    emit("invoice.paid", sample("invoice.paid", customer={"id": "cus_inv_customer"},
                                invoice={"id": "inv_customer", "customer_id": "cus_inv_customer"}), id="evt_paid")
    clock.advance(timedelta(days=2))
    tick()

    open_builder(page, dunning)
    page.get_by_role("tab", name="Outcomes").click()
    panel = page.locator(".ab-panel")
    headline = panel.locator(".ab-outcomes-headline")
    headline.wait_for()
    assert dict(zip(headline.locator("dt").all_inner_texts(), headline.locator("dd").all_inner_texts())) == {
        "Runs started": "3", "Live now": "1", "Reached the goal": "1 (33%)", "Money recovered": "$2,500.00",
        "Invoices recovered": "2: 1 by a retry, 1 by the customer",
        "Time to recover": "median 1 day, 90% within 3 days"}
    chart = panel.locator(".ab-outcomes-chart[data-drawn]")
    chart.wait_for()
    assert chart.locator("canvas").count() == 1
    assert "3 started, 1 reached the goal, 2 invoices recovered" in chart.get_attribute("aria-label")
    funnel = {item.get_attribute("data-step-key"): item.locator(".ab-funnel__words").inner_text()
              for item in panel.locator(".ab-funnel__step").all()}
    assert funnel["gentle"] == "3 reached (100%) · $1,250.00 recovered", "the customer paid after the gentle email"
    assert funnel["retry"] == "2 reached (67%) · $1,250.00 recovered"
    assert funnel["wait_7d"] == "1 reached (33%) · 1 waiting now"
    templates = panel.get_by_role("table", name="Emails by template")
    assert "payment_failed_gentle" in templates.inner_text()
    panel.get_by_text("The days as a table").click()
    assert panel.get_by_role("table", name="Runs per day (days with none are left out)").locator("tbody tr").count() == 3
    screenshot(page, "builder-outcomes-tab", height=1100)
    panel.evaluate("element => { element.scrollTop = element.scrollHeight; }")
    screenshot(page, "builder-outcomes-tab-funnel", height=1100)
    assert accessibility_problems(page) == []

    # Another period in the bar: the tab follows.
    page.get_by_role("group", name="Figures on the flow").get_by_label("Period of the figures").select_option(
        label="Last 7 days")
    page.wait_for_function("() => document.querySelector('.ab-outcomes .ab-help')?.textContent.includes('From ')"
                           " && document.querySelectorAll('.ab-outcomes-table').length >= 1")
    panel.locator(".ab-outcomes-chart[data-drawn]").wait_for()
    page.wait_for_load_state("networkidle")  # nothing in flight when the test's database is emptied
