"""Approval requests: a run waiting for a person's decision."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    TIMED_OUT = "timed_out", "Timed out"
    CANCELED = "canceled", "Canceled"


class ApprovalRequest(models.Model):
    """What an ``approval`` step asks, of whom, about which customer and amounts, and the answer.

    ``wait_token`` is the execution's wake-up token while it waits for this decision: a decision
    wakes the execution only if the token is still current, so the first decision (or the
    timeout) is the one the run sees."""

    execution = models.ForeignKey("automations.Execution", on_delete=models.CASCADE, related_name="approvals")
    step_key = models.CharField(max_length=100)
    loop_index = models.CharField(max_length=50, blank=True)
    wait_token = models.PositiveIntegerField()
    ask = models.TextField(help_text="The question, rendered on the run's data.")
    details = models.JSONField(default=dict, blank=True, help_text="The customer and amounts the question is about.")
    approvers = models.JSONField(default=dict, help_text="Who may decide.")
    status = models.CharField(max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True, help_text="When the default decision is taken.")
    on_timeout = models.CharField(max_length=10, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("decide_approval", "Can approve or reject approval requests")]
        constraints = [models.UniqueConstraint(fields=["execution", "step_key", "loop_index", "wait_token"],
                                               name="one_request_per_wait")]
        indexes = [models.Index(fields=["status", "created_at"], name="approval_status_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.ask[:60]} ({self.get_status_display().lower()})"
