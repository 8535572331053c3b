"""References to steps that do not exist are refused on save; undocumented fields are warned about."""
from __future__ import annotations

import copy

import pytest

from automations import library
from automations.definition import validate_definition
from automations.definition.references import check_references
from billing_events.errors import InvalidInput

pytestmark = pytest.mark.django_db


@pytest.fixture
def dunning():
    library.install_email_templates("payment_dunning")
    return copy.deepcopy(library.get_template("payment_dunning")["definition"])


def test_a_deleted_step_that_others_read_is_refused_where_it_is_read(dunning):
    branch = dunning["steps"][2]
    branch["then"] = [step for step in branch["then"] if step["key"] != "retry"]
    with pytest.raises(InvalidInput) as refused:
        validate_definition(dunning)
    fields = {error["field"]: error["message"] for error in refused.value.errors}
    assert fields["steps.retry_worked.if.all[0].field"].startswith("steps.retry is not a step of this automation")
    assert "steps.follow_up.config.description" in fields


def test_undocumented_fields_are_warnings_not_errors(dunning):
    dunning["steps"][2]["if"]["all"][0]["field"] = "invoice.statsu"
    dunning["correlation_key"] = "invoice.nope"
    canonical = validate_definition(dunning)
    errors, warnings = check_references(canonical)
    assert errors == []
    assert [warning["field"] for warning in warnings] == ["correlation_key", "steps.still_unpaid.if.all[0].field"]
    assert warnings[1]["message"].startswith("invoice.statsu is not a documented field of invoice (amount_due,")


def test_loop_variables_are_not_mistaken_for_entities():
    definition = {"name": "Loops", "trigger": {"type": "manual"}, "steps": [
        {"key": "lines", "type": "loop", "over": "invoice.line_items", "as": "invoice", "steps": [
            {"key": "note", "type": "action", "action": "create_task", "config": {"title": "{{ invoice.description }}"}}]},
        {"key": "each", "type": "loop", "over": {"collection": "customers", "where": {"all": [
            {"field": "customer.segmnt", "operator": "equals", "value": "smb"}]}}, "as": "customer", "steps": [
            {"key": "tag", "type": "action", "action": "add_tag", "config": {"tag": "{{ customer.nmae }}"}}]},
    ]}
    _, warnings = check_references(validate_definition(definition))
    assert [warning["field"] for warning in warnings] == ["steps.each.over.where.all[0].field",
                                                          "steps.tag.config.tag"]


def test_a_definition_being_edited_still_gets_its_warnings(dunning):
    dunning["steps"][2]["if"]["all"][0]["field"] = "invoice.statsu"
    dunning["steps"].append({"type": "delay"})  # half made: no key yet
    dunning["steps"].append("not a step")
    _, warnings = check_references(dunning)
    assert [warning["field"] for warning in warnings] == ["steps.still_unpaid.if.all[0].field"]
