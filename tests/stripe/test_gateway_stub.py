"""What localstripe does not implement (credit notes, the customer balance, billing-portal sessions,
rate limits), against a small stateful Stripe stub on loopback. Each request the gateway sends to
those endpoints, and each answer the stub gives, is checked against Stripe's OpenAPI description."""
from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest

from billing_events.gateway.base import GatewayError
from billing_events.stripe.gateway import StripeGateway
from tests.fixtures.http_server import Received
from tests.stripe.openapi import check_request, check_response

pytestmark = pytest.mark.django_db

CREATED = 1767225600  # when the stub's objects were created, as Stripe stamps them


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
        if (received.method, path) == ("GET", "/v1/invoices/in_1"):
            return 200, {}, self.invoice
        if (received.method, path) == ("GET", "/v1/customers/cus_1"):
            return 200, {}, self.customer
        if (received.method, path) == ("GET", "/v1/payment_methods/pm_1"):
            return 200, {}, {"id": "pm_1", "object": "payment_method", "type": "card", "customer": "cus_1",
                             "card": {"brand": "visa", "fingerprint": "fp_1", "last4": "4242"}}
        if received.method == "POST" and path in ("/v1/credit_notes", "/v1/customers/cus_1/balance_transactions",
                                                  "/v1/billing_portal/sessions"):
            return 200, {}, check_response(path, self._create(path, check_request(path, received.body)))
        return 404, {}, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                   "message": f"Unrecognized request URL ({received.method}: {path})"}}

    def _create(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        common = {"created": CREATED, "livemode": False}
        if path == "/v1/credit_notes":
            amount = params["amount"]
            note = {**common, "id": f"cn_{len(self.notes) + 1}", "object": "credit_note", "invoice": params["invoice"],
                    "customer": "cus_1", "amount": amount, "subtotal": amount, "total": amount, "currency": "usd",
                    "memo": params.get("memo"), "metadata": params.get("metadata") or {}, "status": "issued",
                    "number": f"INV-1-CN-{len(self.notes) + 1:02d}", "pdf": "https://pay.stripe.com/credit_notes/test",
                    "type": "post_payment" if self.invoice["status"] == "paid" else "pre_payment",
                    "discount_amount": 0, "discount_amounts": [], "tax_amounts": [],
                    "lines": {"object": "list", "data": [], "has_more": False, "url": "/v1/credit_notes/cn/lines"}}
            self.notes.append(note)
            self.invoice["pre_payment_credit_notes_amount"] += amount
            self.invoice["amount_due"] -= amount
            if self.invoice["amount_due"] == 0:
                self.invoice["status"] = "paid"
            return note
        if path == "/v1/customers/cus_1/balance_transactions":
            self.customer["balance"] += params["amount"]
            return {**common, "id": "cbtxn_1", "object": "customer_balance_transaction", "amount": params["amount"],
                    "currency": params["currency"], "customer": "cus_1", "description": params.get("description"),
                    "metadata": params.get("metadata") or {}, "ending_balance": self.customer["balance"],
                    "type": "adjustment"}
        return {**common, "id": "bps_1", "object": "billing_portal.session", "customer": params["customer"],
                "url": "https://billing.stripe.com/p/session/test_1",
                "return_url": params.get("return_url", "https://example.com/account")}


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


def test_the_openapi_check_refuses_what_stripe_would():
    with pytest.raises(AssertionError, match="Additional properties are not allowed"):
        check_request("/v1/credit_notes", b"invoice=in_1&amount=500&shoe_size=9")
    with pytest.raises(AssertionError, match="'invoice' is a required property"):
        check_request("/v1/credit_notes", b"amount=500")
    with pytest.raises(AssertionError, match="is not of type 'integer'"):
        check_request("/v1/customers/cus_1/balance_transactions", b"amount=12.50&currency=usd")


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
    assert gateway.card_update_url("cus_1", return_url="https://example.com/account") == (
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


def test_a_stripe_that_does_not_answer_in_time_is_a_retryable_failure(stub, http_server, monkeypatch):
    from billing_events.stripe import api

    monkeypatch.setattr(api, "REQUEST_TIMEOUT_SECONDS", 0.3)
    monkeypatch.setattr(api, "BUDGET_SECONDS", 0.5)
    api._client.cache_clear()
    for _ in range(5):
        http_server.respond(200, stub.invoice, delay=1.5)
    try:
        with pytest.raises(GatewayError) as failed:
            StripeGateway().get_invoice("in_1")
    finally:
        api._client.cache_clear()
    assert failed.value.retryable is True


def _card_error(decline_code: str, brand: str, network_code: str, advice_code: str | None) -> dict[str, Any]:
    """Stripe's answer to paying an invoice with a card the issuer declines (HTTP 402)."""
    return {"error": {"type": "card_error", "code": "card_declined", "decline_code": decline_code,
                      "message": "Your card was declined.", "network_decline_code": network_code,
                      "network_advice_code": advice_code, "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                      "payment_intent": {"id": "pi_1", "object": "payment_intent", "status": "requires_payment_method"},
                      "payment_method": {"id": "pm_1", "object": "payment_method", "type": "card",
                                         "card": {"brand": brand, "fingerprint": "fp_1", "last4": "4444"}}}}


@pytest.mark.parametrize("decline_code, brand, network_code, advice_code, category, retry_after", [
    ("do_not_honor", "mastercard", "05", "24", "soft", 3600),  # Mastercard: retry after an hour
    ("do_not_honor", "mastercard", "05", "03", "hard", None),  # Mastercard: do not try again
    ("pickup_card", "visa", "04", None, "hard", None),  # Visa: a response code that is never retried
    ("expired_card", "visa", "54", None, "update_credentials", None),
])
def test_a_decline_carries_stripes_decline_and_network_codes(stub, http_server, decline_code, brand, network_code,
                                                              advice_code, category, retry_after):
    http_server.respond(402, _card_error(decline_code, brand, network_code, advice_code))
    result = StripeGateway().retry_payment("in_1", payment_method=None, idempotency_key="run9:retry:0")
    assert (result["status"], result["payment_id"], result["payment_method"]) == ("failed", "pi_1", "pm_1")
    assert (result["decline_code"], result["decline_message"]) == (decline_code, "Your card was declined.")
    assert result["decline"] == {"code": decline_code, "category": category, "network": brand,
                                 "network_code": network_code, "advice_code": advice_code or "",
                                 "retry_after": retry_after, "message": "Your card was declined."}
    assert (result["amount"], result["currency"]) == ("50.00", "USD")
    [pay] = [r for r in http_server.requests if r.path == "/v1/invoices/in_1/pay"]
    assert pay.headers["idempotency-key"] == "billing-automations:run9:retry:0"


def test_a_declined_retry_reads_each_object_once(stub, http_server):
    gateway = StripeGateway()
    gateway.get_invoice("in_1")  # the step's variables
    assert gateway.describe_payment_method("in_1", payment_method="pm_1") == {
        "id": "pm_1", "fingerprint": "fp_1", "network": "visa", "updated_at": None}
    http_server.respond(402, _card_error("insufficient_funds", "visa", "51", None))
    gateway.retry_payment("in_1", payment_method="pm_1", idempotency_key="run10:retry:0")
    reads = [r.path for r in http_server.requests if r.method == "GET"]
    assert sorted(reads) == ["/v1/invoices/in_1", "/v1/payment_methods/pm_1"]
