"""Models of billing_events: the event inbox, the reference billing entities and the Stripe
event types the Stripe connector skipped."""
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
from billing_events.models.stripe import SkippedStripeEvent

__all__ = ["CreditNote", "Customer", "Event", "GatewayOperation", "Invoice", "Payment", "SkippedStripeEvent",
           "Subscription", "UsageRecord"]
