"""``manage.py automations_tick``: one pass of everything due, for hosts that drive it from cron."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from automations.engine import tick


class Command(BaseCommand):
    help = "Wake due executions, resume ones whose worker died, re-dispatch lost events (one pass)."

    def handle(self, *args, **options) -> None:
        result = tick()
        self.stdout.write(f"scheduled {result.scheduled}, woken {result.woken}, recovered {result.recovered}, "
                          f"re-dispatched {result.redispatched}")
