"""Models of billing_events: the event inbox and the reference billing entities."""
from billing_events.models.event import Event
from billing_events.models.reference import (
    CreditNote,
    Customer,
    Invoice,
    Payment,
    Subscription,
    UsageRecord,
)

__all__ = ["CreditNote", "Customer", "Event", "Invoice", "Payment", "Subscription", "UsageRecord"]
