"""Outcome tallies: how many runs started and how each ended, how many times each step was reached,
succeeded and failed, per automation, version and day — kept as runs move, so the figures of any
period are a sum over a few rows per day (not a scan of executions) and outlive retention."""
from __future__ import annotations

from django.db import models


class TallyKind(models.TextChoices):
    STARTED = "started", "Runs started"
    ENDED = "ended", "Runs ended"  # key: how (goal, completed, stop:<step>, failed:<step>, canceled)
    REACHED = "reached", "Step reached"  # key: the step; first attempts
    SUCCEEDED = "succeeded", "Step attempts succeeded"
    FAILED = "failed", "Step attempts failed"
    SENT = "sent", "Emails sent"  # key: the email template ("" when the step writes its own)
    NOT_SENT = "not_sent", "Emails that failed"  # key: as for SENT
    ACTION_ATTEMPTS = "attempts", "Action attempts"  # key: the action
    ACTION_MS = "action_ms", "Milliseconds action attempts took"  # key: the action
    ACTION_FAILURES = "failures", "Action attempts failed"  # key: <action>:<code> (see fold.failure_code)
    WAKES = "wakes", "Wake-ups after a delay, by lateness"  # key: the bucket's upper bound in seconds, or +Inf
    WAKE_MS = "wake_ms", "Milliseconds wake-ups after a delay were late"  # key: ""
    VARIANT_RUNS = "v_runs", "Runs ended after a split's variant"  # key: <split step>:<variant>
    VARIANT_CONVERTED = "v_conv", "Runs converted after a split's variant"  # key: as for VARIANT_RUNS


class Tally(models.Model):
    """One count: of ``kind`` (and ``key``: a step, an ending) for a version of an automation on a
    day (UTC)."""

    automation = models.ForeignKey("automations.Automation", on_delete=models.CASCADE, related_name="tallies")
    version_number = models.PositiveIntegerField()
    day = models.DateField()
    kind = models.CharField(max_length=10, choices=TallyKind.choices)
    key = models.CharField(max_length=120, blank=True)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["automation", "version_number", "day", "kind", "key"],
                                               name="one_tally_per_day")]

    def __str__(self) -> str:
        return f"{self.automation_id} v{self.version_number} {self.day} {self.kind} {self.key}: {self.count}"


class EventTally(models.Model):
    """Billing events received or dispatched on a day (UTC), by type: the metrics' counters, kept
    by the fold so that a scrape reads a few rows rather than the events table."""

    day = models.DateField()
    kind = models.CharField(max_length=10, choices=[("received", "Received"), ("dispatched", "Dispatched")])
    event_type = models.CharField(max_length=100)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "kind", "event_type"], name="one_event_tally_per_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.event_type}: {self.count}"


class TallyFold(models.Model):
    """One row, locked by the fold that is counting, so two workers never count at once."""

    folded_at = models.DateTimeField(null=True, blank=True)


class RecoveredBy(models.TextChoices):
    RETRY = "retry", "a payment retry"
    CUSTOMER = "customer", "the customer"


class Recovery(models.Model):
    """An invoice paid while a run was live: by one of its ``retry_payment`` steps, or by the
    customer (the payment event the run exits on). One per run, written by the fold when the run
    ends; it names the run by id only, so it outlives the run's pruning."""

    automation = models.ForeignKey("automations.Automation", on_delete=models.CASCADE, related_name="recoveries")
    version_number = models.PositiveIntegerField()
    execution_id = models.BigIntegerField(unique=True)
    invoice_id = models.CharField(max_length=255, blank=True)
    #: The step credited: the retry that paid, or the last step that ran before the customer paid.
    step_key = models.CharField(max_length=100, blank=True)
    by = models.CharField(max_length=10, choices=RecoveredBy.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    paid_at = models.DateTimeField()
    day = models.DateField(help_text="The day it was paid (UTC).")
    #: From the run's start to the payment.
    seconds_to_recover = models.PositiveBigIntegerField()
    #: The variant the run took at each split step it passed: ``{"experiment": "b"}``.
    variants = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["automation", "day"], name="recovery_by_day")]

    def __str__(self) -> str:
        return f"{self.automation_id} v{self.version_number}: {self.amount} {self.currency} by {self.by}"
