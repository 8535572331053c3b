"""The definition's own JSON Schema (draft 2020-12): what clients, the builder and the OpenAPI
schema use to write a definition the server accepts.

It is built when asked for, from the registries (event types, actions and their published config
schemas, email templates, named secrets, settings), so it describes this installation. What it
cannot say, the server still checks on save: step keys unique in the whole definition, template
syntax and variables, and a condition's value fitting a documented field's type.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import available_timezones

from jsonschema import Draft202012Validator

from automations.durations import DURATION, SIGNED_DURATION
from automations.actions import registry
from automations.business_days import supported_countries
from automations.conditions import OPERATORS, UNARY
from automations.definition.trigger import CALENDAR_RULES, WEEKDAYS
from automations.messaging.validation import FREQUENCY_CAP_SCHEMA
from automations.status import Reentry
from automations.steps import step_types
from automations.steps.base import COMMON_FIELDS
from automations.trigger_kinds import ordered as ordered_trigger_kinds
from automations.variables import ROOTS
from billing_events.catalogue import event_type_names

Schema = dict[str, Any]

_ZERO = r"0+(?:[.,]0{1,6})?"
#: A duration of no time at all: an interval schedule refuses it (it would never move on).
#: An interval's start: an ISO 8601 date-time, with an offset or read in the schedule's timezone.
LOCAL_DATETIME = r"^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$"
ZERO_DURATION = rf"^(?:\s*0+\s*[smhdw]\s*|P(?:{_ZERO}D)?(?:T(?:{_ZERO}H)?(?:{_ZERO}M)?(?:{_ZERO}S)?)?)$"
FIELD_PATH = rf"^(?:{'|'.join(ROOTS)})(?:\.[\s\S]*)?$"
STEP_KEY = r"^[a-z0-9][a-z0-9_-]{0,99}$"
#: Text with a character that is not whitespace (as Python's ``str.strip`` counts whitespace).
NOT_BLANK = r"[^\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
TIME_OF_DAY = r"^(?:[01]\d|2[0-3]):[0-5]\d$"
# A 5-field cron expression with numbers in range (croniter checks the rest when it is saved).
_CRON_FIELD = r"(?:\*|{n}(?:-{n})?)(?:/[1-9]\d?)?(?:,(?:\*|{n}(?:-{n})?)(?:/[1-9]\d?)?)*"
CRON = "^" + " ".join(_CRON_FIELD.format(n=n) for n in (
    r"[1-5]?\d", r"(?:1?\d|2[0-3])", r"(?:[1-9]|[12]\d|3[01])", r"(?:[1-9]|1[0-2])", r"[0-6]")) + "$"


def _ref(name: str, prefix: str) -> Schema:
    return {"$ref": f"{prefix}{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: Schema, required: tuple[str, ...] = (), **extra: Any) -> Schema:
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": False, **extra}


@dataclass
class SchemaKit:
    """The parts a step type builds its schema from (``StepKind.schema_defs``)."""

    prefix: str
    step_key: Schema
    steps: Schema
    duration: Schema
    actions: list[tuple[Any, Schema | None]]
    field_path: str = FIELD_PATH
    not_blank: str = NOT_BLANK
    signed_duration: str = SIGNED_DURATION
    time_of_day: str = TIME_OF_DAY

    def ref(self, name: str) -> Schema:
        return _ref(name, self.prefix)

    @staticmethod
    def object(properties: Schema, required: tuple[str, ...] = (), **extra: Any) -> Schema:
        return _object(properties, required, **extra)

    @staticmethod
    def nullable(schema: Schema) -> Schema:
        return _nullable(schema)

    @staticmethod
    def accepts(schema: Schema, value: Any) -> bool:
        return Draft202012Validator(schema).is_valid(value)


def schema_kit(prefix: str = "#/$defs/") -> SchemaKit:
    """The parts step types and trigger kinds build their schemas from, references pointing at ``prefix`` + name."""
    step_key = {"type": ["string", "null"], "pattern": STEP_KEY,
                "description": "Unique within the whole definition; generated when left out (or null)."}
    steps = {"type": "array", "items": _ref("Step", prefix)}
    duration = {"type": "string", "pattern": DURATION}
    actions = [(action, action.published_schema()) for action in registry.all()]
    return SchemaKit(prefix, step_key, steps, duration, actions)


def definition_defs(prefix: str = "#/$defs/") -> dict[str, Schema]:
    """The schemas of a definition and its parts, by name; references point at ``prefix`` + name."""
    events = event_type_names()
    timezone = _nullable({"enum": sorted(available_timezones())})
    kit = schema_kit(prefix)
    steps, duration = kit.steps, kit.duration
    step_defs = {name: schema for step_type in step_types.all() for name, schema in step_type.schema_defs(kit).items()}
    trigger_defs = {name: schema for kind in ordered_trigger_kinds() for name, schema in kind.schema_defs(kit).items()}
    return {
        "Definition": {
            **_object({
                "name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": NOT_BLANK},
                "description": {"type": "string"},
                "trigger": _ref("Trigger", prefix),
                "conditions": _nullable(_ref("Condition", prefix)),
                "correlation_key": {"type": "string", "pattern": rf"^$|{FIELD_PATH}"},
                "reentry": {"enum": list(Reentry.values)},
                "exit_on": {"type": "array", "items": {"enum": events}},
                "retry": _nullable(_ref("Retry", prefix)),
                "timezone": {**timezone, "description": "The automation's timezone: send windows are read in it "
                                                        "when the customer has none."},
                "frequency_caps": {"type": "array", "items": _ref("FrequencyCap", prefix),
                                   "description": "Replaces AUTOMATIONS['FREQUENCY_CAPS'] for this automation's "
                                                  "messages; an empty list exempts them."},
                "steps": {**steps, "minItems": 1},
            }, ("name", "trigger", "steps"), title="Automation definition"),
            # Re-entry rules and exits need to know which executions are "the same".
            "allOf": [
                {"if": {"required": ["reentry"], "properties": {"reentry": {"enum": ["skip_if_running", "once"]}}},
                 "then": {"required": ["correlation_key"], "properties": {"correlation_key": {"minLength": 1}}}},
                {"if": {"required": ["exit_on"], "properties": {"exit_on": {"minItems": 1}}},
                 "then": {"required": ["correlation_key"], "properties": {"correlation_key": {"minLength": 1}}}},
                # ... and so does waiting for an event, in any lane of any step.
                {"if": {"required": ["steps"], "properties": {"steps": _ref("StepsWaitingForEvents", prefix)}},
                 "then": {"required": ["correlation_key"], "properties": {"correlation_key": {"minLength": 1}}}},
            ],
        },
        "Trigger": {"oneOf": [_ref(name, prefix) for name in trigger_defs]},
        **trigger_defs,
        "Schedule": {"oneOf": [
                _object({"kind": {"const": "interval"}, "every": {**duration, "not": {"pattern": ZERO_DURATION}}, "timezone": timezone,
                         "start": {"type": "string", "pattern": LOCAL_DATETIME,
                                   "description": "ISO 8601 date-time; a real date (checked on save)"}},
                        ("kind", "every")),
                _object({"kind": {"const": "cron"}, "expression": {"type": "string", "pattern": CRON},
                         "timezone": timezone}, ("kind", "expression")),
                {**_object({"kind": {"const": "calendar"}, "rule": {"enum": list(CALENDAR_RULES)},
                            "time": {"type": "string", "pattern": TIME_OF_DAY}, "timezone": timezone,
                            "day": {"type": "integer", "minimum": 1, "maximum": 31},
                            "n": {"enum": [1, 2, 3, 4, 5, -1]}, "weekday": {"enum": list(WEEKDAYS)},
                            "holidays": _ref("Holidays", prefix)},
                           ("kind", "rule")),
                 "allOf": [{"if": {"properties": {"rule": {"const": "day_of_month"}}}, "then": {"required": ["day"]}},
                           {"if": {"properties": {"rule": {"const": "nth_weekday_of_month"}}},
                            "then": {"required": ["n", "weekday"]}}]},
            ]},
        "Holidays": _holidays_schema(),
        "Condition": {"anyOf": [
            _object({"all": {"type": "array", "minItems": 1, "items": _ref("Condition", prefix)}}, ("all",)),
            _object({"any": {"type": "array", "minItems": 1, "items": _ref("Condition", prefix)}}, ("any",)),
            {**_object({"field": {"type": "string", "pattern": FIELD_PATH}, "operator": {"enum": list(OPERATORS)},
                        "value": {}}, ("field", "operator")),
             "allOf": [{"if": {"properties": {"operator": {"not": {"enum": list(UNARY)}}}},
                        "then": {"required": ["value"]}},
                       {"if": {"properties": {"operator": {"enum": ["in", "not_in"]}}},
                        "then": {"properties": {"value": {"type": "array"}}}}]},
        ], "description": "A condition tree; a value must fit the type of a documented field (checked on save)."},
        "FrequencyCap": {**FREQUENCY_CAP_SCHEMA, "properties": {
            **FREQUENCY_CAP_SCHEMA["properties"],
            "period": {**FREQUENCY_CAP_SCHEMA["properties"]["period"], "not": {"pattern": ZERO_DURATION}}}},
        "Retry": _object({"max_attempts": {"type": "integer", "minimum": 1, "maximum": 100},
                          "initial_interval": duration, "max_interval": duration,
                          "backoff_coefficient": {"type": "number", "minimum": 1, "maximum": 10}}),
        "Step": {"oneOf": [_ref(name, prefix) for name in step_defs]},
        "StepsWaitingForEvents": _steps_waiting_for_events(prefix),
        **step_defs,
    }


def _steps_waiting_for_events(prefix: str) -> Schema:
    """Steps of which one, or one in a lane of one (at any depth), is a ``wait_for`` step."""
    lanes = sorted({lane for step_type in step_types.all() for lane in step_type.lanes})
    return {"type": "array", "contains": {"anyOf": [
        {"required": ["type"], "properties": {"type": {"const": "wait_for"}}},
        *({"required": [lane], "properties": {lane: _ref("StepsWaitingForEvents", prefix)}} for lane in lanes)]},
        "description": "A list of steps that waits for an event somewhere: its definition needs a correlation_key."}


def _holidays_schema() -> Schema:
    """A holiday calendar: a country, and a subdivision only of those its country has (one
    alternative per country with subdivisions, so the pair is described, not only each part)."""
    subdivisions = supported_countries()
    without = sorted(country for country, names in subdivisions.items() if not names)
    return {"anyOf": [_object({"country": {"enum": without}}, ("country",)),
                      *(_object({"country": {"const": country}, "subdiv": {"enum": list(names)}}, ("country",))
                        for country, names in sorted(subdivisions.items()) if names)],
            "description": "Public holidays the business-day rules skip: an ISO 3166 country code and "
                           "optionally one of its subdivisions (DE with BY: Bavaria), as the holidays package "
                           "knows them."}


_COMBINATORS = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentRequired")


def _mentions(value: Any, names: set[str]) -> bool:
    """Whether a part of a schema requires or describes one of ``names`` (a step's lanes)."""
    if isinstance(value, dict):
        if set(value.get("required") or ()) & names or set(value.get("properties") or {}) & names:
            return True
        if isinstance(value.get("dependentRequired"), dict) and set(value["dependentRequired"]) & names:
            return True
        return any(_mentions(item, names) for item in value.values())
    if isinstance(value, list):
        return any(_mentions(item, names) for item in value)
    return False


def _own_fields(schema: Schema, lanes: tuple[str, ...]) -> Schema:
    """A step's schema without key, type, name and lanes: the fields its panel edits."""
    hidden = {*COMMON_FIELDS, *lanes}
    own = {word: value for word, value in schema.items()
           if not (word in _COMBINATORS and _mentions(value, set(lanes)))}
    if "properties" in schema:
        own["properties"] = {name: value for name, value in schema["properties"].items() if name not in hidden}
    if "required" in schema:
        own["required"] = [name for name in schema["required"] if name not in hidden]
    return own


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        reference = value.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            yield reference.removeprefix("#/$defs/")
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _document(schema: Schema, defs: dict[str, Schema]) -> Schema:
    """``schema`` as one JSON Schema document, with the definitions it refers to under ``$defs``."""
    needed: dict[str, Schema] = {}
    pending = list(_references(schema))
    while pending:
        name = pending.pop()
        if name not in needed and name in defs:
            needed[name] = defs[name]
            pending.extend(_references(defs[name]))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema,
            **({"$defs": dict(sorted(needed.items()))} if needed else {})}


def _one_of(variants: list[Schema]) -> Schema:
    return variants[0] if len(variants) == 1 else {"oneOf": variants}


def step_type_schemas() -> dict[str, Schema]:
    """Each step type's own fields as one JSON Schema document (draft 2020-12), by type name: its
    ``schema_defs`` without key, type, name and lanes (an action's: one variant per action), with
    the definitions it refers to (a condition, a retry policy) under ``$defs``. The step-type
    catalogue serves them; the builder draws a panel from one where it has no form of its own."""
    kit = schema_kit()
    defs = definition_defs()
    return {step_type.type_name: _document(_one_of([_own_fields(schema, step_type.lanes)
                                                    for schema in step_type.schema_defs(kit).values()]), defs)
            for step_type in step_types.all()}


def trigger_kind_schemas() -> dict[str, Schema]:
    """Each trigger kind's own fields as one JSON Schema document, by type name: its part of the
    definition schema's ``Trigger`` without ``type`` (an event's: one variant per kind of event),
    with the definitions it refers to (a schedule) under ``$defs``. The trigger-kind catalogue
    serves them; the builder draws a form from one where it has none of its own."""
    kit = schema_kit()
    defs = definition_defs()
    return {kind.type_name: _document(_one_of([_own_fields(schema, ()) for schema in kind.schema_defs(kit).values()]),
                                      defs)
            for kind in ordered_trigger_kinds()}


def definition_schema() -> Schema:
    """The definition's JSON Schema as one document (served at ``definition-schema/``)."""
    defs = definition_defs()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "definition.schema.json",
            **defs.pop("Definition"), "$defs": defs}
