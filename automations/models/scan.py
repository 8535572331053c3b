"""When each derived-event scan runs next."""
from __future__ import annotations

from django.db import models


class DerivedScan(models.Model):
    name = models.CharField(max_length=50, primary_key=True)
    next_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_emitted = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} next {self.next_at}"
