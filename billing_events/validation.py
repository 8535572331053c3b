"""JSON Schema validation of event payloads, with messages that name the field."""
from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from jsonschema import Draft202012Validator, FormatChecker

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
        elif error.validator == "enum":
            message = f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}"
        else:
            message = error.message
        errors.append({"field": ".".join(part for part in path if part), "message": message})
    return errors


def contains_nul(value: Any) -> bool:
    """Whether a NUL character hides anywhere in a JSON value (PostgreSQL text cannot hold one)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False
