"""The builder's Backtest tab: start a backtest of the saved automation over a period, see its
progress, then what would have happened and a sample of the runs; bad dates are shown beside
their field."""
from __future__ import annotations

from datetime import timedelta

import pytest

from automations.models import Backtest, Execution
from billing_events import emit
from billing_events.models import Event
from tests.browser.conftest import screenshot
from tests.browser.test_builder_editing import open_builder
from tests.conftest import START, sample

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def failures(dunning):
    """Twelve failed payments over three weeks: nine invoices, three of them failing twice while
    their first run is live, and one invoice paid three days after its failure."""
    for number in range(12):
        first = number % 9  # 9, 10 and 11: invoices 0, 1 and 2 again, a day after their first failure
        occurred_at = START - timedelta(days=30 - 2 * first - (1 if number >= 9 else 0), hours=first)
        emit("payment.failed", sample("payment.failed", invoice={"id": f"inv_{first}", "number": f"INV-{first}"}),
             id=f"evt_{number}", occurred_at=occurred_at)
    Event.objects.create(id="evt_paid", type="invoice.paid", data=sample("invoice.paid", invoice={"id": "inv_2"}),
                         occurred_at=START - timedelta(days=23))
    Execution.objects.all().delete()  # emitted while the automation is active: the test wants only the backtest
    return dunning


def test_a_backtest_runs_from_the_panel_and_shows_what_would_have_happened(page, operator, failures):
    open_builder(page, failures)
    page.get_by_role("tab", name="Backtest").click()
    panel = page.locator(".ab-panel")
    panel.get_by_label("from", exact=True).fill("2026-10-01")
    panel.get_by_label("to (inclusive)", exact=True).fill("2026-11-19")
    assert panel.get_by_label("version", exact=True).input_value() == "1"
    panel.get_by_role("button", name="Run backtest").click()
    summary = panel.locator(".ab-backtest-result .ab-test-summary")
    summary.wait_for()
    assert summary.inner_text() == "12 payment.failed events: 9 runs would have started, 3 not."
    result = panel.locator(".ab-backtest-result")
    assert "Billing data as it is now" in result.inner_text()
    endings = panel.get_by_role("table", name="How the runs end")
    assert "Ended by invoice.paid (exit_on)\t1" in endings.inner_text()
    not_started = panel.get_by_role("table", name="Not started")
    assert "a run for the same value was live (reentry skip_if_running)\t3" in not_started.inner_text()
    assert "payment_failed_gentle\t9" in panel.get_by_role("table", name="Emails by template").inner_text()
    assert "retry_payment\tUSD" in panel.get_by_role("table", name="Money").inner_text()
    exited = panel.locator(".ab-backtest-sample summary", has_text="Ended by invoice.paid")
    exited.click()
    assert "exit_on: invoice.paid (evt_paid) for inv_2" in panel.locator(".ab-backtest-sample[open]").inner_text()
    assert Backtest.objects.get().status == "succeeded" and not Execution.objects.exists()
    summary.scroll_into_view_if_needed()
    screenshot(page, "builder-backtest")
    page.set_viewport_size({"width": 1366, "height": 2200})  # the whole panel: its tables and samples
    screenshot(page, "builder-backtest-samples")

    panel.get_by_label("from", exact=True).fill("2026-11-19")
    panel.get_by_label("to (inclusive)", exact=True).fill("2026-11-01")
    panel.get_by_role("button", name="Run backtest").click()
    error = panel.locator("[data-field='backtest.to'] .ab-errors li")
    error.wait_for()
    assert error.inner_text().startswith("must not be before from")
    assert panel.get_by_label("to (inclusive)", exact=True).get_attribute("aria-invalid") == "true"
