"""When each periodic pass of the tick (a derived-event scan, pruning) runs next."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models


class DerivedScan(models.Model):
    name = models.CharField(max_length=50, primary_key=True)
    next_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_emitted = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} next {self.next_at}"

    @classmethod
    def claim(cls, name: str, now: datetime, interval: timedelta) -> bool:
        """Whether the pass ``name`` is due and this caller runs it: only the sweeper whose update
        moves ``next_at`` on does, however many sweep at once."""
        state, _ = cls.objects.get_or_create(name=name, defaults={"next_at": now})
        return state.next_at <= now and bool(cls.objects.filter(name=name, next_at=state.next_at).update(
            next_at=now + interval, last_run_at=now))
