"""The messages sent to each customer, which frequency caps count, and the per-customer row that
serialises the count-then-reserve of concurrent workers."""
from __future__ import annotations

from django.db import models


class SentMessage(models.Model):
    """One message (email, SMS, Slack post) to a customer: reserved just before it is sent,
    marked sent once it went, deleted if the send failed, so only real messages count."""

    class Status(models.TextChoices):
        RESERVED = "reserved", "Reserved (being sent)"
        SENT = "sent", "Sent"

    customer_id = models.CharField(max_length=255)
    channel = models.CharField(max_length=10)
    # The step's idempotency key: every attempt at one message holds the same reservation.
    key = models.CharField(max_length=255, unique=True)
    automation = models.ForeignKey("automations.Automation", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RESERVED)
    sent_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["customer_id", "sent_at"], name="sentmessage_customer_idx")]

    def __str__(self) -> str:
        return f"{self.channel} to {self.customer_id} at {self.sent_at:%Y-%m-%d %H:%M} ({self.status})"


class MessageLock(models.Model):
    """Locked (``SELECT … FOR UPDATE``) while a worker counts a customer's messages and reserves
    one, so two workers messaging the same customer at once cannot both pass a cap."""

    customer_id = models.CharField(max_length=255, primary_key=True)

    def __str__(self) -> str:
        return self.customer_id
