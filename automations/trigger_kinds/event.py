"""The ``event`` trigger kind: a run starts when a billing event of the chosen type arrives, and
reads the event's data. Two event types take a parameter of their own (``TRIGGER_PARAMETERS``)."""
from __future__ import annotations

from typing import Any

from automations.definition.trigger import TRIGGER_PARAMETERS
from automations.trigger_kinds.base import Errors, Schema, TriggerKind
from automations.trigger_kinds.registry import register_trigger_kind
from billing_events.catalogue import event_type_names, get_event_type


@register_trigger_kind
class EventTrigger(TriggerKind):
    type_name = "event"
    label = "A billing event"
    description = "Starts a run when a billing event of the chosen type arrives; the run reads the event's data."
    icon = "trigger"
    order = 10
    starts_with = {"event": "payment.failed"}
    card_summary = ("When {event} happens",)
    data = "event"

    @classmethod
    def schema_defs(cls, kit: Any) -> dict[str, Schema]:
        plain_events = [event for event in event_type_names() if event not in TRIGGER_PARAMETERS]
        return {
            "EventTrigger": kit.object({"type": {"const": "event"}, "event": {"enum": plain_events}},
                                       ("type", "event"), title="event trigger"),
            "EndingSoonTrigger": kit.object({
                "type": {"const": "event"}, "event": {"const": "subscription.ending_soon"},
                "days_before": {"type": "integer", "minimum": 0, "maximum": 366}}, ("type", "event"),
                title="subscription.ending_soon trigger"),
            "UsageThresholdTrigger": kit.object({
                "type": {"const": "event"}, "event": {"const": "usage.threshold_exceeded"},
                "threshold_percent": {"type": "number", "exclusiveMinimum": 0}}, ("type", "event"),
                title="usage.threshold_exceeded trigger"),
        }

    @classmethod
    def validate(cls, trigger: dict[str, Any]) -> Errors:
        event = trigger.get("event")
        if event is None or event == "":
            # Not chosen yet (a blank automation in the builder): say what to do, not "unknown None".
            return [{"field": "trigger", "message": "Choose what starts this automation"}]
        if not isinstance(event, str) or get_event_type(event) is None:
            return [{"field": "trigger.event",
                     "message": f"unknown event type {event!r}; known types: {', '.join(event_type_names())}"}]
        parameter = TRIGGER_PARAMETERS.get(event)
        errors = _unknown_keys(trigger, {"type", "event", *([parameter] if parameter else [])})
        if parameter == "days_before" and "days_before" in trigger:
            value = trigger["days_before"]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 366:
                errors.append({"field": "trigger.days_before", "message": "must be a whole number of days from 0 to 366"})
        if parameter == "threshold_percent" and "threshold_percent" in trigger:
            value = trigger["threshold_percent"]
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                errors.append({"field": "trigger.threshold_percent", "message": "must be a positive number"})
        return errors


def _unknown_keys(trigger: dict[str, Any], allowed: set[str]) -> Errors:
    return [{"field": f"trigger.{key}", "message": "is not a known field here"} for key in sorted(set(trigger) - allowed)]
