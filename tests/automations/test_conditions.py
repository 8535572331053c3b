"""Conditions: every operator, AND/OR nesting, missing fields, Decimal and date comparison."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from automations.conditions import MISSING, ConditionError, compare, evaluate, validate

DATA = {
    "invoice": {"amount_due": Decimal("1250.00"), "status": "open", "number": "INV-2026-0042",
                "due_date": date(2026, 11, 30), "issued_at": datetime(2026, 11, 16, 9, tzinfo=timezone.utc),
                "currency": "USD"},
    "customer": {"tags": ["annual", "vip"], "segment": "smb", "email": "billing@acme.example", "phone": "",
                 "metadata": {"plan": "pro"}},
}


def resolve(path: str):
    value = DATA
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def holds(field: str, operator: str, value=None) -> bool:
    return evaluate({"all": [{"field": field, "operator": operator, "value": value}]}, resolve).passed


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"),
    [
        ("invoice.status", "equals", "open", True),
        ("invoice.status", "equals", "paid", False),
        ("invoice.amount_due", "equals", 1250, True),
        ("invoice.amount_due", "equals", "1250.0", True),
        ("invoice.status", "not_equals", "paid", True),
        ("invoice.amount_due", "greater_than", 1000, True),
        ("invoice.amount_due", "greater_than", "1250.00", False),
        ("invoice.amount_due", "greater_than_or_equal", "1250", True),
        ("invoice.amount_due", "less_than", 1250.01, True),
        ("invoice.amount_due", "less_than_or_equal", 1249.99, False),
        ("invoice.due_date", "less_than", "2026-12-01", True),
        ("invoice.due_date", "greater_than", "2026-12-01", False),
        ("invoice.issued_at", "greater_than", "2026-11-16T08:00:00Z", True),
        ("invoice.issued_at", "less_than", "2026-11-16T10:00:00+02:00", False),
        ("invoice.issued_at", "equals", "2026-11-16", True),
        ("invoice.number", "contains", "2026", True),
        ("customer.tags", "contains", "vip", True),
        ("customer.tags", "not_contains", "vip", False),
        ("customer.metadata", "contains", "plan", True),
        ("invoice.number", "starts_with", "INV-", True),
        ("customer.email", "ends_with", "@acme.example", True),
        ("customer.segment", "in", ["smb", "mid"], True),
        ("customer.segment", "not_in", ["smb", "mid"], False),
        ("invoice.amount_due", "in", [100, 1250], True),
        ("customer.segment", "is_set", None, True),
        ("customer.phone", "is_set", None, False),
        ("customer.phone", "is_not_set", None, True),
    ],
)
def test_operator(field, operator, value, expected):
    assert holds(field, operator, value) is expected


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [("is_set", None, False), ("is_not_set", None, True), ("equals", "x", False), ("not_equals", "x", True),
     ("greater_than", 1, False), ("contains", "x", False), ("not_contains", "x", True), ("in", ["x"], False),
     ("not_in", ["x"], True), ("starts_with", "x", False)],
)
def test_missing_field_counts_as_not_set(operator, value, expected):
    assert holds("invoice.nothing_here", operator, value) is expected


def test_nested_and_or():
    condition = {"all": [
        {"field": "invoice.status", "operator": "equals", "value": "open"},
        {"any": [
            {"field": "invoice.amount_due", "operator": "greater_than", "value": 5000},
            {"all": [{"field": "customer.segment", "operator": "equals", "value": "smb"},
                     {"field": "customer.tags", "operator": "contains", "value": "vip"}]},
        ]},
    ]}
    outcome = evaluate(condition, resolve)
    assert outcome.passed
    assert [check["field"] for check in outcome.checks] == [
        "invoice.status", "invoice.amount_due", "customer.segment", "customer.tags"]
    condition["all"][1]["any"][1]["all"][1]["value"] = "churned"
    assert not evaluate(condition, resolve).passed


def test_no_condition_always_passes():
    assert evaluate(None, resolve).passed


@pytest.mark.parametrize(
    ("actual", "operator", "expected"),
    [("open", "greater_than", 5), ("abc", "less_than", "def"), (5, "starts_with", "5"), (5, "contains", "5"),
     ("text", "contains", 5), ({"plan": "pro"}, "contains", ["plan"])],
)
def test_type_mismatch_at_run_time_is_a_clear_error(actual, operator, expected):
    with pytest.raises(ConditionError):
        compare(actual, operator, expected)


def test_runtime_error_names_the_field():
    with pytest.raises(ConditionError, match="invoice.status greater_than 5"):
        evaluate({"all": [{"field": "invoice.status", "operator": "greater_than", "value": 5}]}, resolve)


@pytest.mark.parametrize(
    ("condition", "field", "message"),
    [
        ({"field": "invoice.amount_due", "operator": "greater_than", "value": "lots"},
         "if.value", "invoice.amount_due is a money; 'lots' is not a number"),
        ({"field": "invoice.due_date", "operator": "less_than", "value": "soon"}, "if.value", "not an ISO 8601 date"),
        ({"field": "invoice.status", "operator": "equals", "value": "opne"}, "if.value", "never matches"),
        ({"field": "invoice.status", "operator": "greater_than", "value": "open"}, "if.value", "compares numbers"),
        ({"field": "invoice.amount_due", "operator": "starts_with", "value": "1"}, "if.value", "needs text"),
        ({"field": "invoice.status", "operator": "bigger", "value": 1}, "if.operator", "unknown operator 'bigger'"),
        ({"field": "invoice.status", "operator": "equals"}, "if.value", "is required for equals"),
        ({"field": "invoice.status", "operator": "in", "value": "open"}, "if.value", "must be a list"),
        ({"field": "invoce.status", "operator": "is_set"}, "if.field", "unknown variable 'invoce'"),
        ({"operator": "is_set"}, "if.field", "is required"),
        ({"all": []}, "if.all", "non-empty list"),
        ({"all": [], "any": []}, "if", "exactly one of"),
        ("invoice.status == open", "if", "must be an object"),
    ],
)
def test_validation_catches_what_can_be_known_at_save_time(condition, field, message):
    errors = validate(condition, "if")
    assert any(e["field"] == field and message in e["message"] for e in errors), errors


def test_valid_condition_has_no_errors():
    assert validate({"any": [{"field": "invoice.amount_due", "operator": "greater_than", "value": 0},
                             {"field": "customer.tags", "operator": "contains", "value": "vip"},
                             {"field": "event.data.custom", "operator": "equals", "value": 3}]}, "conditions") == []
