"""The schema tells the truth: nullable fields marked, every 4xx documented with the error body,
request bodies described by the definition's own JSON Schema, which is also served on its own."""
from __future__ import annotations

import copy

import pytest
from jsonschema import Draft202012Validator

from automations import library
from automations.models import Secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def openapi(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def definition_schema(api):
    for key in library.template_keys():
        library.install_email_templates(key)
    response = api.get("/api/definition-schema/")
    assert response.status_code == 200
    Draft202012Validator.check_schema(response.json())
    return Draft202012Validator(response.json())


def test_every_library_template_is_valid_under_the_definition_schema(definition_schema):
    for key in library.template_keys():
        errors = list(definition_schema.iter_errors(library.get_template(key)["definition"]))
        assert errors == [], (key, errors[0].message if errors else None)


@pytest.mark.parametrize(("change", "where"), [
    (lambda d: d["steps"][0].update(type="wait"), "steps"),
    (lambda d: d["steps"][0]["config"].update(colour="red"), "steps"),
    (lambda d: d["steps"][1].update(duration="soon"), "steps"),
    (lambda d: d.update(trigger={"type": "event", "event": "payment.exploded"}), "trigger"),
    (lambda d: d.update(reentry="once", correlation_key=""), ""),
    (lambda d: d.pop("name"), ""),
])
def test_what_the_server_refuses_the_definition_schema_refuses(definition_schema, api, change, where):
    definition = copy.deepcopy(library.get_template("payment_dunning")["definition"])
    change(definition)
    assert not definition_schema.is_valid(definition)
    assert api.post("/api/automations/", definition, format="json").status_code == 400


def test_action_configs_follow_each_actions_schema(definition_schema, api):
    webhook = {"name": "Hook", "trigger": {"type": "manual"}, "steps": [
        {"key": "hook", "type": "action", "action": "send_webhook", "config": {"url": "https://x.example/h"}}]}
    assert definition_schema.is_valid(webhook)
    webhook["steps"][0]["config"]["secret"] = "{{ secrets.PARTNER }}"
    assert not definition_schema.is_valid(webhook), "no such secret yet"
    secret = Secret(name="PARTNER")
    secret.set_value("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    secret.save()
    assert Draft202012Validator(api.get("/api/definition-schema/").json()).is_valid(webhook)
    webhook["steps"][0]["config"].pop("url")
    assert not definition_schema.is_valid(webhook)


def test_the_definition_is_a_component_of_the_openapi_schema(openapi):
    schemas = openapi["components"]["schemas"]
    assert {"Definition", "DefinitionPatch", "Step", "Trigger", "Condition", "Retry", "ActionStep_send_email",
            "EventEnvelope", "Error"} <= set(schemas)
    create = openapi["paths"]["/api/automations/"]["post"]["requestBody"]
    assert create["required"] and create["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Definition"}
    patch = openapi["paths"]["/api/automations/{id}/"]["patch"]["requestBody"]
    assert patch["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/DefinitionPatch"}
    events = openapi["paths"]["/api/events/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert events == {"$ref": "#/components/schemas/EventEnvelope"}
    assert {variant["properties"]["type"]["const"] for variant in schemas["EventEnvelope"]["oneOf"]} >= {
        "payment.failed", "invoice.paid"}


def test_nullable_fields_are_marked(openapi):
    schemas = openapi["components"]["schemas"]
    automation = schemas["Automation"]["properties"]
    for name in ("draft_version", "active_version"):
        assert "null" in automation[name]["type"], name
    for name in ("draft_definition", "active_definition"):
        assert "null" in automation[name]["type"], name
    assert "null" in schemas["Version"]["properties"]["author"]["type"]
    assert "null" in schemas["Execution"]["properties"]["finished_at"]["type"]


def test_every_operation_documents_its_errors_with_the_error_body(openapi):
    error = {"$ref": "#/components/schemas/Error"}
    operations = [(path, method, operation) for path, item in openapi["paths"].items()
                  for method, operation in item.items()]
    assert len(operations) >= 30
    for path, method, operation in operations:
        responses = operation["responses"]
        for status in ("400", "401", "403"):
            assert responses[status]["content"]["application/json"]["schema"] == error, (method, path, status)
        if "{" in path:
            assert "404" in responses, (method, path)
        if method in ("post", "put", "patch"):
            assert {"413", "415"} <= set(responses), (method, path)
    assert "409" in openapi["paths"]["/api/events/"]["post"]["responses"]
    assert "409" in openapi["paths"]["/api/email-templates/"]["post"]["responses"], "a key taken"


def test_the_definition_schema_needs_a_signed_in_user(anonymous):
    assert anonymous.get("/api/definition-schema/").status_code == 401
