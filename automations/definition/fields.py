"""The fields a run of a definition can read, from the event catalogue and the actions' output
schemas: whether a dotted path names one (else the nearest that does), and where along it a value
may be missing (an optional or nullable field, a free-form map's key, a root the trigger may not
bring), which a template must guard.
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from automations.actions import registry as actions
from automations.conf import app_settings
from automations.messaging.caps import SKIP, caps_for
from automations.status import TriggerType
from automations.trigger_kinds import trigger_kinds
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


class Outcome(str, Enum):
    """What a step reading ``steps.<key>.output`` knows of how that step ended."""
    SUCCEEDED = "succeeded"  # the run goes on only when it succeeds
    EITHER = "either"  # it may have failed and the run went on (``on_failure: continue``)
    FAILED = "failed"  # in its fallback lane


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
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # every step by key (any depth)
    skipping_channels: frozenset[str] = frozenset()  # channels a frequency cap may skip a message of

    def lookup(self, path: str, loop_vars: frozenset[str] = frozenset(),
               reached: Mapping[str, Outcome] | None = None) -> Lookup:
        """What ``path`` names, read by a step that ``reached`` steps surely come before (with
        what is known of how each ended); None reads every step's output as surely there."""
        root, *parts = path.split(".")
        if root in loop_vars or root not in self.roots:
            return Lookup()  # a loop item, a secret, or an unknown root (validation names it)
        schema = self.roots[root]
        optional = [(root, self.optional_roots[root])] if root in self.optional_roots else []
        walked = root
        if root == "steps" and parts and parts[0] in self.steps:
            key, *parts = parts
            walked = f"steps.{key}"
            outcome = Outcome.SUCCEEDED if reached is None else reached.get(key)
            if outcome is None:
                optional.append((walked, f"step {key} does not always run before this step"))
            schema = {"type": "object", "required": ["output"], "additionalProperties": False,
                      "properties": {"output": self.output_schema(key, outcome or Outcome.EITHER)}}
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

    def reports_status(self, key: str) -> bool:
        """Whether step ``key``'s own output (a success's) has a ``status``."""
        return "status" in self._listed(key)

    def _action(self, key: str) -> Any:
        """The action step ``key`` runs (None: not an action step, or an unknown action)."""
        step = self.steps[key]
        return actions.get(str(step.get("action"))) if step.get("type") == "action" else None

    def _listed(self, key: str) -> list[str]:
        """The fields the action of step ``key`` returns (none: not an action, or not described)."""
        return list(((getattr(self._action(key), "output_schema", None) or {}).get("properties") or {}))

    def output_schema(self, key: str, outcome: Outcome) -> dict[str, Any]:
        """``steps.<key>.output`` as a step that knows ``outcome`` of it reads it: what the action
        returns is there when it succeeded, its status and error when it failed; a field that
        depends on how it ended may be missing, and says why."""
        listed = self._listed(key)
        if not listed:
            return ANYTHING  # a branch's, a wait's or an approval's output: not described by a schema
        skippable = getattr(self._action(key), "channel", None) in self.skipping_channels
        properties: dict[str, Any] = {name: ANYTHING for name in listed}
        required: list[str] = []
        for name in FAILURE_OUTPUT:
            if name not in properties:
                properties[name] = {"type": "string", "x-missing": f"only a failed step {key} has one"}
        if skippable:
            for name in SKIPPED_OUTPUT:
                properties.setdefault(name, {"type": "string", "x-missing": f"only a skipped message {key} has one"})
        if outcome is Outcome.FAILED:
            required = list(FAILURE_OUTPUT)
            missing = f"step {key} failed: only what it said before failing is there"
        elif outcome is Outcome.EITHER:
            required = ["status"] if "status" in listed and not skippable else []
            missing = f"step {key} may have failed and the run went on"
        else:
            required = [] if skippable else listed
            missing = f"a frequency cap may skip message {key}"
        for name in listed:
            if name not in required:
                properties[name] = {**properties[name], "x-missing": missing}
        return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


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
            return child, child.get("x-missing", "an optional field"), None
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
    for kind in trigger_kinds.all():  # what a kind adds (a schedule's slot), there only in its runs
        roots.update(kind.variables)
        if trigger.get("type") != kind.type_name:
            optional_roots.update((root, f"only a run started by {kind.label[:1].lower()}{kind.label[1:]} has one") for root in kind.variables)
    roots["steps"] = {"type": "object", "properties": {}, "additionalProperties": False}
    return RunFields(roots=roots, optional_roots=optional_roots, steps={step["key"]: step for step in steps},
                     skipping_channels=_skipping_channels(definition))


def _skipping_channels(definition: dict[str, Any]) -> frozenset[str]:
    """The channels whose messages a frequency cap of the run may skip (not merely delay)."""
    try:
        caps = caps_for(definition, app_settings.FREQUENCY_CAPS)
    except (KeyError, TypeError, ValueError, AttributeError):
        return frozenset()  # half-made caps in a definition being edited: validation reports them
    return frozenset().union(*(cap.channels for cap in caps if cap.on_cap == SKIP))
