"""The reference gateway's billing operations on the reference models.

Each operation runs in one transaction with the row it changes locked, records its result under
the idempotency key in the same transaction (so a repeat returns the first result and a race
between two calls leaves exactly one effect), and emits the catalogue events its change implies
with ids derived from the key (so they too are emitted once).
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F, Subquery
from django.forms.models import model_to_dict

from billing_events import clock, processor
from billing_events import emit
from billing_events.gateway.base import GatewayError, Record
from billing_events.models import CreditNote, Customer, GatewayOperation, Invoice, Payment
from billing_events.payloads import as_event_entity

CUSTOMER_FIELDS = ("name", "email", "phone", "segment", "timezone", "default_payment_method")
ZERO = Decimal("0.00")


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def once(key: str, kind: str, perform: Callable[[], Record]) -> Record:
    """Run ``perform`` unless an operation with ``key`` already ran; return its (first) result.

    The key's row is inserted first, in the operation's transaction: a concurrent call with the
    same key waits on the unique index until this one commits (then returns its result) or rolls
    back (then performs the operation itself). An error inside ``perform`` records nothing.
    """
    if not key:
        raise GatewayError("an idempotency key is required", code="idempotency_key_missing")
    done = GatewayOperation.objects.filter(key=key).first()
    if done is not None:
        return done.result
    try:
        with transaction.atomic():
            operation = GatewayOperation.objects.create(key=key, kind=kind, result={})
            operation.result = _json(perform())
            operation.save(update_fields=["result"])
    except IntegrityError:
        done = GatewayOperation.objects.filter(key=key).first()
        if done is None:
            raise
        return done.result
    return operation.result


def _record(instance: Any) -> dict[str, Any]:
    """An entity as an event carries it."""
    data = model_to_dict(instance, exclude=("source_updated_at",))
    data["id"] = instance.pk
    return as_event_entity(data)


def _emit(event_type: str, key: str, **entities: Any) -> None:
    data = {name: _record(entity) if not isinstance(entity, dict) else entity for name, entity in entities.items()}
    emit(event_type, _json(data), id=f"evt_{event_type.replace('.', '_')}_{key}")


def _locked_invoice(invoice_id: str, action: str, allowed: tuple[str, ...], code: str) -> Invoice:
    """The invoice, locked for this transaction, if its status allows ``action``."""
    invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
    if invoice is None:
        raise GatewayError(f"no invoice {invoice_id!r}", code="invoice_not_found")
    if invoice.status not in allowed:
        raise GatewayError(f"cannot {action} invoice {invoice.number or invoice.pk}: it is {invoice.status}",
                           code=code)
    return invoice


def _open_invoice(invoice_id: str, action: str) -> Invoice:
    return _locked_invoice(invoice_id, action, ("open", "uncollectible"), "invoice_not_open")


def _customer_of(invoice: Invoice) -> Customer | dict[str, str]:
    return Customer.objects.filter(pk=invoice.customer_id).first() or {"id": invoice.customer_id}


def _customer(customer_id: str) -> Customer:
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise GatewayError(f"no customer {customer_id!r}", code="customer_not_found")
    return customer


def _mark_paid(invoice: Invoice, key: str) -> None:
    invoice.status, invoice.amount_due = "paid", ZERO
    invoice.source_updated_at = clock.now()
    invoice.save()
    _emit("invoice.paid", key, customer=_customer_of(invoice), invoice=invoice)


def _method(invoice_customer_id: str | None, payment_method: str | None, customer: Record | None = None) -> str | None:
    """The payment method a charge uses: the one given, else the customer's default (as stored,
    else as the run's view of the customer says)."""
    if payment_method:
        return payment_method
    on_file = Customer.objects.filter(pk=invoice_customer_id).first() if invoice_customer_id else None
    return on_file.default_payment_method if on_file else (customer or {}).get("default_payment_method")


def describe_payment_method(invoice_id: str, payment_method: str | None, customer: Record | None = None) -> Record | None:
    if not payment_method:  # the default method of the invoice's customer, in one query
        on_file = (Customer.objects.filter(pk=Subquery(Invoice.objects.filter(pk=invoice_id).values("customer_id")[:1]))
                   .values_list("default_payment_method", flat=True).first())
        payment_method = on_file or (customer or {}).get("default_payment_method")
    card = processor.describe(payment_method)
    return {**card, "updated_at": None} if card else None


def _decline_fields(outcome: processor.Charge) -> Record:
    return {"decline_code": outcome.decline_code, "decline_message": outcome.message,
            "decline": outcome.decline.as_record() if outcome.decline else None}


def retry_payment(invoice_id: str, payment_method: str | None, key: str) -> Record:
    def perform() -> Record:
        invoice = _open_invoice(invoice_id, "collect")
        method = _method(invoice.customer_id, payment_method)
        outcome = processor.charge(method, invoice.amount_due, invoice.currency)
        payment = Payment.objects.create(
            id=f"pay_{uuid.uuid4().hex[:16]}", invoice_id=invoice.pk, customer_id=invoice.customer_id,
            amount=invoice.amount_due, currency=invoice.currency,
            status="succeeded" if outcome.succeeded else "failed", failure_code=outcome.decline_code,
            failure_message=outcome.message, payment_method=method,
            attempt_number=Payment.objects.filter(invoice_id=invoice.pk).count() + 1,
            source_updated_at=clock.now(),
        )
        if outcome.succeeded:
            invoice.amount_paid += payment.amount
            _emit("payment.succeeded", key, customer=_customer_of(invoice), payment=payment,
                  invoice=invoice)
            _mark_paid(invoice, key)
        # A failed retry emits no payment.failed: that would start the dunning it belongs to again.
        return {"status": payment.status, "payment_id": payment.pk, **_decline_fields(outcome),
                "amount": payment.amount, "currency": payment.currency,
                "attempt_number": payment.attempt_number, "payment_method": method}

    return once(key, "retry_payment", perform)


def predict_retry_payment(invoice_id: str, payment_method: str | None, invoice: Record | None = None,
                          customer: Record | None = None) -> Record | None:
    """What ``retry_payment`` would answer now, without charging: the test processor is
    deterministic, so the outcome follows from the payment method. The same record, or the same
    GatewayError (an invoice that is not open, a processor that is unavailable). An invoice or
    customer this database does not have is read from ``invoice`` and ``customer``, the run's view
    (what its event said, which a real run's event would have stored); None without either."""
    stored = Invoice.objects.filter(pk=invoice_id).first()
    view = ({"status": stored.status, "number": stored.number, "amount_due": stored.amount_due,
             "currency": stored.currency, "customer_id": stored.customer_id} if stored else invoice)
    if not view:
        return None
    if view.get("status") not in ("open", "uncollectible"):
        raise GatewayError(f"cannot collect invoice {view.get('number') or invoice_id}: it is {view.get('status')}",
                           code="invoice_not_open")
    method = _method(view.get("customer_id"), payment_method, customer)
    amount = Decimal(str(view.get("amount_due") or 0))
    outcome = processor.charge(method, amount, view.get("currency") or "")
    return {"status": "succeeded" if outcome.succeeded else "failed", "payment_id": None,
            **_decline_fields(outcome), "amount": amount,
            "currency": view.get("currency"),
            "attempt_number": Payment.objects.filter(invoice_id=invoice_id).count() + 1, "payment_method": method}


def void_invoice(invoice_id: str, reason: str, key: str) -> Record:
    def perform() -> Record:
        invoice = _locked_invoice(invoice_id, "void", ("draft", "open", "uncollectible"), "invoice_not_voidable")
        invoice.status, invoice.amount_due, invoice.source_updated_at = "void", ZERO, clock.now()
        invoice.save()
        _emit("invoice.voided", key, customer=_customer_of(invoice), invoice=invoice)
        return {"invoice_id": invoice.pk, "status": "void", "reason": reason}

    return once(key, "void_invoice", perform)


def _cents(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else Decimal(amount).quantize(Decimal("0.01"))


def create_credit_note(invoice_id: str, amount: Decimal | None, reason: str, key: str) -> Record:
    amount = _cents(amount)

    def perform() -> Record:
        invoice = _locked_invoice(invoice_id, "credit", ("open", "uncollectible", "paid"), "invoice_not_creditable")
        credited = sum((note.amount for note in CreditNote.objects.filter(invoice_id=invoice.pk)), ZERO)
        available = invoice.total - credited
        credit = available if amount is None else amount
        if credit <= 0 or credit > available:
            raise GatewayError(f"credit of {credit} is not between 0 and the {available} still creditable",
                               code="invalid_amount")
        note = CreditNote.objects.create(invoice_id=invoice.pk, customer_id=invoice.customer_id, amount=credit,
                                         currency=invoice.currency, reason=reason, idempotency_key=key)
        if invoice.status == "paid":
            # Money already collected comes back as credit the customer can spend.
            Customer.objects.filter(pk=invoice.customer_id).update(credit_balance=F("credit_balance") + credit)
        else:
            invoice.amount_due = max(invoice.amount_due - credit, ZERO)
            invoice.source_updated_at = clock.now()
            invoice.save()
            if invoice.amount_due == ZERO:
                _mark_paid(invoice, key)
        return {"credit_note_id": note.pk, "invoice_id": invoice.pk, "amount": credit, "currency": note.currency,
                "invoice_status": invoice.status, "amount_due": invoice.amount_due}

    return once(key, "create_credit_note", perform)


def apply_credits(invoice_id: str, amount: Decimal | None, key: str) -> Record:
    amount = _cents(amount)

    def perform() -> Record:
        invoice = _open_invoice(invoice_id, "apply credits to")
        customer = _customer(invoice.customer_id)
        applied = min(customer.credit_balance, invoice.amount_due, *([amount] if amount is not None else []))
        if applied <= 0:
            return {"applied": ZERO, "balance": customer.credit_balance, "amount_due": invoice.amount_due,
                    "invoice_status": invoice.status}
        customer.credit_balance -= applied
        customer.save(update_fields=["credit_balance"])
        invoice.amount_due -= applied
        invoice.amount_paid += applied
        invoice.source_updated_at = clock.now()
        invoice.save()
        if invoice.amount_due == ZERO:
            _mark_paid(invoice, key)
        if customer.credit_balance == ZERO:
            _emit("credits.depleted", key, customer=customer,
                  credits={"balance": customer.credit_balance, "currency": customer.currency})
        return {"applied": applied, "balance": customer.credit_balance, "amount_due": invoice.amount_due,
                "invoice_status": invoice.status}

    return once(key, "apply_credits", perform)


def update_customer(customer_id: str, fields: dict[str, Any], metadata: dict[str, Any], key: str) -> Record:
    unknown = sorted(set(fields) - set(CUSTOMER_FIELDS))
    if unknown:
        raise GatewayError(f"customer fields {', '.join(unknown)} cannot be set", code="invalid_field")

    def perform() -> Record:
        customer = _customer(customer_id)
        for name, value in fields.items():
            # null removes a value: a field that cannot be null (name, email, timezone) is left blank
            setattr(customer, name, "" if value is None and not Customer._meta.get_field(name).null else value)
        for name, value in metadata.items():
            if value is None:
                customer.metadata.pop(name, None)
            else:
                customer.metadata[name] = value
        customer.source_updated_at = clock.now()
        customer.save()
        return {"customer_id": customer.pk, "updated": sorted(fields), "metadata": customer.metadata}

    return once(key, "update_customer", perform)


def add_tag(customer_id: str, tag: str, key: str) -> Record:
    def perform() -> Record:
        customer = _customer(customer_id)
        added = tag not in customer.tags
        if added:
            customer.tags = [*customer.tags, tag]
            customer.save(update_fields=["tags"])
        return {"customer_id": customer.pk, "tag": tag, "added": added, "tags": customer.tags}

    return once(key, "add_tag", perform)
