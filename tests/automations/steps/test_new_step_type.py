"""A step type added from outside the engine — the ``noop`` type of tests/noop_step, registered here —
is validated, stored, run by the worker and shown by test mode, with no change to engine code."""
from __future__ import annotations

import pytest

from automations import services
from automations.definition.json_schema import definition_defs
from automations.definition.serialize import version_to_definition
from automations.engine.simulation import simulate
from automations.models import Execution, Step, Task
from automations.steps import step_types
from billing_events.errors import InvalidInput
from tests.conftest import sample
from tests.noop_step.models import NoopStep


@pytest.fixture
def noop():
    with step_types.register_temporarily(NoopStep):
        yield NoopStep


def definition(*steps):
    return {"name": "With a noop", "trigger": {"type": "manual"}, "steps": list(steps)}


NOTE = {"key": "note", "type": "noop", "note": "Invoice {{ invoice.number }}"}
TASK = {"key": "after", "type": "action", "action": "create_task", "config": {"title": "After the noop"}}


def test_an_unregistered_type_is_not_a_step_type(db):
    with pytest.raises(InvalidInput) as error:
        services.create_automation(definition(NOTE))
    assert error.value.errors[0]["field"] == "steps.note.type"
    assert "'noop' is not a step type" in error.value.errors[0]["message"]


def test_a_registered_type_is_validated_by_its_own_rules(db, noop):
    with pytest.raises(InvalidInput) as error:
        services.create_automation(definition({"key": "bad", "type": "noop", "note": 5},
                                              {"key": "worse", "type": "noop", "notes": "x"}))
    assert {(e["field"], e["message"]) for e in error.value.errors} == {
        ("steps.bad.note", "must be text"), ("steps.worse.notes", "is not a field of a noop step")}
    with pytest.raises(InvalidInput) as error:
        services.create_automation(definition({"key": "typo", "type": "noop", "note": "{{ invoce.number }}"}))
    assert error.value.errors[0]["field"] == "steps.typo.note"


def test_it_is_stored_as_its_own_model_and_read_back(db, noop):
    automation = services.create_automation(definition(NOTE, {"type": "noop"}, TASK))
    version = automation.draft_version
    assert isinstance(Step.objects.get(key="note"), NoopStep)
    assert version_to_definition(version) == version.snapshot
    assert [step["key"] for step in version.snapshot["steps"]] == ["note", "noop_1", "after"]


def test_the_worker_runs_it(db, engine, noop):
    automation = services.create_automation(definition(TASK | {"key": "before"}, NOTE, TASK))
    services.activate(automation)
    execution = engine.run(services.run_manual, automation, sample("invoice.issued"))
    execution = Execution.objects.get(pk=execution.pk)
    assert execution.status == "succeeded"
    assert list(execution.step_runs.order_by("pk").values_list("step_key", "step_type", "status", "output")) == [
        ("before", "action", "succeeded", execution.outputs["before"]),
        ("note", "noop", "succeeded", {"note": "Invoice {{ invoice.number }}"}),
        ("after", "action", "succeeded", execution.outputs["after"])]
    assert Task.objects.count() == 2


def test_test_mode_shows_it(db, noop):
    result = simulate(definition(NOTE, TASK), sample("invoice.issued"))
    assert result["status"] == "succeeded"
    assert [(entry["step"], entry["type"]) for entry in result["timeline"]] == [("note", "noop"), ("after", "action")]
    assert result["timeline"][0]["note"] == "Invoice {{ invoice.number }}"


def test_it_is_in_the_definition_schema(db, noop):
    defs = definition_defs()
    assert {"$ref": "#/$defs/NoopStep"} in defs["Step"]["oneOf"]
    assert defs["NoopStep"]["properties"]["type"] == {"const": "noop"}
