"""The step-type catalogue (``GET step-types/``): every registered step type, a host's too, with what
a client needs to offer, show and edit it — declared on the step type's class, else derived from
its type name and its schema."""
from __future__ import annotations

from typing import ClassVar

import pytest
from jsonschema import Draft202012Validator

from automations.steps import StepKind, step_types
from tests.noop_step.models import NoopStep

BUILT_IN = ["action", "delay", "wait_for", "approval", "branch", "split", "loop", "stop"]


@pytest.fixture
def noop():
    with step_types.register_temporarily(NoopStep):
        yield NoopStep


def catalogue(api) -> dict[str, dict]:
    body = api.get("/api/step-types/").json()
    assert body["count"] == len(body["results"]) and body["next"] is None
    return {entry["type"]: entry for entry in body["results"]}


def test_every_built_in_type_is_described_in_the_palettes_order(api):
    described = catalogue(api)
    assert list(described) == BUILT_IN
    assert {name: entry["label"] for name, entry in described.items()} == {
        "action": "Action", "delay": "Delay", "wait_for": "Wait for event", "approval": "Approval",
        "branch": "Branch", "split": "Split (A/B test)", "loop": "Loop", "stop": "Stop"}
    assert all(entry["description"] for entry in described.values())
    assert {name: entry["icon"] for name, entry in described.items()} == {name: name for name in BUILT_IN}
    assert {name: entry["lanes"] for name, entry in described.items() if entry["lanes"]} == {
        "action": ["fallback"], "branch": ["then", "else"], "split": ["a", "b"], "loop": ["steps"]}
    assert described["branch"]["lane_labels"] == {"then": "Then", "else": "Else"}
    assert described["loop"]["lane_labels"] == {"steps": "Loop body"}


def test_a_new_step_starts_with_what_an_operator_would_want(api):
    described = catalogue(api)
    assert described["delay"]["blank"] == {"type": "delay", "duration": "1d"}
    assert described["wait_for"]["blank"] == {"type": "wait_for", "events": ["invoice.paid"], "timeout": "3d"}
    assert described["approval"]["blank"]["on_timeout"] == "rejected"
    assert described["loop"]["blank"]["steps"] == [] and described["branch"]["blank"]["then"] == []
    # where the run is about an invoice, a branch asks about its status and a loop goes over its lines
    assert described["branch"]["blank_by_data"][0] == {
        "root": "invoice", "fields": {"if": {"all": [{"field": "invoice.status", "operator": "equals", "value": "open"}]}}}
    assert described["loop"]["blank_by_data"] == [
        {"root": "invoice", "fields": {"over": "invoice.line_items", "as": "item"}}]


def test_each_schema_is_the_steps_own_fields_from_the_definition_schema(api):
    described = catalogue(api)
    for name, entry in described.items():
        Draft202012Validator.check_schema(entry["schema"])
        for variant in [entry["schema"]] if "properties" in entry["schema"] else entry["schema"]["oneOf"]:
            assert not {"key", "type", "name", *entry["lanes"]} & set(variant["properties"]), name
    delay = described["delay"]["schema"]
    assert set(delay["properties"]) == {"duration", "until", "offset", "at"}
    validator = Draft202012Validator(delay)
    assert validator.is_valid({"duration": "3d"}) and not validator.is_valid({"duration": "3d", "until": "x"})
    # a branch's condition comes with the definitions it refers to; its lanes' rules are left out
    branch = Draft202012Validator(described["branch"]["schema"])
    assert branch.is_valid({"if": {"all": [{"field": "invoice.status", "operator": "equals", "value": "open"}]}})
    assert not branch.is_valid({"if": {"all": [{"field": "invoice.status", "operator": "bigger", "value": 1}]}})
    # an action step's: one variant per action, its config as the action catalogue publishes it
    actions = {variant["properties"]["action"]["const"]: variant for variant in described["action"]["schema"]["oneOf"]}
    assert actions["send_email"]["properties"]["config"]["required"] == ["to"]


def test_summaries_and_scope(api):
    described = catalogue(api)
    assert described["delay"]["summary"] == ["wait until {until}", "wait {duration}"]
    assert described["branch"]["scope"]["output"]["properties"]["branch"]["enum"] == ["then", "else"]
    assert set(described["approval"]["scope"]["output"]["required"]) == {"decision", "by", "comment"}
    assert described["loop"]["scope"]["lane_variable"] == {"field": "as", "default": "item"}
    assert described["delay"]["scope"] == {"output": None, "lane_variable": None}


def test_a_hosts_step_type_that_declares_nothing_gets_a_label_an_icon_and_a_form(api, noop):
    entry = catalogue(api)["noop"]
    assert list(catalogue(api))[-1] == "noop", "after the built-ins"
    assert entry["label"] == "Noop" and entry["icon"] == "step" and entry["description"] == ""
    assert entry["lanes"] == [] and entry["blank"] == {"type": "noop"}
    # its field as its model stores it: text of at most 200 characters
    assert entry["schema"]["properties"] == {"note": {"type": "string", "maxLength": 200, "title": "Note"}}
    assert entry["summary"] == ["{note}"]
    assert entry["scope"] == {"output": None, "lane_variable": None}


def test_what_a_host_declares_is_served(api):
    class Checkpoint(StepKind):
        """A step type without a model of its own: its fields are any value."""
        type_name = "check_point"
        fields = ("level", "label")
        lanes = ("on_error",)
        kept_lanes = ("on_error",)
        lane_labels: ClassVar[dict[str, str]] = {}

    with step_types.register_temporarily(Checkpoint):
        entry = catalogue(api)["check_point"]
    assert entry["label"] == "Check point" and entry["lane_labels"] == {"on_error": "On error"}
    assert entry["blank"] == {"type": "check_point", "on_error": []}
    assert entry["summary"] == ["Level: {level} · Label: {label}"]

    class Declared(Checkpoint):
        type_name = "declared"
        type_label, type_description, type_icon = "Checkpoint", "Mark the run.", "task"
        lane_labels = {"on_error": "If it fails"}
        starts_with = {"level": 2}
        card_summary = ("Checkpoint at level {level}",)
        output_schema = {"type": "object", "properties": {"passed": {"type": "boolean"}}}

    with step_types.register_temporarily(Declared):
        entry = catalogue(api)["declared"]
    assert (entry["label"], entry["description"], entry["icon"]) == ("Checkpoint", "Mark the run.", "task")
    assert entry["lane_labels"] == {"on_error": "If it fails"}
    assert entry["blank"] == {"type": "declared", "level": 2, "on_error": []}
    assert entry["summary"] == ["Checkpoint at level {level}"]
    assert entry["scope"]["output"]["properties"] == {"passed": {"type": "boolean"}}


def test_it_is_read_by_any_signed_in_user_and_documented(api, stranger, anonymous):
    assert stranger.get("/api/step-types/").status_code == 200
    assert anonymous.get("/api/step-types/").status_code == 401
    assert api.get("/api/step-types/?page=2").status_code == 404
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/step-types/"]["get"]
    listed = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "StepType" in schema["components"]["schemas"][listed]["properties"]["results"]["items"]["$ref"]
