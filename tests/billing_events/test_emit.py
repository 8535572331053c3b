"""emit(): validation, idempotent storage, mirroring, dispatch on commit."""
from __future__ import annotations

from decimal import Decimal

import pytest

from automations.models import Execution
from billing_events import emit
from billing_events.catalogue import EVENT_TYPES
from billing_events.errors import InvalidInput
from billing_events.models import Customer, Event, Invoice, Payment
from tests.conftest import sample

pytestmark = pytest.mark.django_db


def test_every_catalogue_sample_is_valid_and_stored():
    for name, event_type in EVENT_TYPES.items():
        event = emit(name, event_type.sample_data(), id=f"evt_{name}")
        assert event.created and event.type == name
    assert Event.objects.count() == len(EVENT_TYPES) >= 11


def test_same_event_id_twice_starts_one_execution(dunning, engine):
    first = engine.emit("payment.failed", sample("payment.failed"), id="evt_dup")
    second = engine.emit("payment.failed", sample("payment.failed"), id="evt_dup")
    assert first.created and not second.created
    assert Event.objects.count() == 1
    assert Execution.objects.count() == 1


def test_event_id_reused_for_another_type_is_refused():
    emit("customer.created", sample("customer.created"), id="evt_1")
    with pytest.raises(InvalidInput, match="already used for a customer.created event") as error:
        emit("invoice.issued", sample("invoice.issued"), id="evt_1")
    assert error.value.errors[0]["field"] == "id"


def test_unknown_event_type_is_a_clear_error_and_stores_nothing():
    with pytest.raises(InvalidInput) as error:
        emit("payment.exploded", {"customer": {"id": "c"}})
    assert error.value.errors[0]["field"] == "type"
    assert "unknown event type 'payment.exploded'" in str(error.value)
    assert "payment.failed" in str(error.value)
    assert not Event.objects.exists() and not Customer.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"customer": {"id": "cus_1"}, "invoice": {"id": "inv_1"}}, "data.payment", "is required"),
        ({**sample("payment.failed"), "invoice": {"id": "inv_1", "amount_due": "lots"}},
         "data.invoice.amount_due", "does not match"),
        ({**sample("payment.failed"), "invoice": {"id": "inv_1", "status": "pending"}},
         "data.invoice.status", "'pending' is not one of draft"),
        ({**sample("payment.failed"), "invoice": {"id": "inv_1", "due_date": "30/11/2026"}},
         "data.invoice.due_date", "is not a valid date"),
        ({**sample("payment.failed"), "customer": {"name": "no id"}}, "data.customer.id", "is required"),
    ],
)
def test_invalid_payload_names_the_field_and_stores_nothing(data, field, message):
    with pytest.raises(InvalidInput) as error:
        emit("payment.failed", data)
    assert any(e["field"] == field and message in e["message"] for e in error.value.errors), error.value.errors
    assert not Event.objects.exists() and not Invoice.objects.exists()


def test_payload_must_be_an_object():
    with pytest.raises(InvalidInput, match="data: must be a JSON object"):
        emit("customer.created", ["not", "an", "object"])


def test_occurred_at_must_be_an_aware_iso_datetime():
    with pytest.raises(InvalidInput, match="occurred_at"):
        emit("customer.created", sample("customer.created"), occurred_at="yesterday")
    with pytest.raises(InvalidInput, match="timezone offset"):
        emit("customer.created", sample("customer.created"), occurred_at="2026-11-20T10:00:00")


def test_event_entities_are_mirrored_into_the_reference_models():
    emit("payment.failed", sample("payment.failed"), id="evt_1")
    invoice = Invoice.objects.get(pk="inv_2001")
    assert invoice.amount_due == Decimal("1250.00") and invoice.status == "open"
    assert str(invoice.due_date) == "2026-11-30"
    assert Payment.objects.get(pk="pay_4001").failure_code == "card_declined"
    assert Customer.objects.get(pk="cus_1001").email == "billing@acme.example"


def test_an_older_event_never_overwrites_newer_state():
    emit("invoice.paid", sample("invoice.paid"), id="evt_new", occurred_at="2026-11-20T12:00:00Z")
    emit("payment.failed", sample("payment.failed"), id="evt_old", occurred_at="2026-11-20T09:00:00Z")
    assert Invoice.objects.get(pk="inv_2001").status == "paid"


def test_credits_depleted_updates_the_balance():
    emit("customer.created", sample("customer.created"))
    Customer.objects.filter(pk="cus_1001").update(credit_balance=Decimal("50"))
    emit("credits.depleted", sample("credits.depleted"))
    assert Customer.objects.get(pk="cus_1001").credit_balance == Decimal("0")


def test_an_older_credits_event_never_overwrites_a_newer_balance():
    emit("customer.created", {"customer": {**sample("customer.created")["customer"], "credit_balance": "75.00"}},
         occurred_at="2026-11-20T12:00:00Z")
    emit("credits.depleted", sample("credits.depleted"), occurred_at="2026-11-20T09:00:00Z")
    assert Customer.objects.get(pk="cus_1001").credit_balance == Decimal("75.00")


def test_dispatch_waits_for_the_callers_commit(dunning, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        emit("payment.failed", sample("payment.failed"), id="evt_1")
        assert not Execution.objects.exists()
    assert len(callbacks) == 1
