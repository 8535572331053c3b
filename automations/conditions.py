"""Condition trees (entry conditions, branches): validation at save time, evaluation against current data.

A condition is ``{"all": [...]}`` or ``{"any": [...]}``, nestable, with leaves
``{"field": "invoice.amount_due", "operator": "greater_than", "value": 0}``. Money compares as
Decimal and dates as dates. A field that is missing counts as not set: ``is_not_set``,
``not_equals``, ``not_contains`` and ``not_in`` hold, every other operator does not.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from automations.variables import ROOTS, field_type

OPERATORS = (
    "equals", "not_equals", "greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal",
    "contains", "not_contains", "starts_with", "ends_with", "in", "not_in", "is_set", "is_not_set",
)
ORDERING = ("greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal")
UNARY = ("is_set", "is_not_set")
HOLDS_WHEN_MISSING = ("is_not_set", "not_equals", "not_contains", "not_in")


class Missing:
    """The value of a field that does not exist in the data."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = Missing()


class ConditionError(Exception):
    """A condition cannot be evaluated on this data (for example text compared with a number)."""


@dataclass
class Outcome:
    """Whether a condition held, and the leaf comparisons that decided it (for logs and test mode)."""

    passed: bool
    checks: list[dict[str, Any]] = field(default_factory=list)

    def explain(self) -> str:
        return "; ".join(
            f"{c['field']} {c['operator']}{'' if c['operator'] in UNARY else ' ' + repr(c['value'])}"
            f" (actual {c['actual']!r}) -> {'yes' if c['passed'] else 'no'}"
            for c in self.checks
        )


# --- validation -----------------------------------------------------------------------------


def validate(condition: Any, path: str, *, extra_roots: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Every problem in ``condition``, each as ``{"field": path..., "message": ...}``."""
    if not isinstance(condition, dict):
        return [{"field": path, "message": 'must be an object with "all" or "any"'}]
    groups = [key for key in ("all", "any") if key in condition]
    if "field" in condition or "operator" in condition:
        return _validate_leaf(condition, path, extra_roots)
    if len(groups) != 1 or len(condition) != 1:
        return [{"field": path, "message": 'must have exactly one of "all" or "any" (or be a field/operator leaf)'}]
    group = groups[0]
    items = condition[group]
    if not isinstance(items, list) or not items:
        return [{"field": f"{path}.{group}", "message": "must be a non-empty list of conditions"}]
    errors = []
    for index, item in enumerate(items):
        errors += validate(item, f"{path}.{group}[{index}]", extra_roots=extra_roots)
    return errors


def _validate_leaf(leaf: dict[str, Any], path: str, extra_roots: tuple[str, ...]) -> list[dict[str, str]]:
    errors = []
    unknown = set(leaf) - {"field", "operator", "value"}
    if unknown:
        errors.append({"field": path, "message": f"unknown keys: {', '.join(sorted(unknown))}"})
    name, operator = leaf.get("field"), leaf.get("operator")
    if not isinstance(name, str) or not name.strip():
        errors.append({"field": f"{path}.field", "message": "is required (a path such as invoice.amount_due)"})
    elif name.split(".")[0] not in (*ROOTS, *extra_roots):
        errors.append({"field": f"{path}.field",
                       "message": f"unknown variable {name.split('.')[0]!r}; use one of {', '.join((*ROOTS, *extra_roots))}"})
    if operator not in OPERATORS:
        errors.append({"field": f"{path}.operator",
                       "message": f"unknown operator {operator!r}; use one of {', '.join(OPERATORS)}"})
        return errors
    if operator in UNARY:
        return errors
    if "value" not in leaf:
        errors.append({"field": f"{path}.value", "message": f"is required for {operator}"})
        return errors
    value = leaf["value"]
    if operator in ("in", "not_in") and not isinstance(value, list):
        errors.append({"field": f"{path}.value", "message": f"must be a list for {operator}"})
        return errors
    if isinstance(name, str) and not errors:
        problem = _type_problem(name, operator, value)
        if problem:
            errors.append({"field": f"{path}.value", "message": problem})
    return errors


def _type_problem(name: str, operator: str, value: Any) -> str | None:
    """Why ``value`` cannot be compared with the documented field ``name``, when that is known now."""
    known = field_type(name)
    if known is None:
        return None
    kind, choices = known
    values = value if operator in ("in", "not_in") else [value]
    for item in values:
        if kind in ("money", "number") and operator not in ("contains", "not_contains"):
            if _as_decimal(item) is None:
                return f"{name} is a {kind}; {item!r} is not a number"
        elif kind in ("date", "datetime") and operator not in ("contains", "not_contains"):
            if _as_date(item) is None:
                return f"{name} is a {'date' if kind == 'date' else 'date-time'}; {item!r} is not an ISO 8601 date"
        elif kind == "enum" and operator in ("equals", "not_equals", "in", "not_in") and item not in choices:
            return f"{name} is one of {', '.join(map(str, choices))}; {item!r} never matches"
    if operator in ORDERING and kind in ("string", "enum", "list", "object"):
        return f"{operator} compares numbers and dates; {name} is a {kind if kind != 'enum' else 'status'}"
    if operator in ("starts_with", "ends_with") and kind not in ("string", "enum"):
        return f"{operator} needs text; {name} is a {kind}"
    return None


# --- evaluation -----------------------------------------------------------------------------


def evaluate(condition: dict[str, Any] | None, resolve: Callable[[str], Any]) -> Outcome:
    """Evaluate ``condition``; ``resolve(path)`` returns a field's current value or ``MISSING``."""
    outcome = Outcome(passed=True)
    if condition:
        outcome.passed = _evaluate(condition, resolve, outcome.checks)
    return outcome


def _evaluate(condition: dict[str, Any], resolve: Callable[[str], Any], checks: list) -> bool:
    if "all" in condition:
        return all(_evaluate(item, resolve, checks) for item in condition["all"])
    if "any" in condition:
        return any(_evaluate(item, resolve, checks) for item in condition["any"])
    name, operator, value = condition["field"], condition["operator"], condition.get("value")
    actual = resolve(name)
    try:
        passed = compare(actual, operator, value)
    except ConditionError as exc:
        raise ConditionError(f"{name} {operator} {value!r}: {exc}") from exc
    checks.append({"field": name, "operator": operator, "value": value,
                   "actual": None if actual is MISSING else _jsonable(actual), "passed": passed})
    return passed


def compare(actual: Any, operator: str, expected: Any) -> bool:
    """Apply one operator. Raises :class:`ConditionError` on values that cannot be compared."""
    if actual is MISSING or actual is None:
        if operator == "is_set":
            return False
        return operator in HOLDS_WHEN_MISSING
    if operator == "is_set":
        return not (actual == "" or actual == [] or actual == {})
    if operator == "is_not_set":
        return actual == "" or actual == [] or actual == {}
    if operator == "equals":
        return _equal(actual, expected)
    if operator == "not_equals":
        return not _equal(actual, expected)
    if operator in ORDERING:
        left, right = _comparable(actual, expected)
        return {
            "greater_than": left > right,
            "greater_than_or_equal": left >= right,
            "less_than": left < right,
            "less_than_or_equal": left <= right,
        }[operator]
    if operator in ("contains", "not_contains"):
        found = _contains(actual, expected)
        return found if operator == "contains" else not found
    if operator in ("starts_with", "ends_with"):
        if not isinstance(actual, str) or not isinstance(expected, str):
            raise ConditionError(f"{operator} needs text, got {type(actual).__name__}")
        return actual.startswith(expected) if operator == "starts_with" else actual.endswith(expected)
    if operator in ("in", "not_in"):
        if not isinstance(expected, list):
            raise ConditionError(f"{operator} needs a list of values")
        found = any(_equal(actual, item) for item in expected)
        return found if operator == "in" else not found
    raise ConditionError(f"unknown operator {operator!r}")


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float, str)):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return result if result.is_finite() else None
    return None


def _as_date(value: Any) -> date | datetime | None:
    if isinstance(value, (date, datetime)):
        return value
    if isinstance(value, str):
        if len(value) == 10:
            return parse_date(value)
        try:
            return parse_datetime(value)
        except ValueError:
            return None
    return None


def _comparable(actual: Any, expected: Any) -> tuple[Any, Any]:
    """Both sides as Decimals or both as dates, or a :class:`ConditionError`."""
    if isinstance(actual, (int, float, Decimal)) or isinstance(expected, (int, float, Decimal)):
        left, right = _as_decimal(actual), _as_decimal(expected)
        if left is None or right is None:
            raise ConditionError(f"cannot compare {actual!r} with {expected!r} as numbers")
        return left, right
    left_date, right_date = _as_date(actual), _as_date(expected)
    if left_date is not None and right_date is not None:
        return _align_dates(left_date, right_date)
    left, right = _as_decimal(actual), _as_decimal(expected)
    if left is not None and right is not None:
        return left, right
    raise ConditionError(f"cannot compare {actual!r} with {expected!r}: neither numbers nor dates")


def _align_dates(left: date | datetime, right: date | datetime) -> tuple[Any, Any]:
    if isinstance(left, datetime) != isinstance(right, datetime):
        # a day against a moment: compare days
        left = left.date() if isinstance(left, datetime) else left
        right = right.date() if isinstance(right, datetime) else right
        return left, right
    if isinstance(left, datetime):
        left = left if timezone.is_aware(left) else timezone.make_aware(left, dt_timezone.utc)
        right = right if timezone.is_aware(right) else timezone.make_aware(right, dt_timezone.utc)
    return left, right


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected or actual == expected
    if isinstance(actual, (int, float, Decimal)) or isinstance(expected, (int, float, Decimal)):
        left, right = _as_decimal(actual), _as_decimal(expected)
        return left is not None and right is not None and left == right
    if isinstance(actual, (date, datetime)) or isinstance(expected, (date, datetime)):
        left, right = _as_date(actual), _as_date(expected)
        if left is None or right is None:
            return False
        left, right = _align_dates(left, right)
        return left == right
    return actual == expected


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str):
        if not isinstance(expected, str):
            raise ConditionError(f"contains on text needs text, got {expected!r}")
        return expected in actual
    if isinstance(actual, (list, tuple)):
        return any(_equal(item, expected) for item in actual)
    if isinstance(actual, dict):
        if not isinstance(expected, str):
            raise ConditionError(f"contains on an object needs a key (text), got {expected!r}")
        return expected in actual
    raise ConditionError(f"contains needs text, a list or an object, got {type(actual).__name__}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
