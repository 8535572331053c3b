"""The Stripe gateway against localstripe: reads, a retry that declines and then pays, a repeat that
charges once, voids, customer metadata, and Stripe's errors."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import stripe

from billing_events.declines import SOFT
from billing_events.gateway.base import GatewayError
from billing_events.stripe.gateway import StripeGateway
from billing_events.stripe.reads import plain
from tests.fixtures.localstripe import API_KEY

pytestmark = pytest.mark.django_db

PAYS, DECLINES = "4242424242424242", "4000000000000341"


def stripe_api(url: str) -> Any:
    """The stripe library's services of Stripe's v1 API at ``url`` (under ``client.v1`` in the
    library's later versions, on the client itself before)."""
    client = stripe.StripeClient(API_KEY, base_addresses={"api": url})
    return getattr(client, "v1", client)


@pytest.fixture
def client(localstripe) -> Any:
    return stripe_api(localstripe.url)


@pytest.fixture
def gateway(localstripe) -> StripeGateway:
    return StripeGateway()


def _card(client: Any, customer_id: str, number: str) -> str:
    method = client.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2099, "cvc": "123"}})
    client.payment_methods.attach(method.id, params={"customer": customer_id})
    client.customers.update(customer_id, params={"invoice_settings": {"default_payment_method": method.id}})
    return method.id


def _open_invoice(client: Any, number: str, amount: int = 125000, currency: str = "usd") -> tuple[str, str]:
    """A customer whose card is ``number``, and an open invoice of theirs for ``amount`` cents:
    a subscription's first invoice (paid already when the card pays, so the card is set after)."""
    customer = client.customers.create(params={"email": "ada@example.com", "name": "Ada Lovelace"})
    _card(client, customer.id, DECLINES)
    product = client.products.create(params={"name": "Pro"})
    plan = client.plans.create(params={"product": product.id, "amount": amount, "currency": currency,
                                          "interval": "month"})
    try:
        client.subscriptions.create(params={"customer": customer.id, "items": [{"plan": plan.id}]})
    except stripe.CardError:
        pass
    invoice = client.invoices.list(params={"customer": customer.id}).data[0]
    if number != DECLINES:
        _card(client, customer.id, number)
    return customer.id, invoice.id


def _charges(client: Any, customer_id: str) -> list[str]:
    return [charge.status for charge in client.charges.list(params={"customer": customer_id}).data]


def test_reads_give_money_as_decimals_of_the_currency_and_dates_as_aware_datetimes(client, gateway):
    customer_id, invoice_id = _open_invoice(client, DECLINES, amount=125050)
    client.customers.update(customer_id, params={"metadata": {"segment": "enterprise", "tags": "vip,eu"}})
    customer = gateway.get_customer(customer_id)
    invoice = gateway.get_invoice(invoice_id)
    assert (customer["email"], customer["segment"], customer["tags"]) == ("ada@example.com", "enterprise", ["vip", "eu"])
    assert customer["default_payment_method"].startswith("pm_")
    assert (invoice["status"], invoice["amount_due"], invoice["currency"], invoice["customer_id"]) == (
        "open", Decimal("1250.50"), "USD", customer_id)
    assert invoice["issued_at"].tzinfo is not None
    assert gateway.get_invoice("in_doesnotexist") is None
    assert gateway.get_customer("cus_doesnotexist") is None


def test_a_declined_retry_reports_the_decline_and_pays_once_a_working_card_is_the_default(client, gateway):
    customer_id, invoice_id = _open_invoice(client, DECLINES)
    described = gateway.describe_payment_method(invoice_id, payment_method=None)
    assert described["network"] == "visa" and described["id"].startswith("pm_")

    declined = gateway.retry_payment(invoice_id, payment_method=None, idempotency_key="run1:retry:0")
    assert declined["status"] == "failed"
    assert declined["decline_code"] == "card_declined" and declined["decline"]["category"] == SOFT
    assert declined["decline"]["network"] == "visa"

    _card(client, customer_id, PAYS)
    gateway.cache.clear()
    paid = gateway.retry_payment(invoice_id, payment_method=None, idempotency_key="run1:retry:0:2")
    assert (paid["status"], paid["amount"], paid["currency"]) == ("succeeded", "1250.00", "USD")
    assert client.invoices.retrieve(invoice_id).status == "paid"


def test_a_repeat_with_the_same_key_returns_the_first_result_and_charges_once(client, gateway):
    customer_id, invoice_id = _open_invoice(client, PAYS)
    before = _charges(client, customer_id)
    first = gateway.retry_payment(invoice_id, payment_method=None, idempotency_key="run2:retry:0")
    again = StripeGateway().retry_payment(invoice_id, payment_method=None, idempotency_key="run2:retry:0")
    assert first == again and first["status"] == "succeeded"
    assert _charges(client, customer_id) == [*before, "succeeded"]
    assert StripeGateway().find_operation("run2:retry:0") == first
    assert StripeGateway().find_operation("run2:other:0") is None


def test_an_attempt_a_crash_left_unanswered_is_settled_from_stripe(client, gateway):
    """The request went out, the worker died before recording the answer: the journal has only
    the intent. find_operation sends it again with the same key; localstripe (no idempotency)
    refuses to pay a paid invoice, so the payment is found on the invoice instead."""
    from billing_events.stripe import journal

    customer_id, invoice_id = _open_invoice(client, PAYS)
    journal.begin("run3:retry:0", "retry_payment", {"invoice_id": invoice_id, "payment_method": None})
    client.invoices.pay(invoice_id)  # what the crashed worker's request did
    settled = gateway.find_operation("run3:retry:0")
    assert settled["status"] == "succeeded" and settled["payment_id"]
    assert _charges(client, customer_id).count("succeeded") == 1


def test_void_and_customer_metadata(client, gateway):
    customer_id, invoice_id = _open_invoice(client, DECLINES)
    voided = gateway.void_invoice(invoice_id, reason="written off", idempotency_key="run4:void:0")
    assert voided == {"invoice_id": invoice_id, "status": "void", "reason": "written off"}
    assert client.invoices.retrieve(invoice_id).status == "void"

    updated = gateway.update_customer(customer_id, fields={"segment": "smb", "phone": "+15550100"},
                                      metadata={"dunning": "stage-2"}, idempotency_key="run4:update:0")
    assert updated["metadata"] == {"segment": "smb", "dunning": "stage-2"}
    tagged = gateway.add_tag(customer_id, "at-risk", idempotency_key="run4:tag:0")
    assert tagged["added"] and tagged["tags"] == ["at-risk"]
    stored = client.customers.retrieve(customer_id)
    assert (stored.phone, plain(stored)["metadata"]) == (
        "+15550100", {"segment": "smb", "dunning": "stage-2", "tags": "at-risk"})
    removed = gateway.update_customer(customer_id, fields={}, metadata={"dunning": None}, idempotency_key="run4:update:1")
    assert "dunning" not in removed["metadata"]


def test_stripes_refusal_is_a_step_failure_naming_stripes_message(client, gateway):
    _customer_id, invoice_id = _open_invoice(client, PAYS)
    gateway.retry_payment(invoice_id, payment_method=None, idempotency_key="run5:retry:0")
    with pytest.raises(GatewayError) as refused:
        gateway.retry_payment(invoice_id, payment_method=None, idempotency_key="run5:retry:0:2")
    assert "Invoice is already paid" in str(refused.value) and refused.value.retryable is False
    with pytest.raises(GatewayError, match="invalid_field|cannot be set"):
        gateway.update_customer("cus_x", fields={"shoe_size": 9}, metadata={}, idempotency_key="run5:update:0")


def test_a_currency_without_decimals_is_read_in_whole_units(client, gateway):
    _customer_id, invoice_id = _open_invoice(client, DECLINES, amount=5000, currency="jpy")
    invoice = gateway.get_invoice(invoice_id)
    assert (invoice["amount_due"], invoice["currency"]) == (Decimal("5000"), "JPY")


def test_collections_are_read_a_page_at_a_time_in_a_stable_order(client, gateway):
    created = {client.customers.create(params={"email": f"c{n}@example.com"}).id for n in range(3)}
    seen, after, pages = [], None, 0
    while True:
        page, after = gateway.list_collection("customers", after=after, limit=2)
        seen += [customer["id"] for customer in page]
        pages += 1
        if after is None:
            break
    assert sorted(seen) == sorted(created) and len(seen) == 3 and pages == 2


def test_a_subscription_and_the_payment_that_paid_an_invoice_are_read(client, gateway):
    customer_id = client.customers.create(params={"email": "ada@example.com"}).id
    _card(client, customer_id, PAYS)
    product = client.products.create(params={"name": "Pro"})
    plan = client.plans.create(params={"product": product.id, "amount": 2500, "currency": "eur",
                                          "interval": "month", "nickname": "Pro monthly"})
    subscription_id = client.subscriptions.create(params={"customer": customer_id, "items": [{"plan": plan.id}]}).id

    subscription = gateway.get_subscription(subscription_id)
    assert (subscription["plan"], subscription["status"], subscription["customer_id"]) == (
        "Pro monthly", "active", customer_id)
    assert subscription["current_period_end"].tzinfo is not None
    invoice = gateway.get_invoice(client.subscriptions.retrieve(subscription_id).latest_invoice)
    payment = gateway.get_payment(invoice["payment_id"])
    assert (payment["status"], payment["amount"], payment["currency"], payment["customer_id"]) == (
        "succeeded", Decimal("25.00"), "EUR", customer_id)
    assert gateway.get_payment("pi_doesnotexist") is None
