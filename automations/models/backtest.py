"""A backtest: one replay of an automation's draft or version over stored events, its progress and result."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from automations import clock
from automations.status import BacktestStatus


class Backtest(models.Model):
    """What was asked (automation, version, period), how far the replay is, and what it found."""

    automation = models.ForeignKey("automations.Automation", on_delete=models.CASCADE, related_name="backtests")
    version_number = models.PositiveIntegerField()
    version_state = models.CharField(max_length=10, help_text="The version's state when the backtest was asked for.")
    # The definition as it was when asked for: editing the draft meanwhile changes nothing here.
    definition = models.JSONField()
    period_start = models.DateTimeField()
    period_end = models.DateTimeField(help_text="Exclusive: events that occurred before it are replayed.")
    status = models.CharField(max_length=10, choices=BacktestStatus.choices, default=BacktestStatus.QUEUED)
    events_done = models.PositiveIntegerField(default=0)
    events_total = models.PositiveIntegerField(null=True, blank=True)
    # Where a replay stopped at the end of its task's time budget (the next task goes on from here).
    checkpoint = models.JSONField(null=True, blank=True, editable=False)
    chunk = models.PositiveIntegerField(default=0, editable=False, help_text="Tasks that have taken the replay on.")
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=clock.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"backtest #{self.pk} of {self.automation} v{self.version_number} ({self.status})"
