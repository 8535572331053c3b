"""The trigger-kind catalogue (``GET trigger-kinds/``): every registered trigger kind, a host's too,
with what a client needs to offer, show and edit it — declared on the kind's class, its schema
its part of the definition schema."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from automations.definition import validate_definition
from automations.engine.start import start_execution
from automations.models import Automation
from automations.trigger_kinds import trigger_kinds
from billing_events.errors import InvalidInput
from tests.noop_step.trigger_kinds import TicketTrigger

BUILT_IN = ["event", "schedule", "manual"]


@pytest.fixture
def ticket():
    with trigger_kinds.register_temporarily(TicketTrigger):
        yield TicketTrigger


def catalogue(api) -> dict[str, dict]:
    body = api.get("/api/trigger-kinds/").json()
    assert body["count"] == len(body["results"]) and body["next"] is None
    return {entry["type"]: entry for entry in body["results"]}


def own_fields(trigger: dict) -> dict:
    return {name: value for name, value in trigger.items() if name != "type"}


def test_every_built_in_kind_is_described_in_order(api):
    described = catalogue(api)
    assert list(described) == BUILT_IN
    assert {name: entry["label"] for name, entry in described.items()} == {
        "event": "A billing event", "schedule": "A schedule", "manual": "By hand"}
    assert all(entry["description"] for entry in described.values())
    assert {name: entry["icon"] for name, entry in described.items()} == {
        "event": "trigger", "schedule": "delay", "manual": "manual"}
    assert described["manual"]["summary"] == ["Started by hand (Run now, or the API)"]


def test_a_new_trigger_is_valid_under_its_schema_and_saves(api):
    for name, entry in catalogue(api).items():
        Draft202012Validator.check_schema(entry["schema"])
        assert entry["blank"]["type"] == name
        assert Draft202012Validator(entry["schema"]).is_valid(own_fields(entry["blank"])), name
        validate_definition({"name": "New", "trigger": entry["blank"], "steps": [{"type": "stop"}]})


def test_each_schema_is_the_kinds_part_of_the_definition_schema(api):
    described = catalogue(api)
    definition_schema = api.get("/api/definition-schema/").json()
    assert {variant["$ref"].rsplit("/", 1)[-1] for variant in definition_schema["$defs"]["Trigger"]["oneOf"]} == {
        "EventTrigger", "EndingSoonTrigger", "UsageThresholdTrigger", "ScheduleTrigger", "ManualTrigger"}
    schedule = described["schedule"]["schema"]
    assert schedule["properties"]["schedule"] == {"$ref": "#/$defs/Schedule"}
    assert schedule["$defs"]["Schedule"] == definition_schema["$defs"]["Schedule"]
    validator = Draft202012Validator(schedule)
    assert validator.is_valid({"schedule": {"kind": "interval", "every": "1h"}})
    assert not validator.is_valid({"schedule": {"kind": "interval", "every": "0h"}})
    event = Draft202012Validator(described["event"]["schema"])
    assert event.is_valid({"event": "subscription.ending_soon", "days_before": 7})
    assert not event.is_valid({"event": "payment.failed", "days_before": 7})
    assert described["manual"]["schema"]["properties"] == {}


def test_what_a_run_it_starts_can_read(api):
    described = catalogue(api)
    assert {name: entry["scope"]["data"] for name, entry in described.items()} == {
        "event": "event", "schedule": "none", "manual": "given"}
    assert described["schedule"]["scope"]["variables"]["schedule"]["required"] == ["slot"]
    assert described["event"]["scope"]["variables"] == {} == described["manual"]["scope"]["variables"]


def test_a_hosts_kind_is_offered_checked_saved_and_run(api, ticket, engine):
    entry = catalogue(api)["ticket"]
    assert list(catalogue(api))[-1] == "ticket", "after the built-ins"
    assert (entry["label"], entry["icon"]) == ("A support ticket", "trigger")
    assert entry["blank"] == {"type": "ticket", "queue": "billing"}
    assert set(entry["schema"]["properties"]) == {"queue", "priority"}
    assert entry["summary"] == ["When a {queue} ticket is opened"]
    # the server checks it by its schema, naming the field
    with pytest.raises(InvalidInput) as refused:
        validate_definition({"name": "T", "trigger": {"type": "ticket", "queue": "sales", "colour": 1},
                             "steps": [{"type": "stop"}]})
    assert {error["field"] for error in refused.value.errors} == {"trigger.queue", "trigger.colour"}
    created = api.post("/api/automations/", {"name": "Tickets", "trigger": {"type": "ticket", "queue": "general"},
                                             "steps": [{"type": "stop"}]}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["draft_definition"]["trigger"] == {"type": "ticket", "queue": "general"}
    url = f"/api/automations/{created.json()['id']}/"
    assert api.post(f"{url}activate/").json()["trigger_type"] == "ticket"
    # nothing in automations fires it: the host starts a run with a trigger of its kind
    automation = Automation.objects.get()
    execution = engine.run(start_execution, automation, automation.active_version,
                           trigger={"type": "ticket", "queue": "general"}, data={"ticket": {"id": 7}})
    execution.refresh_from_db()
    assert execution.status == "succeeded" and execution.trigger["type"] == "ticket"


def test_a_kind_unknown_to_the_server_is_refused_naming_the_known_ones(db):
    with pytest.raises(InvalidInput) as refused:
        validate_definition({"name": "T", "trigger": {"type": "webhook"}, "steps": [{"type": "stop"}]})
    assert refused.value.errors[0] == {
        "field": "trigger.type", "message": "'webhook' is not a trigger type; use event, schedule or manual"}


def test_it_is_read_by_any_signed_in_user_and_documented(api, stranger, anonymous):
    assert stranger.get("/api/trigger-kinds/").status_code == 200
    assert anonymous.get("/api/trigger-kinds/").status_code == 401
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/trigger-kinds/"]["get"]
    listed = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "TriggerKind" in schema["components"]["schemas"][listed]["properties"]["results"]["items"]["$ref"]
