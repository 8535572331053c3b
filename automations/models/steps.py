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


class ReferenceKind(models.TextChoices):
    """What a step refers to outside its definition."""

    EMAIL_TEMPLATE = "email_template", "Email template"
    SECRET = "secret", "Secret"
    ORIGIN = "origin", "Outbound origin"


class StepReference(models.Model):
    """One thing a step of a version refers to: a stored email template it sends (by key), a named
    secret it references (``{{ secrets.NAME }}``), or the origin it calls (``https://host:443``).

    Written with the step rows on each save of a draft (and again at activation), so "which
    automations send this template / call this host" is a filtered query, not a scan of definitions.
    """

    version = models.ForeignKey("automations.AutomationVersion", on_delete=models.CASCADE,
                                related_name="references")
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="references")
    kind = models.CharField(max_length=20, choices=ReferenceKind.choices)
    #: The template's key, the secret's name, or the origin (``https://hooks.example.com:443``).
    value = models.CharField(max_length=300)
    #: For an origin, its host alone (``hooks.example.com``); empty otherwise.
    host = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["version", "step", "kind", "value"]
        constraints = [models.UniqueConstraint(fields=["step", "kind", "value"], name="step_reference_unique")]
        indexes = [models.Index(fields=["kind", "value"], name="step_reference_value_idx"),
                   models.Index(fields=["kind", "host"], name="step_reference_host_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"
