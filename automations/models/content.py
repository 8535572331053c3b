"""Content operators edit: email templates, and the tasks automations create."""
from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords
from django.core.exceptions import ValidationError
from automations.templating import template_problem


class EmailTemplate(models.Model):
    """An email's subject and bodies, as Jinja templates rendered with the execution's variables."""
    key = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=500)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name or self.key

    def clean(self) -> None:
        errors = {}
        for field in ("subject", "body_text", "body_html"):
            problem = template_problem(getattr(self, field))
            if problem:
                errors[field] = problem
        if errors:
            raise ValidationError(errors)


class Task(models.Model):
    """A to-do for a person on the team, created by the ``create_task`` action."""
    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    assignee = models.CharField(max_length=200, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    due_at = models.DateTimeField(null=True, blank=True)
    customer_id = models.CharField(max_length=255, blank=True)
    invoice_id = models.CharField(max_length=255, blank=True)
    execution = models.ForeignKey("automations.Execution", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="tasks")
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["status", "due_at", "-created_at"]

    def __str__(self) -> str:
        return self.title
