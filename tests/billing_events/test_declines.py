"""A decline says what it is: its category from the processor's code, the network's response code
and Mastercard's merchant advice, the most specific first; the test processor's cards give each kind."""
from __future__ import annotations

from decimal import Decimal

import pytest

from billing_events import processor
from billing_events.declines import HARD, SOFT, UNKNOWN, UPDATE_CREDENTIALS, classify


@pytest.mark.parametrize(("code", "network", "network_code", "advice", "category", "retry_after"), [
    ("insufficient_funds", "visa", "51", "", SOFT, None),
    ("lost_card", "visa", "41", "", HARD, None),
    ("do_not_honor", "visa", "14", "", HARD, None),  # Visa category 1: invalid account number
    ("do_not_honor", "visa", "54", "", UPDATE_CREDENTIALS, None),  # Visa category 3: expired card
    ("expired_card", "", "", "", UPDATE_CREDENTIALS, None),
    ("do_not_honor", "mastercard", "05", "03", HARD, None),  # "do not try again" wins over a soft code
    ("do_not_honor", "mastercard", "05", "21", HARD, None),  # the cardholder canceled the payments
    ("insufficient_funds", "mastercard", "51", "25", SOFT, 86400),  # retry after 24 hours
    ("do_not_honor", "mastercard", "05", "01", UPDATE_CREDENTIALS, None),  # new account information
    ("insufficient_funds", "visa", "51", "03", SOFT, None),  # an advice code is Mastercard's only
    ("something_new", "", "", "", UNKNOWN, None),
])
def test_a_decline_is_categorised(code, network, network_code, advice, category, retry_after):
    decline = classify(code, network=network, network_code=network_code, advice_code=advice)
    assert (decline.category, decline.retry_after) == (category, retry_after)
    assert decline.never_again == (category in (HARD, UPDATE_CREDENTIALS))


@pytest.mark.parametrize(("method", "category", "network"), [
    ("pm_card_declined", SOFT, "visa"),
    ("pm_insufficient_funds", SOFT, "visa"),
    ("pm_card_mastercard_declined", SOFT, "mastercard"),
    ("pm_card_mastercard_retry_later", SOFT, "mastercard"),
    ("pm_expired_card", UPDATE_CREDENTIALS, "visa"),
    ("pm_card_mastercard_new_details", UPDATE_CREDENTIALS, "mastercard"),
    ("pm_card_lost", HARD, "visa"),
    ("pm_card_stolen", HARD, "visa"),
    ("pm_card_mastercard_do_not_retry", HARD, "mastercard"),
    ("pm_no_such_method", UPDATE_CREDENTIALS, ""),
    (None, UPDATE_CREDENTIALS, ""),
])
def test_the_test_processor_has_a_card_for_each_kind_of_decline(method, category, network):
    charge = processor.charge(method, Decimal("10.00"), "USD")
    assert not charge.succeeded and charge.decline.category == category and charge.decline.network == network
    assert charge.decline_code == charge.decline.code


def test_a_card_is_described_by_its_fingerprint_and_network():
    assert processor.describe("pm_card_mastercard_ok") == {
        "id": "pm_card_mastercard_ok", "fingerprint": "fp_pm_card_mastercard_ok", "network": "mastercard"}
    assert processor.describe(None) is None
    assert processor.charge("pm_card_mastercard_ok", Decimal("1"), "USD").succeeded
