"""What localstripe does not implement (credit notes, the customer balance, billing-portal sessions,
rate limits), against a small stateful Stripe stub on loopback. Each request the gateway sends is
checked against the parameters the stripe library's generated types accept for that endpoint."""
from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from stripe.params import CreditNoteCreateParams, CustomerBalanceTransactionCreateParams
from stripe.params.billing_portal import SessionCreateParams

from billing_events.gateway.base import GatewayError
from billing_events.stripe.gateway import StripeGateway
from tests.fixtures.http_server import Received

pytestmark = pytest.mark.django_db

#: Request options the library's parameter types list beside the API's own parameters.
CLIENT_OPTIONS = {"api_key", "idempotency_key", "stripe_account", "stripe_version", "stripe_context",
                  "max_network_retries", "headers", "content_type"}
PARAMS = {("POST", "/v1/credit_notes"): CreditNoteCreateParams,
          ("POST", "/v1/customers/cus_1/balance_transactions"): CustomerBalanceTransactionCreateParams,
          ("POST", "/v1/billing_portal/sessions"): SessionCreateParams}


def _form(received: Received) -> dict[str, str]:
    return dict(parse_qsl(received.body.decode()))


def _check_params(received: Received, path: str) -> None:
    """Every top-level parameter is one the endpoint takes, and every required one is there."""
    params = PARAMS[(received.method, path)]
    sent = {name.split("[", 1)[0] for name in _form(received)}
    allowed = (params.__required_keys__ | params.__optional_keys__) - CLIENT_OPTIONS
    assert sent <= allowed, f"{path} does not take {sorted(sent - allowed)}"
    assert params.__required_keys__ - CLIENT_OPTIONS <= sent, f"{path} needs {sorted(params.__required_keys__)}"


class StubStripe:
    """One customer with a credit balance of 30.00 and one open invoice of 50.00."""

    def __init__(self) -> None:
        self.invoice = {"id": "in_1", "object": "invoice", "number": "INV-1", "status": "open", "currency": "usd",
                        "customer": "cus_1", "total": 5000, "amount_due": 5000, "amount_paid": 0,
                        "pre_payment_credit_notes_amount": 0, "post_payment_credit_notes_amount": 0,
                        "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/test_in_1", "created": 1767225600,
                        "lines": {"object": "list", "data": []}, "metadata": {}}
        self.customer = {"id": "cus_1", "object": "customer", "balance": -3000, "currency": "usd", "metadata": {},
                         "email": "ada@example.com", "invoice_settings": {"default_payment_method": None}}
        self.notes: list[dict[str, Any]] = []
        self.idempotency_keys: list[str] = []

    def answer(self, received: Received) -> tuple[int, dict[str, str], Any]:
        path = urlsplit(received.path).path
        if received.method == "POST":
            self.idempotency_keys.append(received.headers.get("idempotency-key", ""))
        if (received.method, path) in PARAMS:
            _check_params(received, path)
        form = _form(received)
        if (received.method, path) == ("GET", "/v1/invoices/in_1"):
            return 200, {}, self.invoice
        if (received.method, path) == ("GET", "/v1/customers/cus_1"):
            return 200, {}, self.customer
        if (received.method, path) == ("POST", "/v1/credit_notes"):
            amount = int(form["amount"])
            note = {"id": f"cn_{len(self.notes) + 1}", "object": "credit_note", "invoice": form["invoice"],
                    "amount": amount, "currency": "usd", "memo": form.get("memo"), "status": "issued",
                    "metadata": {"billing_operation": form.get("metadata[billing_operation]")}}
            self.notes.append(note)
            self.invoice["pre_payment_credit_notes_amount"] += amount
            self.invoice["amount_due"] -= amount
            if self.invoice["amount_due"] == 0:
                self.invoice["status"] = "paid"
            return 200, {}, note
        if (received.method, path) == ("POST", "/v1/customers/cus_1/balance_transactions"):
            self.customer["balance"] += int(form["amount"])
            return 200, {}, {"id": "cbtxn_1", "object": "customer_balance_transaction", "amount": int(form["amount"]),
                             "currency": form["currency"], "customer": "cus_1",
                             "ending_balance": self.customer["balance"], "type": "adjustment"}
        if (received.method, path) == ("POST", "/v1/billing_portal/sessions"):
            return 200, {}, {"id": "bps_1", "object": "billing_portal.session", "customer": form["customer"],
                             "url": "https://billing.stripe.com/p/session/test_1", "return_url": form.get("return_url")}
        return 404, {}, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                   "message": f"Unrecognized request URL ({received.method}: {path})"}}


@pytest.fixture
def stub(http_server, settings) -> StubStripe:
    stripe_stub = StubStripe()
    http_server.answer = stripe_stub.answer
    settings.BILLING_EVENTS = {**getattr(settings, "BILLING_EVENTS", {}), "STRIPE_API_KEY": "sk_test_stub",
                               "STRIPE_API_BASE": http_server.url}
    return stripe_stub


def test_a_credit_note_lowers_what_the_invoice_asks_and_is_created_once(stub):
    gateway = StripeGateway()
    first = gateway.create_credit_note("in_1", amount=Decimal("12.50"), reason="goodwill", idempotency_key="run1:credit:0")
    again = StripeGateway().create_credit_note("in_1", amount=Decimal("12.50"), reason="goodwill",
                                               idempotency_key="run1:credit:0")
    assert first == again == {"credit_note_id": "cn_1", "invoice_id": "in_1", "amount": "12.50", "currency": "USD",
                              "invoice_status": "open", "amount_due": "37.50"}
    assert len(stub.notes) == 1 and stub.notes[0]["metadata"] == {"billing_operation": "run1:credit:0"}
    assert "billing-automations:run1:credit:0" in stub.idempotency_keys


def test_a_credit_beyond_what_is_creditable_is_refused_naming_the_amounts(stub):
    with pytest.raises(GatewayError, match="credit of 80.00 is not between 0 and the 50.00 still creditable"):
        StripeGateway().create_credit_note("in_1", amount=Decimal("80"), reason="", idempotency_key="run2:credit:0")
    assert stub.notes == []


def test_credits_pay_the_invoice_from_the_customer_balance(stub):
    gateway = StripeGateway()
    assert gateway.get_credits("cus_1") == {"balance": Decimal("30.00"), "currency": "USD"}
    applied = gateway.apply_credits("in_1", amount=None, idempotency_key="run3:credits:0")
    assert applied == {"applied": "30.00", "balance": "0.00", "amount_due": "20.00", "invoice_status": "open"}
    assert stub.customer["balance"] == 0 and stub.invoice["amount_due"] == 2000
    assert {"billing-automations:run3:credits:0:balance", "billing-automations:run3:credits:0:credit_note"} <= set(
        stub.idempotency_keys)


def test_the_invoice_read_carries_its_payment_page_and_a_portal_link_is_created_on_demand(stub):
    gateway = StripeGateway()
    assert gateway.get_invoice("in_1")["payment_url"] == "https://invoice.stripe.com/i/acct_1/test_in_1"
    assert gateway.billing_portal_url("cus_1", return_url="https://example.com/account") == (
        "https://billing.stripe.com/p/session/test_1")


def test_an_object_is_read_once_within_a_pass(stub, http_server):
    gateway = StripeGateway()
    gateway.get_invoice("in_1")
    gateway.describe_payment_method("in_1", payment_method=None)
    gateway.get_invoice("in_1")
    reads = [r.path for r in http_server.requests if r.method == "GET"]
    assert reads.count("/v1/invoices/in_1") == 1 and reads.count("/v1/customers/cus_1") == 1


def test_a_rate_limit_is_waited_out_and_a_server_error_too(stub, http_server):
    http_server.respond(429, {"error": {"type": "rate_limit_error", "message": "Too many requests"}})
    http_server.respond(500, {"error": {"type": "api_error", "message": "Something went wrong"}})
    assert StripeGateway().get_invoice("in_1")["amount_due"] == Decimal("50.00")
    assert [r.path for r in http_server.requests] == ["/v1/invoices/in_1"] * 3


def test_a_rate_limit_that_outlasts_the_budget_is_a_retryable_failure(stub, http_server, monkeypatch):
    from billing_events.stripe import api

    monkeypatch.setattr(api, "BUDGET_SECONDS", 0.6)
    for _ in range(10):
        http_server.respond(429, {"error": {"type": "rate_limit_error", "message": "Too many requests"}})
    with pytest.raises(GatewayError, match="Stripe: Too many requests") as failed:
        StripeGateway().get_invoice("in_1")
    assert failed.value.retryable is True
