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


class TallyFold(models.Model):
    """One row, locked by the fold that is counting, so two workers never count at once."""

    folded_at = models.DateTimeField(null=True, blank=True)
