"""The reference gateway's billing operations: exact balances, catalogue events, one effect per key."""
from __future__ import annotations

from decimal import Decimal

import pytest

from billing_events import emit
from billing_events.gateway import get_gateway
from billing_events.gateway.base import GatewayError
from billing_events.models import CreditNote, Customer, Event, Invoice, Payment
from tests.conftest import sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway():
    emit("invoice.issued", sample("invoice.issued"), id="evt_seed")
    return get_gateway()


def invoice() -> Invoice:
    return Invoice.objects.get(pk="inv_2001")


def test_retry_payment_that_succeeds_pays_the_invoice_and_emits_events(gateway):
    result = gateway.retry_payment("inv_2001", payment_method="pm_card_ok", idempotency_key="k1")
    assert result["status"] == "succeeded" and result["decline_code"] is None
    assert result["amount"] == "1250.00" and result["attempt_number"] == 1
    paid = invoice()
    assert (paid.status, paid.amount_due, paid.amount_paid) == ("paid", Decimal("0.00"), Decimal("1250.00"))
    assert Payment.objects.get(pk=result["payment_id"]).status == "succeeded"
    assert set(Event.objects.exclude(pk="evt_seed").values_list("type", flat=True)) == {"payment.succeeded",
                                                                                        "invoice.paid"}


@pytest.mark.parametrize(("method", "code"), [("pm_card_declined", "card_declined"),
                                              ("pm_insufficient_funds", "insufficient_funds"),
                                              ("pm_expired_card", "expired_card"),
                                              ("pm_unknown", "invalid_payment_method")])
def test_retry_payment_declines_with_the_methods_code(gateway, method, code):
    result = gateway.retry_payment("inv_2001", payment_method=method, idempotency_key="k1")
    assert result["status"] == "failed" and result["decline_code"] == code
    assert invoice().status == "open" and invoice().amount_due == Decimal("1250.00")
    assert Payment.objects.get(pk=result["payment_id"]).failure_code == code
    assert not Event.objects.filter(type__in=["payment.succeeded", "invoice.paid"]).exists()


def test_retry_payment_uses_the_customers_default_method(gateway):
    Customer.objects.filter(pk="cus_1001").update(default_payment_method="pm_expired_card")
    assert gateway.retry_payment("inv_2001", payment_method=None, idempotency_key="k1")["decline_code"] == "expired_card"


def test_an_unavailable_processor_is_a_retryable_error_and_records_nothing(gateway):
    with pytest.raises(GatewayError) as error:
        gateway.retry_payment("inv_2001", payment_method="pm_processor_unavailable", idempotency_key="k1")
    assert error.value.retryable and error.value.code == "processor_unavailable"
    assert not Payment.objects.filter(invoice_id="inv_2001").exists()
    assert gateway.find_operation("k1") is None
    assert gateway.retry_payment("inv_2001", payment_method="pm_card_ok", idempotency_key="k1")["status"] == "succeeded"


def test_the_same_key_charges_once(gateway):
    first = gateway.retry_payment("inv_2001", payment_method="pm_card_ok", idempotency_key="k1")
    again = gateway.retry_payment("inv_2001", payment_method="pm_card_ok", idempotency_key="k1")
    assert again == first
    assert Payment.objects.filter(invoice_id="inv_2001").count() == 1
    assert gateway.find_operation("k1") == first


def test_retry_payment_on_a_paid_invoice_is_refused(gateway):
    gateway.retry_payment("inv_2001", payment_method="pm_card_ok", idempotency_key="k1")
    with pytest.raises(GatewayError, match="it is paid") as error:
        gateway.retry_payment("inv_2001", payment_method="pm_card_ok", idempotency_key="k2")
    assert not error.value.retryable


def test_void_invoice(gateway):
    result = gateway.void_invoice("inv_2001", reason="uncollectible", idempotency_key="k1")
    assert result == {"invoice_id": "inv_2001", "status": "void", "reason": "uncollectible"}
    assert (invoice().status, invoice().amount_due) == ("void", Decimal("0.00"))
    assert Event.objects.filter(type="invoice.voided").count() == 1
    assert gateway.void_invoice("inv_2001", reason="again", idempotency_key="k1") == result
    with pytest.raises(GatewayError, match="it is void"):
        gateway.void_invoice("inv_2001", reason="twice", idempotency_key="k2")


def test_partial_then_remaining_credit_notes(gateway):
    result = gateway.create_credit_note("inv_2001", amount=Decimal("250.00"), reason="goodwill", idempotency_key="k1")
    assert result["amount"] == "250.00" and result["amount_due"] == "1000.00" and result["invoice_status"] == "open"
    assert invoice().amount_due == Decimal("1000.00")
    gateway.create_credit_note("inv_2001", amount=Decimal("250.00"), reason="goodwill", idempotency_key="k1")
    assert CreditNote.objects.count() == 1, "same key, one credit note"
    rest = gateway.create_credit_note("inv_2001", amount=None, reason="write off", idempotency_key="k2")
    assert rest["amount"] == "1000.00" and rest["invoice_status"] == "paid"
    assert invoice().amount_due == Decimal("0.00")
    with pytest.raises(GatewayError, match="still creditable"):
        gateway.create_credit_note("inv_2001", amount=Decimal("1"), reason="", idempotency_key="k3")


def test_credit_note_on_a_paid_invoice_credits_the_customer(gateway):
    gateway.retry_payment("inv_2001", payment_method="pm_card_ok", idempotency_key="pay")
    gateway.create_credit_note("inv_2001", amount=Decimal("100"), reason="refund as credit", idempotency_key="k1")
    assert Customer.objects.get(pk="cus_1001").credit_balance == Decimal("100.00")


def test_apply_credits_pays_from_the_balance_and_reports_depletion(gateway):
    Customer.objects.filter(pk="cus_1001").update(credit_balance=Decimal("300.00"))
    result = gateway.apply_credits("inv_2001", amount=None, idempotency_key="k1")
    assert result == {"applied": "300.00", "balance": "0.00", "amount_due": "950.00", "invoice_status": "open"}
    assert (invoice().amount_due, invoice().amount_paid) == (Decimal("950.00"), Decimal("300.00"))
    assert Event.objects.filter(type="credits.depleted").count() == 1
    assert gateway.apply_credits("inv_2001", amount=None, idempotency_key="k1") == result
    assert Customer.objects.get(pk="cus_1001").credit_balance == Decimal("0.00")


def test_apply_a_given_amount_and_pay_in_full(gateway):
    Customer.objects.filter(pk="cus_1001").update(credit_balance=Decimal("2000.00"))
    assert gateway.apply_credits("inv_2001", amount=Decimal("50"), idempotency_key="k1")["applied"] == "50.00"
    final = gateway.apply_credits("inv_2001", amount=None, idempotency_key="k2")
    assert final == {"applied": "1200.00", "balance": "750.00", "amount_due": "0.00", "invoice_status": "paid"}
    assert Event.objects.filter(type="invoice.paid").count() == 1
    assert not Event.objects.filter(type="credits.depleted").exists()


def test_update_customer_and_add_tag(gateway):
    result = gateway.update_customer("cus_1001", fields={"segment": "at_risk"},
                                     metadata={"dunning": "stage_2", "account_manager": None}, idempotency_key="k1")
    customer = Customer.objects.get(pk="cus_1001")
    assert customer.segment == "at_risk" and customer.metadata == {"dunning": "stage_2"}
    assert result["updated"] == ["segment"]
    with pytest.raises(GatewayError, match="credit_balance cannot be set"):
        gateway.update_customer("cus_1001", fields={"credit_balance": 5}, metadata={}, idempotency_key="k2")
    assert gateway.add_tag("cus_1001", "dunning", idempotency_key="k3")["tags"] == ["annual", "dunning"]
    assert gateway.add_tag("cus_1001", "dunning", idempotency_key="k4")["added"] is False
    assert Customer.objects.get(pk="cus_1001").tags == ["annual", "dunning"]


def test_update_customer_with_null_removes_the_timezone(gateway):
    gateway.update_customer("cus_1001", fields={"timezone": None, "segment": None}, metadata={}, idempotency_key="k1")
    customer = Customer.objects.get(pk="cus_1001")
    assert (customer.timezone, customer.segment) == ("", None)


def test_unknown_entities_are_clear_errors(gateway):
    with pytest.raises(GatewayError, match="no invoice 'inv_nope'"):
        gateway.retry_payment("inv_nope", payment_method=None, idempotency_key="k1")
    with pytest.raises(GatewayError, match="no customer 'cus_nope'"):
        gateway.add_tag("cus_nope", "x", idempotency_key="k2")
