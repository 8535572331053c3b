"""The charges the apps made of each card, which the card networks' retry limits count, and the
per-card row that serialises the count-then-reserve of concurrent workers."""
from __future__ import annotations

from django.db import models


class CardCharge(models.Model):
    """One charge of a card by a ``retry_payment`` step, whichever automation made it: reserved
    just before the gateway is called, settled with what the gateway answered, deleted when the
    gateway did not reach the card (an error that passes), so only real charges count. A decline
    the issuer will never approve (``hard``) or that asks for new card details keeps the card from
    being charged again until its details change."""

    class Outcome(models.TextChoices):
        RESERVED = "reserved", "Being charged"
        PAID = "paid", "Paid"
        DECLINED = "declined", "Declined"

    # The gateway operation's idempotency key: a crashed attempt performed again holds the same row.
    key = models.CharField(max_length=255, unique=True)
    fingerprint = models.CharField(max_length=255, help_text="The card, whatever its payment method's id.")
    network = models.CharField(max_length=32, blank=True)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3, blank=True)
    invoice_id = models.CharField(max_length=255, blank=True)
    automation = models.ForeignKey("automations.Automation", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    execution_id = models.BigIntegerField(null=True, blank=True)
    step_key = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.RESERVED)
    decline_category = models.CharField(max_length=32, blank=True)
    decline_code = models.CharField(max_length=64, blank=True)
    charged_at = models.DateTimeField()
    # A decline whose network advised a wait (Mastercard's "retry after 24 hours"): the card is not
    # charged again before this moment.
    not_before = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["fingerprint", "charged_at"], name="cardcharge_card_idx")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.fingerprint} at {self.charged_at:%Y-%m-%d %H:%M} ({self.outcome})"


class CardLock(models.Model):
    """Locked (``SELECT … FOR UPDATE``) while a worker counts a card's charges and reserves one,
    so two workers charging the same card at once cannot both pass a limit."""

    fingerprint = models.CharField(max_length=255, primary_key=True)
    # Written by every reservation: the upsert that writes it takes the row lock in one statement.
    touched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.fingerprint
