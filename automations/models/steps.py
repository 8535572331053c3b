"""Steps of a version, one polymorphic subclass per step type.

Bodies (a branch's then/else, a loop's steps, an action's fallback) are the children of their owner
step, told apart by ``slot`` and ordered by ``position``.
"""
from __future__ import annotations

from django.db import models
from polymorphic.models import PolymorphicModel
from simple_history.models import HistoricalRecords

from automations.status import OnFailure, StopStatus


class Step(PolymorphicModel):
    """Common part of every step: where it sits and its key (stable across versions)."""

    version = models.ForeignKey("automations.AutomationVersion", on_delete=models.CASCADE, related_name="steps")
    key = models.SlugField(max_length=100, help_text="Unique within the automation; logs and outputs use it.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    slot = models.CharField(max_length=10, default="steps")
    position = models.PositiveIntegerField(default=0)

    type_name = ""

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="step_key_unique_in_version")]

    def __str__(self) -> str:
        return f"{self.key} ({self.type_name})"


class ActionStep(Step):
    type_name = "action"
    action = models.CharField(max_length=100)
    config = models.JSONField(default=dict, blank=True)
    retry = models.JSONField(null=True, blank=True)
    on_failure = models.CharField(max_length=10, choices=OnFailure.choices, default=OnFailure.FAIL)
    history = HistoricalRecords()


class BranchStep(Step):
    type_name = "branch"
    condition = models.JSONField(help_text="The branch's `if`.")
    history = HistoricalRecords()


class DelayStep(Step):
    type_name = "delay"
    duration = models.CharField(max_length=50, blank=True)
    until = models.CharField(max_length=500, blank=True)
    offset = models.CharField(max_length=50, blank=True)
    at = models.CharField(max_length=5, blank=True, help_text="HH:MM in the customer's timezone")
    history = HistoricalRecords()


class LoopStep(Step):
    type_name = "loop"
    over = models.JSONField(help_text="A path such as invoice.line_items, or {collection, where}.")
    item_name = models.CharField(max_length=50, default="item")
    max_items = models.PositiveIntegerField(null=True, blank=True)
    history = HistoricalRecords()


class StopStep(Step):
    type_name = "stop"
    status = models.CharField(max_length=10, choices=StopStatus.choices, default=StopStatus.SUCCEEDED)
    history = HistoricalRecords()


STEP_MODELS: dict[str, type[Step]] = {
    model.type_name: model for model in (ActionStep, BranchStep, DelayStep, LoopStep, StopStep)
}
