"""``manage.py emit_event TYPE (--sample | --data JSON) [--id ID]``: emit any catalogue event."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing_events import emit
from billing_events.catalogue import event_type_names, get_event_type
from billing_events.errors import Refused


class Command(BaseCommand):
    help = "Emit a billing event, as the host billing system would."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("type", help=f"one of: {', '.join(event_type_names())}")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--sample", action="store_true", help="use the catalogue's sample payload")
        source.add_argument("--data", help="the event's data as a JSON object")
        parser.add_argument("--id", dest="event_id", help="event id (idempotency key); generated if omitted")
        parser.add_argument("--occurred-at", help="ISO 8601 time the event happened (default: now)")

    def handle(self, *args, **options) -> None:
        event_type = get_event_type(options["type"])
        if event_type is None:
            raise CommandError(f"unknown event type {options['type']!r}; known: {', '.join(event_type_names())}")
        if options["sample"]:
            data = event_type.sample_data()
        else:
            try:
                data = json.loads(options["data"])
            except json.JSONDecodeError as exc:
                raise CommandError(f"--data is not valid JSON: {exc}") from exc
        try:
            event = emit(event_type.name, data, id=options["event_id"], occurred_at=options["occurred_at"])
        except Refused as exc:
            raise CommandError(str(exc)) from exc
        verb = "Emitted" if event.created else "Already received"
        self.stdout.write(f"{verb} {event.type} {event.id}")
