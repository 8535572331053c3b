"""The items a loop runs over, kept apart from the cursor."""
from __future__ import annotations

from django.db import models


class LoopItems(models.Model):
    """A loop's items as they were when the loop was entered (for a collection: one refilled page).

    Written once and never changed: the loop's frame in the cursor keeps only this row's id, the
    item count and its position, so a step inside the loop stores the same few bytes however long
    the list is. The rows go with their execution (retention, or the automation's deletion)."""

    execution = models.ForeignKey("automations.Execution", on_delete=models.CASCADE, related_name="loop_items")
    step_key = models.CharField(max_length=100)
    loop_index = models.CharField(max_length=50, blank=True,
                                  help_text="Position in the enclosing loops when the loop was entered, e.g. 2")
    offset = models.PositiveIntegerField(default=0, help_text="Position of the first item in the loop (its page).")
    items = models.JSONField(default=list)

    class Meta:
        verbose_name_plural = "loop items"

    def __str__(self) -> str:
        return f"execution {self.execution_id}: items of {self.step_key} from {self.offset}"
