"""The fake Stripe the connector is proved against keeps state and declines the cards that decline."""
from __future__ import annotations

import pytest
import stripe

from tests.fixtures.localstripe import API_KEY


@pytest.fixture
def client(localstripe) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe.url})


def _customer_with_card(client: stripe.StripeClient, number: str) -> str:
    customer = client.v1.customers.create(params={"email": "ada@example.com", "name": "Ada"})
    method = client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2099, "cvc": "123"}})
    client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": method.id}})
    return customer.id


def test_a_subscription_on_a_card_that_pays_has_a_paid_invoice(client):
    customer = _customer_with_card(client, "4242424242424242")
    product = client.v1.products.create(params={"name": "Pro"})
    plan = client.v1.plans.create(params={"product": product.id, "amount": 125000, "currency": "usd", "interval": "month"})
    subscription = client.v1.subscriptions.create(params={"customer": customer, "items": [{"plan": plan.id}]})
    invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
    assert (subscription.status, invoice.status, invoice.amount_paid) == ("active", "paid", 125000)


def test_what_it_stored_is_gone_after_a_flush(client, localstripe):
    customer = _customer_with_card(client, "4242424242424242")
    localstripe.flush()
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.retrieve(customer)
