"""What the Stripe connector acknowledged without emitting anything, counted per Stripe event type."""
from __future__ import annotations

from django.db import IntegrityError, models, transaction
from django.db.models import F

from billing_events import clock


class SkippedStripeEvent(models.Model):
    """Deliveries of one Stripe event type that became no catalogue event: a type the connector does
    not map, or a mapped type in a state that is none (a subscription created incomplete). Stripe
    was answered 200 so it does not retry them; this row says how many there were and the last one."""

    stripe_type = models.CharField(max_length=255, unique=True)
    count = models.PositiveBigIntegerField(default=0, help_text="Deliveries received, redeliveries included.")
    last_event_id = models.CharField(max_length=255, blank=True)
    last_received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["stripe_type"]
        verbose_name = "skipped Stripe event type"

    def __str__(self) -> str:
        return f"{self.stripe_type} ({self.count})"

    @classmethod
    def count_delivery(cls, stripe_type: str, event_id: str) -> None:
        """Add one delivery of ``stripe_type`` (an increment in the database: deliveries may race)."""
        changes = {"count": F("count") + 1, "last_event_id": event_id, "last_received_at": clock.now()}
        if cls.objects.filter(stripe_type=stripe_type).update(**changes):
            return
        try:
            with transaction.atomic():
                cls.objects.create(stripe_type=stripe_type, count=1, last_event_id=event_id,
                                   last_received_at=clock.now())
        except IntegrityError:  # another delivery created the row first
            cls.objects.filter(stripe_type=stripe_type).update(**changes)
