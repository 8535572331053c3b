"""Where each scheduled automation stands: its next slot (indexed) and the last one it fired."""
from __future__ import annotations

from django.db import models


class ScheduleState(models.Model):
    automation = models.OneToOneField("automations.Automation", on_delete=models.CASCADE,
                                      related_name="schedule_state")
    next_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_slot_at = models.DateTimeField(null=True, blank=True)
    last_slot_key = models.CharField(max_length=40, blank=True)

    def __str__(self) -> str:
        return f"{self.automation} next {self.next_at}"
