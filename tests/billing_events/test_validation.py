"""Limits on JSON input: nesting and size are refused with a message naming the field, whatever the
depth (never a RecursionError or a 500), before a payload is stored or a definition validated."""
from __future__ import annotations

import json

import pytest

from automations import services
from automations.models import Automation
from billing_events import emit
from billing_events.errors import InvalidInput
from billing_events.models import Event
from billing_events.validation import check_json, contains_nul
from tests.automations.api.conftest import token_client
from tests.conftest import sample


def nested(depth: int) -> dict:
    """``{"x": {"x": ... }}`` ``depth`` objects deep, built without recursion."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"x": value}
    return value


def test_any_depth_is_checked_without_recursion():
    with pytest.raises(InvalidInput, match="data: nests more than 32 levels"):
        check_json(nested(100_000), "data")
    check_json(nested(32), "data")
    assert not contains_nul(nested(100_000))


def test_size_is_measured_as_compact_json():
    value = {"text": "é" * 500, "items": [1, 2.5, True, None]}
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    check_json(value, "data", max_bytes=size + 5)
    with pytest.raises(InvalidInput, match="larger than"):
        check_json(value, "data", max_bytes=size - 20)


@pytest.mark.django_db
def test_emit_refuses_deep_and_large_payloads_and_stores_nothing():
    deep = sample("customer.created")
    deep["customer"]["metadata"] = nested(1000)
    with pytest.raises(InvalidInput, match="data: nests more than 32 levels"):
        emit("customer.created", deep)
    large = sample("customer.created")
    large["customer"]["metadata"] = {"notes": "x" * 10_000_000}
    with pytest.raises(InvalidInput, match="data: is larger than 262,144 bytes"):
        emit("customer.created", large)
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_deeply_nested_definitions_are_refused():
    definition = {"name": "Deep", "trigger": {"type": "manual"},
                  "steps": [{"key": "t", "type": "action", "action": "create_task",
                             "config": {"title": "x", "description": "y"}}], "description": nested(1000)}
    with pytest.raises(InvalidInput, match="definition: nests more than 32 levels"):
        services.create_automation(definition)
    assert not Automation.objects.exists()


@pytest.mark.django_db
def test_deep_json_posted_to_the_api_is_a_400(django_user_model):
    api = token_client(django_user_model.objects.create_superuser("ops", "ops@example.com", "pw"))
    body = json.dumps({"type": "customer.created", "data": {**sample("customer.created"), "deep": nested(400)}})
    response = api.post("/api/events/", body, content_type="application/json")
    assert response.status_code == 400 and "nests more than" in str(response.json())
    definition = json.dumps({"name": "Deep", "trigger": {"type": "manual"}, "steps": [nested(400)]})
    response = api.post("/api/automations/", definition, content_type="application/json")
    assert response.status_code == 400 and "nests more than" in str(response.json())


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["value", "key"])
def test_an_event_with_a_nul_character_is_refused_and_stores_nothing(where):
    data = sample("customer.created")
    if where == "value":
        data["customer"]["name"] = "Acme\x00Corp"
    else:
        data["customer"]["metadata"] = {"bad\x00key": "x"}
    with pytest.raises(InvalidInput, match="data: text must not contain NUL characters"):
        emit("customer.created", data)
    assert not Event.objects.exists()
