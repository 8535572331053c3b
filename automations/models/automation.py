"""An automation and its versions."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from automations.status import Reentry, TriggerType, VersionState


class Automation(models.Model):
    """A named workflow. What it does lives in its versions; at most one is active at a time."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_paused = models.BooleanField(default=False, help_text="Paused automations start no new executions.")
    active_version = models.ForeignKey(
        "automations.AutomationVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Copied from the active version on activation so that an incoming event finds its
    # automations through an index, whatever the number of unrelated automations.
    trigger_type = models.CharField(max_length=20, choices=TriggerType.choices, blank=True)
    trigger_event = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["trigger_event", "is_paused"], name="automation_trigger_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def status(self) -> str:
        """``draft`` (never activated), ``active`` or ``paused``."""
        if self.active_version_id is None:
            return "draft"
        return "paused" if self.is_paused else "active"

    @property
    def draft_version(self) -> AutomationVersion | None:
        return self.versions.filter(state=VersionState.DRAFT).first()


class AutomationVersion(models.Model):
    """One version of an automation's definition. Once activated it never changes."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=VersionState.choices, default=VersionState.DRAFT)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    trigger = models.JSONField()
    conditions = models.JSONField(null=True, blank=True)
    correlation_key = models.CharField(max_length=200, blank=True)
    reentry = models.CharField(max_length=20, choices=Reentry.choices, default=Reentry.ALLOW)
    exit_on = models.JSONField(default=list, blank=True)
    retry = models.JSONField(null=True, blank=True)
    # The canonical definition: as last saved while a draft (each save is a history record, a
    # draft revision), frozen at activation — executions run from it, so nothing edited
    # afterwards can change an execution under way.
    snapshot = models.JSONField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    # Where the definition came from when a restore copied an older version into this draft: the
    # versions list and the history say "restored from v1", which a diff alone would not.
    restored_from = models.PositiveIntegerField(
        null=True, blank=True, help_text="The number of the version whose definition was restored into this one.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["automation", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["automation", "number"], name="version_number_unique"),
            models.UniqueConstraint(fields=["automation"], condition=models.Q(state="draft"),
                                    name="one_draft_per_automation"),
            models.UniqueConstraint(fields=["automation"], condition=models.Q(state="active"),
                                    name="one_active_per_automation"),
        ]

    def __str__(self) -> str:
        return f"{self.automation} v{self.number} ({self.state})"

    @property
    def trigger_type(self) -> str:
        return (self.trigger or {}).get("type", "")
