"""Reference billing entities behind the reference gateway.

They mirror what incoming events say (``billing_events.mirror``), so a billing system that only
sends events still gets "is the invoice still unpaid?" answered from current data. Relations are
kept as plain ids: an event may mention an invoice before its customer has ever been seen.
"""
from __future__ import annotations

from decimal import Decimal

from django.db import models

from billing_events.catalogue import INVOICE_STATUSES, PAYMENT_STATUSES, SUBSCRIPTION_STATUSES

MONEY = {"max_digits": 14, "decimal_places": 2}


def _choices(values: list[str]) -> list[tuple[str, str]]:
    return [(value, value.replace("_", " ")) for value in values]


class MirroredEntity(models.Model):
    """An entity with a string id, updated by events no older than the last one applied."""

    id = models.CharField(primary_key=True, max_length=255)
    source_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.id


class Customer(MirroredEntity):
    name = models.CharField(max_length=255, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True, null=True)
    segment = models.CharField(max_length=100, blank=True, null=True)
    tags = models.JSONField(default=list, blank=True)
    # Blank when the billing system has none: send windows then fall back to the automation's timezone.
    timezone = models.CharField(max_length=64, blank=True, default="",
                                help_text="IANA name such as Europe/Berlin; blank when the customer has none.")
    metadata = models.JSONField(default=dict, blank=True)
    default_payment_method = models.CharField(max_length=100, blank=True, null=True)
    credit_balance = models.DecimalField(default=Decimal("0"), **MONEY)
    currency = models.CharField(max_length=3, default="USD")

    def __str__(self) -> str:
        return f"{self.name or self.id} <{self.email}>"


class Subscription(MirroredEntity):
    customer_id = models.CharField(max_length=255, db_index=True, blank=True)
    plan = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=_choices(SUBSCRIPTION_STATUSES), default="active")
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at = models.DateTimeField(null=True, blank=True)
    usage_allowance = models.DecimalField(null=True, blank=True, max_digits=20, decimal_places=4)


class Invoice(MirroredEntity):
    customer_id = models.CharField(max_length=255, db_index=True, blank=True)
    subscription_id = models.CharField(max_length=255, blank=True, null=True)
    number = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=_choices(INVOICE_STATUSES), default="open",
                              db_index=True)
    currency = models.CharField(max_length=3, default="USD")
    total = models.DecimalField(default=Decimal("0"), **MONEY)
    amount_due = models.DecimalField(default=Decimal("0"), **MONEY)
    amount_paid = models.DecimalField(default=Decimal("0"), **MONEY)
    due_date = models.DateField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    payment_url = models.CharField(max_length=500, blank=True)
    line_items = models.JSONField(default=list, blank=True)


class Payment(MirroredEntity):
    invoice_id = models.CharField(max_length=255, blank=True, null=True, db_index=True)
    customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    amount = models.DecimalField(default=Decimal("0"), **MONEY)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=20, choices=_choices(PAYMENT_STATUSES), default="pending")
    failure_code = models.CharField(max_length=100, blank=True, null=True)
    failure_message = models.CharField(max_length=500, blank=True, null=True)
    attempt_number = models.PositiveIntegerField(default=1)
    payment_method = models.CharField(max_length=100, blank=True, null=True)
    created_at = models.DateTimeField(auto_now_add=True)


class CreditNote(models.Model):
    """A credit note issued against an invoice (reference gateway)."""

    invoice_id = models.CharField(max_length=255, db_index=True)
    customer_id = models.CharField(max_length=255, db_index=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="USD")
    reason = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.invoice_id}"


class UsageRecord(models.Model):
    """Usage of one metric by one customer in one billing period."""

    customer_id = models.CharField(max_length=255, db_index=True)
    metric = models.CharField(max_length=100)
    period_start = models.DateField()
    value = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    threshold = models.DecimalField(max_digits=20, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer_id", "metric", "period_start"], name="usage_per_period"),
        ]

    @property
    def percent(self) -> Decimal:
        return (self.value / self.threshold * 100) if self.threshold else Decimal("0")

    def __str__(self) -> str:
        return f"{self.customer_id} {self.metric} {self.value}/{self.threshold}"


class GatewayOperation(models.Model):
    """The result of a billing operation, stored under its idempotency key in the same transaction
    as the operation itself: a repeat with the same key returns this instead of acting again."""

    key = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=50)
    result = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
