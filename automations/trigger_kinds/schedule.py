"""The ``schedule`` trigger kind: a run starts at each slot of an interval, a cron expression or a
calendar rule; it brings no data (a loop's item does) but the slot's time, ``schedule.slot``."""
from __future__ import annotations

from typing import Any

from automations.definition.trigger import validate_schedule
from automations.trigger_kinds.base import Errors, Schema, TriggerKind
from automations.trigger_kinds.registry import register_trigger_kind


@register_trigger_kind
class ScheduleTrigger(TriggerKind):
    type_name = "schedule"
    label = "A schedule"
    description = "Starts a run at each time of a schedule: every so often, a cron expression or a calendar rule."
    icon = "delay"
    order = 20
    starts_with = {"schedule": {"kind": "cron", "expression": "0 9 * * 1", "timezone": "UTC"}}
    card_summary = ("On a schedule",)
    data = "none"
    variables = {"schedule": {"type": "object", "required": ["slot"], "additionalProperties": False,
                              "properties": {"slot": {"type": "string", "format": "date-time",
                                                      "description": "The time of the slot this run is for."}}}}

    @classmethod
    def schema_defs(cls, kit: Any) -> dict[str, Schema]:
        # The schedule itself is the definition schema's ``Schedule`` (the schedule preview's too).
        return {"ScheduleTrigger": kit.object({"type": {"const": "schedule"}, "schedule": kit.ref("Schedule")},
                                              ("type", "schedule"), title="schedule trigger")}

    @classmethod
    def validate(cls, trigger: dict[str, Any]) -> Errors:
        errors = [{"field": f"trigger.{key}", "message": "is not a known field here"}
                  for key in sorted(set(trigger) - {"type", "schedule"})]
        return errors + validate_schedule(trigger.get("schedule"), "trigger.schedule")
