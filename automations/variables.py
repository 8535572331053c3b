"""The variable roots a definition may use, and the known type of each documented field."""
from __future__ import annotations

from typing import Any

from billing_events.catalogue import ENTITY_ROOTS, ENTITY_SCHEMAS

#: Roots read through the billing gateway (fresh at each step), falling back to the event snapshot.
ENTITY_VARIABLES = ENTITY_ROOTS
#: Roots the engine fills itself.
CONTEXT_VARIABLES = ("event", "automation", "execution", "steps", "schedule", "trigger", "now")
ROOTS = (*ENTITY_VARIABLES, *CONTEXT_VARIABLES)


def field_type(path: str) -> tuple[str, list[Any] | None] | None:
    """``("money"|"number"|"date"|"datetime"|"string"|"list"|"object"|"enum", enum values)`` of a
    documented field such as ``invoice.amount_due``, or None when the type cannot be known."""
    root, _, name = path.partition(".")
    schema = ENTITY_SCHEMAS.get(root, {}).get("properties", {}).get(name)
    if schema is None or "." in name:
        return None
    if "enum" in schema:
        return "enum", list(schema["enum"])
    fmt = schema.get("format")
    if fmt == "money":
        return "money", None
    if fmt == "date":
        return "date", None
    if fmt == "date-time":
        return "datetime", None
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    for json_type, name_ in (("integer", "number"), ("number", "number"), ("array", "list"),
                             ("object", "object"), ("string", "string")):
        if json_type in kinds:
            return name_, None
    return None
