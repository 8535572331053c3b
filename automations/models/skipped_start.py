"""Why an event started no run of an automation that listens for its type: written by the
dispatcher, read on the event's admin page beside the runs it did start."""
from __future__ import annotations

from django.db import models


class SkipReason(models.TextChoices):
    PAUSED = "paused", "The automation was paused"
    TRIGGER = "trigger", "The trigger's setting did not match the event"
    CONDITIONS = "conditions", "The entry conditions were not met"
    LIVE_RUN = "live_run", "A run for the same value was still under way"
    RAN_ONCE = "ran_once", "It had already run once for the same value"


class SkippedStart(models.Model):
    """An automation listening for ``event``'s type that started no run from it, and why
    (``detail`` in words, ``blocking`` the run that held the correlation value, if one did)."""

    event = models.ForeignKey("billing_events.Event", on_delete=models.CASCADE, related_name="skipped_starts")
    automation = models.ForeignKey("automations.Automation", on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey("automations.AutomationVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    reason = models.CharField(max_length=12, choices=SkipReason.choices)
    detail = models.TextField(blank=True)
    blocking = models.ForeignKey("automations.Execution", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    at = models.DateTimeField()

    class Meta:
        constraints = [
            # a dispatch run again (the sweep re-dispatches an event a dead worker left) records once
            models.UniqueConstraint(fields=["event", "automation"], name="one_skip_per_event_and_automation"),
        ]

    def __str__(self) -> str:
        return f"{self.automation} not started by {self.event_id}: {self.get_reason_display()}"
