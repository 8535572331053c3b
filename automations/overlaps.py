"""Automations that start on the same billing event: a customer who meets the entry conditions of
both gets both runs (two dunning series, two welcome emails). Not an error — one may be meant for
another segment — but worth a check where an operator edits or activates one."""
from __future__ import annotations

from typing import Any

from automations.models import Automation
from automations.status import TriggerType


def same_event_warnings(definition: dict[str, Any], automation_id: int | None = None) -> list[dict[str, str]]:
    """A warning at ``trigger.event`` for each other live (active or paused) automation that starts
    on the event ``definition`` starts on."""
    trigger = definition.get("trigger")
    if not isinstance(trigger, dict) or trigger.get("type") != TriggerType.EVENT or not trigger.get("event"):
        return []
    others = (Automation.objects.filter(trigger_event=str(trigger["event"]), active_version__isnull=False)
              .exclude(pk=automation_id).order_by("name", "pk"))
    return [{"field": "trigger.event",
             "message": f"“{other.name}” ({other.status}) also starts on every {trigger['event']} event: a "
                        f"customer who meets the entry conditions of both gets both runs. Entry conditions "
                        f"that exclude each other keep them apart."} for other in others]
