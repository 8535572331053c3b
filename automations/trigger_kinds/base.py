"""What a trigger kind is: what starts a run (an event, a schedule, a hand), how a definition's
``trigger`` of that kind is written and checked, and how clients (the builder) name, show and edit
it: the trigger-kind catalogue, ``GET trigger-kinds/``. One module per kind; see "Trigger kinds"
in docs/developers/extending.md.
"""
from __future__ import annotations

import copy
from typing import Any, ClassVar

from jsonschema import Draft202012Validator

Schema = dict[str, Any]
Errors = list[dict[str, str]]

#: What the data a run starts with is, by kind: the event's data (its type's payload), what the
#: caller gives (Run now, ``POST run/``), or nothing (a loop's item brings data).
DATA_SOURCES = ("event", "given", "none")


def _words(name: str) -> str:
    text = name.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:] if text else name


class TriggerKind:
    """A kind of trigger. A subclass declares its ``type_name`` (the trigger's ``type`` in a
    definition) and its fields; everything else has a default, so a kind that declares no more is
    still offered, named, edited with a form drawn from its schema, and checked on save."""

    #: The trigger's ``type`` in a definition ("event").
    type_name: ClassVar[str] = ""
    #: Its fields besides ``type``, each with its JSON Schema (``{"note": {"type": "string"}}``);
    #: used by the default ``schema_defs`` and ``validate``.
    field_schemas: ClassVar[dict[str, Schema]] = {}
    #: The fields a trigger of the kind must have.
    required: ClassVar[tuple[str, ...]] = ()

    # How clients name and show the kind (see ``describe``).
    #: What an operator calls it ("A billing event"); by default its type name in words.
    label: ClassVar[str] = ""
    #: What it does, in a sentence: the trigger panel shows it under the choice.
    description: ClassVar[str] = ""
    #: The builder's icon for it (one of the step types' icon names); ``trigger`` is the generic one.
    icon: ClassVar[str] = "trigger"
    #: Where the catalogue (and the builder's choice) lists it: lower first, then as registered.
    order: ClassVar[int] = 100
    #: What a new trigger of the kind starts with besides its type and its schema's defaults.
    starts_with: ClassVar[dict[str, Any]] = {}
    #: How its card sums it up: templates over its fields (``"every {every}"``), the first whose
    #: fields are all set; by default its fields' values, or its label.
    card_summary: ClassVar[tuple[str, ...]] = ()
    #: The data a run starts with (one of ``DATA_SOURCES``).
    data: ClassVar[str] = "none"
    #: Roots the run adds besides that data, with their JSON Schema (a schedule's ``schedule.slot``).
    variables: ClassVar[dict[str, Schema]] = {}

    @classmethod
    def schema_defs(cls, kit: Any) -> dict[str, Schema]:
        """JSON Schemas of the trigger, by name, for the definition's schema (``kit``: its parts,
        as step types have them); by default one object of ``type`` and ``field_schemas``."""
        return {f"{cls.__name__}": cls.own_schema()}

    @classmethod
    def own_schema(cls) -> Schema:
        """The default schema of a whole trigger of the kind, ``type`` included."""
        return {"type": "object", "properties": {"type": {"const": cls.type_name}, **copy.deepcopy(cls.field_schemas)},
                "required": ["type", *cls.required], "additionalProperties": False}

    @classmethod
    def validate(cls, trigger: dict[str, Any]) -> Errors:
        """Problems with ``trigger`` (an object whose ``type`` is this kind), each naming its field;
        by default what ``own_schema`` refuses."""
        errors = []
        for error in sorted(Draft202012Validator(cls.own_schema()).iter_errors(trigger), key=lambda e: list(e.path)):
            if error.validator == "additionalProperties":
                errors += [{"field": f"trigger.{name}", "message": "is not a known field here"}
                           for name in sorted(set(trigger) - set(error.schema.get("properties", {})))]
                continue
            if error.validator == "required":
                missing = error.message.split("'")[1] if "'" in error.message else ""
                errors.append({"field": f"trigger.{missing}".rstrip("."), "message": "is required"})
                continue
            path = ".".join(str(part) for part in error.path)
            errors.append({"field": f"trigger.{path}" if path else "trigger", "message": error.message})
        return errors

    @classmethod
    def describe(cls, schema: Schema) -> dict[str, Any]:
        """The kind's entry in the trigger-kind catalogue (``GET trigger-kinds/``), ``schema`` being
        the JSON Schema of its own fields (``schema_defs`` without ``type``). What the kind does not
        declare is derived from its type name and that schema, as a step type's is."""
        variants = [schema] if "properties" in schema else schema.get("oneOf", [])
        properties = {name: field for variant in variants for name, field in (variant.get("properties") or {}).items()}
        label = cls.label or _words(cls.type_name)
        blank: dict[str, Any] = {"type": cls.type_name}
        blank.update({name: copy.deepcopy(field["default"]) for name, field in properties.items()
                      if isinstance(field, dict) and "default" in field})
        blank.update(copy.deepcopy(cls.starts_with))
        if cls.card_summary:
            summary = list(cls.card_summary)
        elif len(properties) == 1:
            summary = ["{%s}" % next(iter(properties))]
        elif properties:
            summary = [" · ".join(f"{(field or {}).get('title') or _words(name)}: {{{name}}}"
                                  for name, field in properties.items())]
        else:
            summary = [label]
        return {
            "type": cls.type_name,
            "label": label,
            "description": cls.description or str(schema.get("description", "")),
            "icon": cls.icon or "trigger",
            "blank": blank,
            "schema": schema,
            "summary": summary,
            "scope": {"data": cls.data, "variables": copy.deepcopy(cls.variables)},
        }
