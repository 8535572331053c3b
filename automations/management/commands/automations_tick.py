"""``manage.py automations_tick``: one pass of everything due, for hosts that drive it from cron."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from automations.engine import tick


class Command(BaseCommand):
    help = "Hand due wake-ups and lost dispatches to the workers, resume runs whose worker died (one pass)."

    def handle(self, *args, **options) -> None:
        result = tick()
        self.stdout.write(f"scheduled {result.scheduled}, due {result.due}, recovered {result.recovered}")
