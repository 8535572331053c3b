"""What waiting executions wait for, found by event type and correlation value."""
from __future__ import annotations

from django.db import models


class WaitRule(models.Model):
    """The event types a version's ``wait_for`` steps wait for, with the version's correlation key,
    written when the version is activated. An event finds the correlation keys to read from its
    data through the ``event_type`` index, so dispatch costs the same however many runs wait."""

    version = models.ForeignKey("automations.AutomationVersion", on_delete=models.CASCADE,
                                related_name="wait_rules")
    event_type = models.CharField(max_length=100)
    correlation_key = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event_type", "version"], name="wait_rule_unique")]

    def __str__(self) -> str:
        return f"{self.version}: waits for {self.event_type} by {self.correlation_key}"


class EventWaiter(models.Model):
    """One event type a waiting execution waits for (one row per type listed in its ``wait_for``).

    ``wait_token`` is the execution's wake-up token while it waits: an event marks the rows of that
    wait with itself and wakes the execution only if the token is still current, so one wait is
    ended by one event, once. The rows go when the step ends (or with the execution)."""

    execution = models.ForeignKey("automations.Execution", on_delete=models.CASCADE, related_name="waiters")
    wait_token = models.PositiveIntegerField()
    step_key = models.CharField(max_length=100)
    event_type = models.CharField(max_length=100)
    correlation_key = models.CharField(max_length=200)
    correlation_value = models.CharField(max_length=255)
    #: Events received from this moment on count (the run's start, or the event that ended the
    #: run's previous wait), so one that came while the run was busy with an earlier step is seen.
    since = models.DateTimeField()
    event_id = models.CharField(max_length=255, null=True, blank=True, help_text="The event that ended the wait.")
    matched_type = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["event_type", "correlation_value"], condition=models.Q(event_id__isnull=True),
                         name="waiter_lookup_idx"),
        ]

    def __str__(self) -> str:
        return f"execution {self.execution_id} waits for {self.event_type} {self.correlation_value}"
