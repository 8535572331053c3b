"""The reference gateway: reads (and, for billing actions, changes) the reference billing models."""
from __future__ import annotations

from django.db import models
from django.forms.models import model_to_dict

from billing_events.gateway.base import BillingGateway, Record
from billing_events.models import Customer, Invoice, Payment, Subscription, UsageRecord


def _record(instance: models.Model | None, exclude: tuple[str, ...] = ()) -> Record | None:
    if instance is None:
        return None
    data = model_to_dict(instance, exclude=("source_updated_at", *exclude))
    data["id"] = instance.pk
    return data


class ReferenceGateway(BillingGateway):
    """Backed by ``billing_events.models``; the demo and the tests use it."""

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
