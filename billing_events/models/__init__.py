"""Models of billing_events: the event inbox and the reference billing entities."""
from billing_events.models.event import Event
from billing_events.models.reference import (
    CreditNote,
    Customer,
    GatewayOperation,
    Invoice,
    Payment,
    Subscription,
    UsageRecord,
)

__all__ = ["CreditNote", "Customer", "Event", "GatewayOperation", "Invoice", "Payment", "Subscription", "UsageRecord"]
