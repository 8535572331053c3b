"""The quick schema check answers as jsonschema does, on every catalogue type and many payloads."""
from __future__ import annotations

import copy
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from billing_events.catalogue import EVENT_TYPES, EventType
from billing_events.quick_schema import compile_schema
from billing_events.validation import format_checker

ODD_VALUES = [
    None, True, False, 0, 1, -1, 1.0, 1.5, 10**13, -(10**13), Decimal("12.50"), float("nan"), "", "x", "12.50",
    "-0.5", "1e5", "12.123456", "USD", "usd", "open", "Open", "2026-11-30", "2026-13-45", "30/11/2026",
    "2026-11-20T10:00:00Z", "2026-11-20 10:00", "a@b.example", "not an email", [], ["a"], [1], [{}], {},
    {"description": "x", "quantity": 2, "amount": "1.00"}, [{"quantity": 1.5}], [{"quantity": True}],
    [{"amount": "lots"}], [{"quantity": 2.0}],
]


def payloads(event_type: EventType) -> Iterator[dict[str, Any]]:
    """The sample, then the sample with one field at a time changed, removed or odd."""
    sample = event_type.sample_data()
    yield sample
    for root, entity in event_type.schema["properties"].items():
        for odd in ODD_VALUES:
            yield {**sample, root: odd}
        yield {key: value for key, value in sample.items() if key != root}
        for name in [*entity.get("properties", {}), "unknown_field"]:
            base = sample.get(root) if isinstance(sample.get(root), dict) else {"id": "x"}
            for odd in ODD_VALUES:
                data = copy.deepcopy(sample)
                data[root] = {**base, name: odd}
                yield data
            yield {**sample, root: {key: value for key, value in base.items() if key != name}}


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_quick_check_agrees_with_jsonschema(name):
    event_type = EVENT_TYPES[name]
    quick = compile_schema(event_type.schema, format_checker)
    assert quick is not None, "the catalogue's own schemas are all handled"
    disagreements = [data for data in payloads(event_type) if quick(data) != event_type.validator.is_valid(data)]
    assert not disagreements, disagreements[:3]


@pytest.mark.parametrize("schema", [
    {"type": "object", "oneOf": [{"required": ["a"]}]},
    {"type": "object", "additionalProperties": False},
    {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"},
    {"type": "object", "properties": {"n": {"maximum": 3}}},
])
def test_a_schema_with_other_keywords_is_left_to_jsonschema(schema):
    assert compile_schema(schema, format_checker) is None
