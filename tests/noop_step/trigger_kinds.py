"""A ``ticket`` trigger kind declared outside automations, the way a host adds one: one class with
its fields' JSON Schema and how an operator names it. Nothing in automations fires it: the host
starts the runs (``start_execution`` with a trigger of this type). The tests register it
(``trigger_kinds.register_temporarily``)."""
from __future__ import annotations

from automations.trigger_kinds import TriggerKind


class TicketTrigger(TriggerKind):
    type_name = "ticket"
    label = "A support ticket"
    description = "Starts a run when the help desk opens a ticket in the chosen queue."
    field_schemas = {
        "queue": {"enum": ["billing", "general"], "title": "Queue", "default": "billing"},
        "priority": {"type": "integer", "minimum": 1, "maximum": 5, "title": "Lowest priority",
                     "description": "Tickets of this priority or higher (1 is the highest)."},
    }
    required = ("queue",)
    card_summary = ("When a {queue} ticket is opened",)
    data = "given"
