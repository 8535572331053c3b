"""``manage.py automations_prune``: delete what is older than the retention period, in batches."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from automations import clock
from automations.conf import app_settings
from automations.retention import prune


class Command(BaseCommand):
    help = ("Delete finished executions with their step log, events no execution points to, old history rows "
            "and django-q2 results, older than AUTOMATIONS['RETENTION_DAYS'] (or --days).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=float, help="retention period in days (default: RETENTION_DAYS)")
        parser.add_argument("--batch", type=int, help="rows per delete (default: PRUNE_BATCH)")

    def handle(self, *args, **options) -> None:
        days = options["days"] if options["days"] is not None else app_settings.RETENTION_DAYS
        if days is None:
            raise CommandError("AUTOMATIONS['RETENTION_DAYS'] is None (keep everything): give --days to prune")
        if days < 0 or (options["batch"] is not None and options["batch"] < 1):
            raise CommandError("--days must be 0 or more and --batch at least 1")
        result = prune(clock.now(), days=days, batch=options["batch"])
        self.stdout.write(f"deleted: {result}")
