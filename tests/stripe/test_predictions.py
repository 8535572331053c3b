"""Test mode's answer for a Stripe retry is what the retry then does at Stripe (localstripe): a
card that pays, pays; one that declines, declines the same way; an invoice that is no longer
payable, or a customer with nothing to charge, fails as the charge does. A live card is told by
its charge only: the test then says it assumed the payment."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from automations import clock
from billing_events.declines import SOFT
from billing_events.gateway.base import GatewayError
from billing_events.stripe import predictions
from billing_events.stripe.gateway import StripeGateway
from tests.stripe.test_gateway import DECLINES, PAYS, _card, _open_invoice, stripe_api

pytestmark = pytest.mark.django_db

#: The fields of a retry's answer that a run's path and its messages read.
COMPARED = ("status", "amount", "currency", "payment_method")


@pytest.fixture
def client(localstripe) -> Any:
    return stripe_api(localstripe.url)


def _predict(invoice_id: str, **kwargs: Any) -> dict[str, Any] | None:
    return StripeGateway().predict_retry_payment(invoice_id, payment_method=kwargs.get("payment_method"))


def _compared(answer: dict[str, Any]) -> dict[str, Any]:
    return {**{field: answer[field] for field in COMPARED}, "amount": Decimal(str(answer["amount"]))}


def _retry(invoice_id: str, key: str = "op_1") -> dict[str, Any]:
    return StripeGateway().retry_payment(invoice_id, payment_method=None, idempotency_key=key)


@pytest.mark.parametrize("card", [PAYS, DECLINES], ids=["pays", "declines"])
def test_the_prediction_is_what_the_retry_then_does(client, card):
    customer_id, invoice_id = _open_invoice(client, card)
    predicted = _predict(invoice_id)
    charges = len(client.charges.list(params={"customer": customer_id}).data)
    assert len(client.charges.list(params={"customer": customer_id}).data) == charges, "predicting charged nothing"

    done = _retry(invoice_id)
    assert _compared(predicted) == _compared(done)
    assert predicted["payment_id"] is None
    if card == DECLINES:
        # Stripe says generic_decline where localstripe says card_declined: the same soft decline.
        assert predicted["decline_code"] == "generic_decline" and done["decline_code"] == "card_declined"
        assert predicted["decline"]["category"] == done["decline"]["category"] == SOFT
        assert predicted["decline_message"] == done["decline_message"] == "Your card was declined."
    else:
        assert predicted["decline"] is done["decline"] is None


def test_an_invoice_already_paid_fails_in_the_prediction_as_in_the_retry(client):
    _, invoice_id = _open_invoice(client, PAYS)
    _retry(invoice_id, "op_first")
    with pytest.raises(GatewayError, match=r"cannot collect invoice .*: it is paid") as predicted:
        _predict(invoice_id)
    assert predicted.value.code == "invoice_not_open" and not predicted.value.retryable
    with pytest.raises(GatewayError, match="already paid") as done:
        _retry(invoice_id, "op_second")
    assert not done.value.retryable


def test_a_customer_without_a_payment_method_fails_in_the_prediction_as_in_the_retry(client):
    customer_id, invoice_id = _open_invoice(client, PAYS)
    for method in client.payment_methods.list(params={"customer": customer_id, "type": "card"}).data:
        client.payment_methods.detach(method.id)
    client.customers.update(customer_id, params={"invoice_settings": {"default_payment_method": ""}})
    with pytest.raises(GatewayError, match="no payment method") as predicted:
        _predict(invoice_id)
    assert predicted.value.code == "no_payment_method"
    with pytest.raises(GatewayError, match="no payment method"):
        _retry(invoice_id)


def test_a_card_past_its_expiry_is_predicted_to_decline_as_expired(client, monkeypatch):
    _, invoice_id = _open_invoice(client, PAYS)  # expires 12/2099
    clock.set_now(datetime(2100, 1, 1, tzinfo=timezone.utc))
    predicted = _predict(invoice_id)
    assert predicted["status"] == "failed" and predicted["decline_code"] == "expired_card"
    assert predicted["decline_message"] == "Your card has expired."


def test_stripes_test_cards_that_decline_are_predicted_by_their_decline():
    method = {"type": "card", "livemode": False, "card": {"brand": "visa", "last4": "9995", "exp_month": 1,
                                                          "exp_year": 2099}}
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert predictions.known_decline(method, now) == "insufficient_funds"
    assert predictions.known_decline({**method, "card": {**method["card"], "last4": "4242"}}, now) is None
    assert predictions.known_decline({**method, "livemode": True}, now) is None, "a live card is told by its charge"


def test_a_live_card_is_not_predicted_and_the_test_run_says_it_assumed_the_payment(client, monkeypatch):
    _, invoice_id = _open_invoice(client, PAYS)
    gateway = StripeGateway()
    real = gateway._payment_method
    monkeypatch.setattr(gateway, "_payment_method", lambda method_id: {**real(method_id), "livemode": True})
    assert gateway.predict_retry_payment(invoice_id, payment_method=None) is None


def test_sample_data_stripe_does_not_have_is_not_predicted_unless_its_invoice_is_not_payable(client):
    assert _predict("in_sample") is None
    with pytest.raises(GatewayError, match="it is void"):
        StripeGateway().predict_retry_payment("in_sample", payment_method=None,
                                              invoice={"status": "void", "number": "INV-1"})
