"""A quick yes/no check of a value against a JSON Schema written with the plain keywords the
catalogue uses, compiled once into nested Python functions.

Why: jsonschema builds a validator object for every subschema it descends into, which made schema
validation the largest CPU cost of ``emit()``. Valid payloads are the common case, so they are
answered here; a payload this check refuses goes on to jsonschema, which stays the one validator
that decides and explains. A schema using any keyword not handled below compiles to None, and
then jsonschema does all the work, so this check can make validation faster but never different.
Each keyword follows jsonschema's own definition (Draft 2020-12): ``tests/billing_events/
test_quick_schema.py`` holds them side by side on many payloads.
"""
from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from typing import Any

from jsonschema import FormatChecker

Check = Callable[[Any], bool]

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
#: Keywords that only describe and never refuse.
ANNOTATIONS = frozenset({"title", "description", "$comment", "examples", "default"})

TYPES: dict[str, Check] = {
    "string": lambda value: isinstance(value, str),
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "null": lambda value: value is None,
    "boolean": lambda value: isinstance(value, bool),
    # bool is an int in Python but not a number in JSON Schema; 1.0 is an integer (Draft 6 on)
    "number": lambda value: isinstance(value, numbers.Number) and not isinstance(value, bool),
    "integer": lambda value: not isinstance(value, bool) and (
        isinstance(value, int) or (isinstance(value, float) and value.is_integer())),
}


class Unsupported(Exception):
    """The schema uses something this check does not handle: leave it all to jsonschema."""


def compile_schema(schema: dict[str, Any], format_checker: FormatChecker) -> Check | None:
    """A function telling whether a value is valid against ``schema``, or None if unsupported."""
    if schema.get("$schema", DRAFT_2020_12) != DRAFT_2020_12:
        return None
    try:
        return _compile({key: value for key, value in schema.items() if key != "$schema"}, format_checker)
    except Unsupported:
        return None


def _compile(schema: Any, format_checker: FormatChecker) -> Check:
    if schema is True:
        return lambda value: True
    if not isinstance(schema, dict):
        raise Unsupported(schema)
    checks = [_keyword(name, argument, schema, format_checker)
              for name, argument in schema.items() if name not in ANNOTATIONS]
    checks = [check for check in checks if check is not None]
    return lambda value: all(check(value) for check in checks)


def _keyword(name: str, argument: Any, schema: dict[str, Any], format_checker: FormatChecker) -> Check | None:
    """The check of one keyword; None for one that never refuses."""
    is_number = TYPES["number"]
    if name == "type":
        names = [argument] if isinstance(argument, str) else argument
        if not isinstance(names, list) or any(type_name not in TYPES for type_name in names):
            raise Unsupported(name)
        types = [TYPES[type_name] for type_name in names]
        return lambda value: any(is_type(value) for is_type in types)
    if name == "properties":
        properties = {key: _compile(sub, format_checker) for key, sub in argument.items()}
        return lambda value: not isinstance(value, dict) or all(
            check(value[key]) for key, check in properties.items() if key in value)
    if name == "required":
        return lambda value: not isinstance(value, dict) or all(key in value for key in argument)
    if name == "additionalProperties" and argument is True:
        return None
    if name == "items" and "prefixItems" not in schema:
        item = _compile(argument, format_checker)
        return lambda value: not isinstance(value, list) or all(item(element) for element in value)
    if name == "enum" and all(isinstance(choice, str) for choice in argument):
        choices = frozenset(argument)
        return lambda value: isinstance(value, str) and value in choices
    if name == "pattern":
        regex = re.compile(argument)
        return lambda value: not isinstance(value, str) or regex.search(value) is not None
    if name == "minLength":
        return lambda value: not isinstance(value, str) or len(value) >= argument
    if name == "format":
        return lambda value: format_checker.conforms(value, argument)
    if name == "minimum":
        return lambda value: not is_number(value) or not value < argument
    if name == "exclusiveMinimum":
        return lambda value: not is_number(value) or not value <= argument
    if name == "exclusiveMaximum":
        return lambda value: not is_number(value) or not value >= argument
    raise Unsupported(name)
