"""Validation of JSON input: event payloads against their schemas (messages that name the field),
and limits on nesting and size that are safe to check on any input."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from jsonschema import Draft202012Validator, FormatChecker

from billing_events.conf import app_settings
from billing_events.errors import InvalidInput

format_checker = FormatChecker(formats=["email"])


@format_checker.checks("date", raises=(ValueError, TypeError))
def _is_date(value: object) -> bool:
    return not isinstance(value, str) or parse_date(value) is not None


@format_checker.checks("date-time", raises=(ValueError, TypeError))
def _is_datetime(value: object) -> bool:
    return not isinstance(value, str) or parse_datetime(value) is not None


def validator_for(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=format_checker)


def schema_errors(schema: dict[str, Any] | Draft202012Validator, instance: Any, prefix: str) -> list[dict[str, str]]:
    """Every way ``instance`` breaks ``schema`` (or a prepared validator), each as
    ``{"field", "message"}`` under ``prefix``."""
    validator = schema if isinstance(schema, Draft202012Validator) else validator_for(schema)
    errors = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        path = [prefix, *(str(part) for part in error.absolute_path)]
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path.append(missing)
            message = "is required"
        elif error.validator == "format":
            message = f"{error.instance!r} is not a valid {error.validator_value}"
        elif error.validator == "minLength":
            size = error.validator_value
            message = "must not be empty" if size == 1 else f"must be at least {size} characters long"
        elif error.validator == "pattern" and error.schema.get("title"):
            message = f"{error.instance!r} is not {error.schema['title']}"
        elif error.validator == "enum":
            message = f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}"
        else:
            message = error.message
        errors.append({"field": ".".join(part for part in path if part), "message": message})
    return errors


def _walk(value: Any) -> Iterator[tuple[Any, int]]:
    """Every value inside a parsed JSON value (dict keys included) with its nesting depth, the
    top level being 0. Iterative, so no depth of nesting can exhaust Python's stack."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        yield item, depth
        if isinstance(item, dict):
            stack.extend((part, depth + 1) for pair in item.items() for part in pair)
        elif isinstance(item, (list, tuple)):
            stack.extend((part, depth + 1) for part in item)


def contains_nul(value: Any) -> bool:
    """Whether a NUL character hides anywhere in a JSON value (PostgreSQL text cannot hold one)."""
    return any(isinstance(item, str) and "\x00" in item for item, _ in _walk(value))


def check_json(value: Any, field: str, *, max_depth: int | None = None, max_bytes: int | None = None,
               nul_free: bool = False) -> None:
    """Raise :class:`InvalidInput` naming ``field`` when a parsed JSON value nests more than
    ``max_depth`` levels of objects and arrays (default ``BILLING_EVENTS["JSON_MAX_DEPTH"]``) or
    takes more than ``max_bytes`` as compact JSON (no limit when None), or, with ``nul_free``,
    holds a NUL character (the check of :func:`contains_nul`, in the same walk). Call it before
    anything recursive (schema validation, serialisation) touches the value: it is iterative and
    stops at the first excess."""
    depth_limit = app_settings.JSON_MAX_DEPTH if max_depth is None else max_depth
    size = 0
    # The walk of _walk() written out inline: it runs on every event emitted, and a generator
    # per value made it cost as much as storing the event.
    stack = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        if isinstance(item, str):
            size += (len(item) if item.isascii() else len(item.encode("utf-8", "surrogatepass"))) + 2
            if nul_free and "\x00" in item:
                raise InvalidInput("text must not contain NUL characters", field=field)
        elif isinstance(item, (dict, list, tuple)):
            if depth >= depth_limit:
                raise InvalidInput(f"nests more than {depth_limit} levels of objects and arrays", field=field)
            size += 1 + max(len(item), 1)  # brackets, commas and colons
            for part in (part for pair in item.items() for part in pair) if isinstance(item, dict) else item:
                push((part, depth + 1))
        else:
            size += len(str(item)) if isinstance(item, (int, float)) else 5
        if max_bytes is not None and size > max_bytes:
            raise InvalidInput(f"is larger than {max_bytes:,} bytes as JSON", field=field)
