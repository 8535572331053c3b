"""End to end: a subscription whose first payment fails, in a stateful fake Stripe (localstripe), which
signs and posts its invoice.payment_failed to the webhook served on loopback; the event is stored
once as payment.failed and the library's payment dunning starts on it.

The payment method is a SEPA debit whose collection fails: localstripe reports a failed payment with
invoice.payment_failed when it fails after the fact, as a debit does (a card declined on the spot
only raises an error to the API caller there)."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
import stripe
import time_machine

from automations import clock
from automations.models import Execution
from billing_events.models import Event, Invoice
from tests.fixtures.localstripe import API_KEY

pytestmark = pytest.mark.urls("tests.stripe.urls")

SECRET = "whsec_localstripe"
#: localstripe's IBAN whose debits fail.
FAILING_IBAN = "DE62370400440532013001"


@pytest.fixture
def machine_time() -> None:
    """The test clock on the machine's time: localstripe, a process of its own, signs with that time,
    and the endpoint allows five minutes' difference."""
    clock.set_now(datetime.fromtimestamp(time_machine.escape_hatch.time.time(), tz=timezone.utc))


def _subscribe_paying_from(client: stripe.StripeClient, iban: str) -> stripe.Subscription:
    customer = client.v1.customers.create(params={"email": "ada@example.com", "name": "Ada"})
    method = client.v1.payment_methods.create(params={"type": "sepa_debit", "sepa_debit": {"iban": iban}})
    client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": method.id}})
    product = client.v1.products.create(params={"name": "Pro"})
    plan = client.v1.plans.create(params={"product": product.id, "amount": 125000, "currency": "eur",
                                          "interval": "month"})
    return client.v1.subscriptions.create(params={"customer": customer.id, "items": [{"plan": plan.id}]})


def test_a_failed_subscription_payment_in_stripe_starts_the_dunning(localstripe, live_server, settings, dunning,
                                                                      machine_time):
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "STRIPE_WEBHOOK_SECRETS": [SECRET]}
    localstripe.send_webhooks_to(f"{live_server.url}/stripe/webhook/", SECRET, events=["invoice.payment_failed"])
    client = stripe.StripeClient(API_KEY, base_addresses={"api": localstripe.url})

    subscription = _subscribe_paying_from(client, FAILING_IBAN)
    deadline = time.monotonic() + 8  # the debit fails half a second later, the webhook a second after that
    while not Execution.objects.filter(automation=dunning).exists() and time.monotonic() < deadline:
        time.sleep(0.1)

    [event] = Event.objects.all()
    assert event.type == "payment.failed" and event.id.startswith("evt_")
    assert event.data["invoice"]["id"] == subscription.latest_invoice
    assert event.data["payment"]["amount"] == "1250.00" and event.data["payment"]["status"] == "failed"
    assert Invoice.objects.get(pk=subscription.latest_invoice).status == "open"
    assert Execution.objects.get(automation=dunning).event_id == event.id
