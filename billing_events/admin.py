"""Admin for the event inbox, the reference billing models and the Stripe events skipped."""
from __future__ import annotations

import json

from django.contrib import admin
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from billing_events.models import (
    CreditNote,
    Customer,
    Event,
    Invoice,
    Payment,
    SkippedStripeEvent,
    Subscription,
    UsageRecord,
)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "occurred_at", "received_at", "handled_at")
    list_filter = ("type",)
    search_fields = ("id",)
    date_hierarchy = "occurred_at"
    readonly_fields = ("id", "type", "occurred_at", "received_at", "handled_at", "payload")
    fieldsets = [
        (None, {"fields": ("id", "type", "occurred_at", "received_at", "handled_at")}),
        ("What it says", {"fields": ("payload",)}),
    ]

    @admin.display(description="handed to its listeners", ordering="dispatched_at")
    def handled_at(self, event: Event) -> str:
        return date_format(localtime(event.dispatched_at), "DATETIME_FORMAT") if event.dispatched_at else "not yet"

    @admin.display(description="data")
    def payload(self, event: Event) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.data, indent=2, sort_keys=True))

    def has_add_permission(self, request) -> bool:  # events arrive through emit() or the API
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "email", "segment", "credit_balance", "default_payment_method")
    search_fields = ("id", "name", "email")
    list_filter = ("segment",)


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("id", "number", "customer_id", "status", "currency", "total", "amount_due", "due_date")
    list_filter = ("status", "currency")
    search_fields = ("id", "number", "customer_id")


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("id", "invoice_id", "customer_id", "amount", "status", "failure_code", "attempt_number")
    list_filter = ("status", "failure_code")
    search_fields = ("id", "invoice_id", "customer_id")


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("id", "customer_id", "plan", "status", "current_period_end")
    list_filter = ("status", "plan")
    search_fields = ("id", "customer_id")


@admin.register(CreditNote)
class CreditNoteAdmin(admin.ModelAdmin):
    list_display = ("id", "invoice_id", "customer_id", "amount", "currency", "reason", "created_at")
    search_fields = ("invoice_id", "customer_id")


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = ("customer_id", "metric", "period_start", "value", "threshold")
    list_filter = ("metric",)


@admin.register(SkippedStripeEvent)
class SkippedStripeEventAdmin(admin.ModelAdmin):
    """What Stripe sent that became no event, per type: read only (the webhook counts them)."""
    list_display = ("stripe_type", "count", "last_event_id", "last_received_at")
    search_fields = ("stripe_type",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
