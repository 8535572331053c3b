"""The exit rules of activated versions, one row per (version, event type), found by event type."""
from __future__ import annotations

from django.db import models


class ExitRule(models.Model):
    """``exit_on`` of an activated version, written when it is activated (versions are immutable
    from then on). Each event finds the versions it may end runs of through the ``event_type``
    index, so dispatch costs the same with ten or ten thousand automations."""

    version = models.ForeignKey("automations.AutomationVersion", on_delete=models.CASCADE,
                                related_name="exit_rules")
    event_type = models.CharField(max_length=100)
    correlation_key = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event_type", "version"], name="exit_rule_unique")]

    def __str__(self) -> str:
        return f"{self.version}: exit on {self.event_type} by {self.correlation_key}"
