"""Where a step of a version sits: the polymorphic base of every step type's model.

Each type's subclass (its fields and behaviour) lives in its module of ``automations.steps``.
Lanes (a branch's then/else, a loop's steps, an action's fallback) are the children of their owner
step, told apart by ``slot`` and ordered by ``position``.
"""
from __future__ import annotations

from django.db import models
from polymorphic.models import PolymorphicModel


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
