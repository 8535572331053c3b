"""End to end: a subscription whose first payment fails, in a stateful fake Stripe (localstripe), which
signs and posts its invoice.payment_failed to the webhook served on loopback; the event is stored
once as payment.failed and the library's payment dunning starts on it, and, once the customer has a
card that pays, its retry pays the invoice at localstripe.

The payment method is a SEPA debit whose collection fails: localstripe reports a failed payment with
invoice.payment_failed when it fails after the fact, as a debit does (a card declined on the spot
only raises an error to the API caller there)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import stripe
import time_machine

from automations import clock
from automations.models import Execution
from automations.run_control import resume_now
from billing_events.gateway import configured_gateway
from billing_events.models import Event, Invoice
from tests.fixtures.localstripe import API_KEY
from tests.stripe.test_gateway import PAYS, _card

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


def test_a_failed_subscription_payment_in_stripe_starts_the_dunning(localstripe, stripe_webhooks, settings, dunning,
                                                                      machine_time):
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "STRIPE_WEBHOOK_SECRETS": [SECRET]}
    stripe_webhooks.send(SECRET, ["invoice.payment_failed"])
    client = stripe.StripeClient(API_KEY, base_addresses={"api": localstripe.url})

    subscription = _subscribe_paying_from(client, FAILING_IBAN)
    # the debit fails half a second later, the webhook a second after that
    stripe_webhooks.eventually(lambda: Execution.objects.filter(automation=dunning).first())

    [event] = Event.objects.all()
    assert event.type == "payment.failed" and event.id.startswith("evt_")
    assert event.data["invoice"]["id"] == subscription.latest_invoice
    assert event.data["payment"]["amount"] == "1250.00" and event.data["payment"]["status"] == "failed"
    assert Invoice.objects.get(pk=subscription.latest_invoice).status == "open"
    assert Execution.objects.get(automation=dunning).event_id == event.id


def test_the_dunning_started_by_stripe_recovers_the_invoice_once_the_customer_has_a_card_that_pays(
        localstripe, stripe_webhooks, settings, dunning, machine_time, engine):
    """The whole way, with nothing made up between Stripe and the run: Stripe's failed payment
    starts the dunning, the customer puts in a card that pays and tells collections, who resume the
    run now rather than in three days (the clock stays on localstripe's, which signs the webhooks);
    the retry pays the invoice at Stripe, once, and Stripe's word that it was paid comes back."""
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "STRIPE_WEBHOOK_SECRETS": [SECRET],
                               "BILLING_GATEWAY": "billing_events.stripe.gateway.StripeGateway"}
    configured_gateway.cache_clear()
    stripe_webhooks.send(SECRET, ["invoice.payment_failed", "invoice.payment_succeeded"])
    client = stripe.StripeClient(API_KEY, base_addresses={"api": localstripe.url})
    subscription = _subscribe_paying_from(client, FAILING_IBAN)
    # The run starts in the webhook's request and waits once its first email is out (a run is
    # "waiting" from its creation until its first pass takes it: its first email tells them apart).
    execution = stripe_webhooks.eventually(lambda: Execution.objects.filter(automation=dunning, status="waiting",
                                                             outputs__has_key="gentle").first())
    assert list(execution.outputs) == ["gentle"]

    card = _card(client.v1, subscription.customer, PAYS)
    engine.run(resume_now, execution)

    execution.refresh_from_db()
    assert execution.status == "succeeded" and execution.status_reason == "stopped at step recovered"
    assert client.v1.invoices.retrieve(subscription.latest_invoice).status == "paid"
    charges = client.v1.charges.list(params={"customer": subscription.customer}).data
    assert [(charge.payment_method, charge.status) for charge in charges if charge.status == "succeeded"] == [
        (card, "succeeded")], "the invoice is paid once, with the new card"
    paid = stripe_webhooks.eventually(lambda: Event.objects.filter(type="payment.succeeded").first())
    assert paid.data["invoice"]["id"] == subscription.latest_invoice
    assert Invoice.objects.get(pk=subscription.latest_invoice).status == "paid"
    configured_gateway.cache_clear()



def test_the_customer_paying_the_invoice_at_stripe_ends_the_waiting_dunning(localstripe, stripe_webhooks, settings,
                                                                              dunning, machine_time):
    """While the dunning waits out its three days, the customer pays on Stripe's invoice page:
    Stripe's word that the charge paid the invoice is the invoice paid, and the dunning, which
    exits on it, ends there — its retry never comes."""
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "STRIPE_WEBHOOK_SECRETS": [SECRET]}
    stripe_webhooks.send(SECRET, ["invoice.payment_failed", "invoice.payment_succeeded"])
    client = stripe.StripeClient(API_KEY, base_addresses={"api": localstripe.url})
    subscription = _subscribe_paying_from(client, FAILING_IBAN)
    execution = stripe_webhooks.eventually(lambda: Execution.objects.filter(automation=dunning, status="waiting",
                                                                            outputs__has_key="gentle").first())

    _card(client.v1, subscription.customer, PAYS)
    client.v1.invoices.pay(subscription.latest_invoice)

    ended = stripe_webhooks.eventually(lambda: Execution.objects.filter(pk=execution.pk, status="canceled").first())
    assert "invoice.paid" in ended.status_reason
    assert list(ended.outputs) == ["gentle"], "nothing after the payment"
    paid = Event.objects.get(type="invoice.paid")
    assert paid.id == f"evt_paid_{subscription.latest_invoice}"
    assert Invoice.objects.get(pk=subscription.latest_invoice).status == "paid"
