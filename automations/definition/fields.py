"""The fields a run of a definition can read, from the event catalogue and the actions' output
schemas: whether a dotted path names one (else the nearest that does), and where along it a value
may be missing (an optional or nullable field, a free-form map's key, a root the trigger may not
bring), which a template must guard.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from automations.actions import registry as actions
from automations.status import TriggerType
from billing_events.catalogue import ENTITY_SCHEMAS, get_event_type, payload_schema

#: A schema whose inside is not checked (``now`` is a date-time, an output no schema describes).
ANYTHING: dict[str, Any] = {"x-anything": True}
#: A map of whatever keys the data has (``customer.metadata``): any key, each maybe missing.
FREE_FORM: dict[str, Any] = {"type": "object"}

_EVENT_FIELDS = {"type": {"type": "string"}, "id": {"type": ["string", "null"]},
                 "occurred_at": {"type": ["string", "null"]}}
_TRIGGER = {"type": "object", "required": ["type"], "additionalProperties": False, "properties": {
    "type": {"type": "string"}, "event_id": {"type": "string"}, "event_type": {"type": "string"},
    "occurred_at": {"type": "string"}, "slot": {"type": "string"}, "slot_key": {"type": "string"},
    "user": {"type": "string"}, "automation_name": {"type": "string"}, "version": {"type": "integer"}}}
_AUTOMATION = {"type": "object", "required": ["id", "name", "version"], "additionalProperties": False,
               "properties": {"id": {}, "name": {"type": "string"}, "version": {}}}
_EXECUTION = {"type": "object", "required": ["id", "started_at"], "additionalProperties": False,
              "properties": {"id": {}, "started_at": {}}}
#: What a step reads of a failed step it follows (its fallback, or ``on_failure: continue``).
FAILURE_OUTPUT = ("status", "error")
#: What a step reads of a message a frequency cap skipped (``automations.messaging.gate``).
SKIPPED_OUTPUT = ("skipped", "reason")


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    """An entity as a run reads it: its documented fields are the contract, a typo is not a field."""
    return {**schema, "additionalProperties": False}


@dataclass(frozen=True)
class Lookup:
    """What a dotted path names: ``error`` when it is not a field (with the nearest one), else the
    prefixes of the path whose value may be missing (``customer.metadata.plan``)."""
    error: str | None = None
    optional: tuple[tuple[str, str], ...] = ()  # (prefix, why it may be missing)


@dataclass
class RunFields:
    """The schema of every root a step of one definition can read."""
    roots: dict[str, dict[str, Any]]
    optional_roots: dict[str, str] = field(default_factory=dict)  # root: why a run may not have it

    def lookup(self, path: str, loop_vars: frozenset[str] = frozenset()) -> Lookup:
        root, *parts = path.split(".")
        if root in loop_vars or root not in self.roots:
            return Lookup()  # a loop item, a secret, or an unknown root (validation names it)
        schema = self.roots[root]
        optional = [(root, self.optional_roots[root])] if root in self.optional_roots else []
        walked = root
        for part in parts:
            if schema.get("x-anything"):
                break
            child, why, problem = _child(schema, part, walked)
            if problem:
                return Lookup(error=problem)
            walked = f"{walked}.{part}"
            if why:
                optional.append((walked, why))
            schema = child
        return Lookup(optional=tuple(optional))


def _nullable(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    return isinstance(kinds, list) and "null" in kinds


def _is_value(schema: dict[str, Any]) -> bool:
    """A string, a number, a choice: no fields inside."""
    kinds = schema.get("type")
    kinds = [kind for kind in (kinds if isinstance(kinds, list) else [kinds]) if kind and kind != "null"]
    return "enum" in schema or bool(kinds) and kinds[0] in ("string", "number", "integer", "boolean")


def _child(schema: dict[str, Any], part: str, walked: str) -> tuple[dict[str, Any], str, str | None]:
    """``(schema of walked.part, why it may be missing or "", error)``."""
    properties = schema.get("properties")
    if schema.get("type") == "array" or (isinstance(schema.get("type"), list) and "array" in schema["type"]):
        if part.lstrip("-").isdigit():
            return schema.get("items") or ANYTHING, f"{walked} may be shorter", None
        return {}, "", f"{walked}.{part}: {walked} is a list; it has no field {part}"
    if properties is None:
        if _is_value(schema):
            return {}, "", f"{walked}.{part}: {walked} is a value; it has no field {part}"
        return FREE_FORM, f"{walked} holds whatever keys the data has", None
    if part in properties:
        child = properties[part] or ANYTHING
        if part not in schema.get("required", []):
            return child, "an optional field", None
        return child, "it may be null" if _nullable(child) else "", None
    if schema.get("additionalProperties", True) is not False:
        return FREE_FORM, f"{walked} holds whatever keys the data has", None
    nearest = difflib.get_close_matches(part, list(properties), n=1, cutoff=0.6)
    hint = f"; did you mean {nearest[0]}?" if nearest else f"; its fields are {', '.join(sorted(properties))}"
    return {}, False, f"{walked}.{part}: {walked} has no field {part}{hint}"


def _event_data(trigger: dict[str, Any]) -> dict[str, Any]:
    event_type = get_event_type(str(trigger.get("event", ""))) if trigger.get("type") == TriggerType.EVENT else None
    if event_type is None:
        return FREE_FORM  # a manual run's data is what its caller sends
    schema = event_type.schema
    properties = {name: _closed(payload_schema(ENTITY_SCHEMAS[name])) if name in ENTITY_SCHEMAS else value
                  for name, value in schema["properties"].items()}
    return {**schema, "properties": properties}


def _output_schema(step: dict[str, Any]) -> dict[str, Any]:
    if step.get("type") != "action":
        return ANYTHING  # a branch's, a wait's or an approval's output: not described by a schema
    action = actions.get(str(step.get("action")))
    schema = getattr(action, "output_schema", None) or {}
    properties = schema.get("properties")
    if not properties:
        return ANYTHING
    required = list(properties)
    properties = {**properties, **{name: {"type": "string"} for name in FAILURE_OUTPUT if name not in properties}}
    if getattr(action, "channel", None):  # a message a frequency cap skipped says so instead
        properties = {**properties, **{name: {"type": "string"} for name in SKIPPED_OUTPUT if name not in properties}}
    return {"type": "object", "properties": properties, "required": [*required, *FAILURE_OUTPUT],
            "additionalProperties": False}


def run_fields(definition: dict[str, Any], steps: list[dict[str, Any]]) -> RunFields:
    """The fields a step of ``definition`` can read; ``steps`` are all its steps (any depth)."""
    trigger = definition.get("trigger") if isinstance(definition.get("trigger"), dict) else {}
    roots: dict[str, dict[str, Any]] = {name: _closed(schema) for name, schema in ENTITY_SCHEMAS.items()}
    optional_roots: dict[str, str] = {}
    event_type = get_event_type(str(trigger.get("event", ""))) if trigger.get("type") == TriggerType.EVENT else None
    if event_type is not None:
        optional_roots.update((root, f"the {event_type.name} event does not always bring one")
                              for root in ENTITY_SCHEMAS if root not in event_type.requires)
    elif trigger.get("type") == TriggerType.SCHEDULE:  # a schedule brings no data: a loop's item does
        optional_roots.update((root, f"a scheduled run has no {root} outside a loop over {root}s")
                              for root in ENTITY_SCHEMAS)
    roots["event"] = {"type": "object", "required": [*_EVENT_FIELDS, "data"], "additionalProperties": False,
                      "properties": {**_EVENT_FIELDS, "data": _event_data(trigger)}}
    roots["trigger"] = _TRIGGER
    roots["automation"] = _AUTOMATION
    roots["execution"] = _EXECUTION
    roots["now"] = ANYTHING
    roots["schedule"] = {"type": "object", "required": ["slot"], "additionalProperties": False,
                         "properties": {"slot": {"type": "string"}}}
    if trigger.get("type") != TriggerType.SCHEDULE:
        optional_roots["schedule"] = "only a scheduled run has one"
    outputs = {step["key"]: {"type": "object", "required": ["output"], "additionalProperties": False,
                             "properties": {"output": _output_schema(step)}} for step in steps}
    roots["steps"] = {"type": "object", "properties": outputs, "required": list(outputs),
                      "additionalProperties": False}
    return RunFields(roots=roots, optional_roots=optional_roots)
