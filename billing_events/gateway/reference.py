"""The reference gateway: reads (and, for billing actions, changes) the reference billing models."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models
from django.forms.models import model_to_dict

from billing_events.gateway import operations
from billing_events.gateway.base import BillingGateway, Record
from billing_events.models import Customer, GatewayOperation, Invoice, Payment, Subscription, UsageRecord


def _record(instance: models.Model | None, exclude: tuple[str, ...] = ()) -> Record | None:
    if instance is None:
        return None
    data = model_to_dict(instance, exclude=("source_updated_at", *exclude))
    data["id"] = instance.pk
    return data


class ReferenceGateway(BillingGateway):
    """Backed by ``billing_events.models``; the demo and the tests use it."""

    shares_database = True

    def get_customer(self, customer_id: str) -> Record | None:
        return _record(Customer.objects.filter(pk=customer_id).first(), exclude=("credit_balance",))

    def get_invoice(self, invoice_id: str) -> Record | None:
        return _record(Invoice.objects.filter(pk=invoice_id).first())

    def get_subscription(self, subscription_id: str) -> Record | None:
        return _record(Subscription.objects.filter(pk=subscription_id).first())

    def get_payment(self, payment_id: str) -> Record | None:
        return _record(Payment.objects.filter(pk=payment_id).first())

    def get_credits(self, customer_id: str) -> Record | None:
        customer = Customer.objects.filter(pk=customer_id).only("credit_balance", "currency").first()
        if customer is None:
            return None
        return {"balance": customer.credit_balance, "currency": customer.currency}

    def get_usage(self, customer_id: str, metric: str | None = None) -> Record | None:
        records = UsageRecord.objects.filter(customer_id=customer_id).order_by("-period_start")
        if metric:
            records = records.filter(metric=metric)
        usage = records.first()
        if usage is None:
            return None
        return {"metric": usage.metric, "value": usage.value, "threshold": usage.threshold,
                "percent": usage.percent, "period_start": usage.period_start}

    def list_collection(self, name: str, *, after: str | None = None, limit: int = 200) -> tuple[list[Record], str | None]:
        if name == "usage":
            rows = UsageRecord.objects.order_by("pk")
            if after:
                rows = rows.filter(pk__gt=int(after))
            page = list(rows[:limit])
            records = [{"id": str(u.pk), "customer_id": u.customer_id, "metric": u.metric, "value": u.value,
                        "threshold": u.threshold, "percent": u.percent, "period_start": u.period_start}
                       for u in page]
            return records, (str(page[-1].pk) if len(page) == limit else None)
        model = {"customers": Customer, "invoices": Invoice, "subscriptions": Subscription}.get(name)
        if model is None:
            raise ValueError(f"unknown collection {name!r}")
        rows = model.objects.order_by("pk")
        if after:
            rows = rows.filter(pk__gt=after)
        page = list(rows[:limit])
        exclude = ("credit_balance",) if model is Customer else ()
        return [_record(row, exclude) for row in page], (page[-1].pk if len(page) == limit else None)

    def find_operation(self, idempotency_key: str) -> Record | None:
        done = GatewayOperation.objects.filter(key=idempotency_key).first()
        return done.result if done else None

    def describe_payment_method(self, invoice_id: str, *, payment_method: str | None,
                                customer: Record | None = None) -> Record | None:
        return operations.describe_payment_method(invoice_id, payment_method, customer)

    def retry_payment(self, invoice_id: str, *, payment_method: str | None, idempotency_key: str) -> Record:
        return operations.retry_payment(invoice_id, payment_method, idempotency_key)

    def predict_retry_payment(self, invoice_id: str, *, payment_method: str | None, invoice: Record | None = None,
                              customer: Record | None = None) -> Record | None:
        return operations.predict_retry_payment(invoice_id, payment_method, invoice, customer)

    def void_invoice(self, invoice_id: str, *, reason: str, idempotency_key: str) -> Record:
        return operations.void_invoice(invoice_id, reason, idempotency_key)

    def create_credit_note(self, invoice_id: str, *, amount: Decimal | None, reason: str,
                           idempotency_key: str) -> Record:
        return operations.create_credit_note(invoice_id, amount, reason, idempotency_key)

    def apply_credits(self, invoice_id: str, *, amount: Decimal | None, idempotency_key: str) -> Record:
        return operations.apply_credits(invoice_id, amount, idempotency_key)

    def update_customer(self, customer_id: str, *, fields: dict[str, Any], metadata: dict[str, Any],
                        idempotency_key: str) -> Record:
        return operations.update_customer(customer_id, fields, metadata, idempotency_key)

    def add_tag(self, customer_id: str, tag: str, *, idempotency_key: str) -> Record:
        return operations.add_tag(customer_id, tag, idempotency_key)
