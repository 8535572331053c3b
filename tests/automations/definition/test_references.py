"""References to steps and fields that do not exist are refused on save, where they are read."""
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


def test_unknown_fields_are_refused_naming_the_nearest_known_one(dunning):
    dunning["steps"][2]["if"]["all"][0]["field"] = "invoice.statsu"
    dunning["correlation_key"] = "invoice.nope"
    with pytest.raises(InvalidInput) as refused:
        validate_definition(dunning)
    fields = {error["field"]: error["message"] for error in refused.value.errors}
    assert fields["steps.still_unpaid.if.all[0].field"] == ("invoice.statsu: invoice has no field statsu; "
                                                            "did you mean status?")
    assert fields["correlation_key"].startswith("invoice.nope: invoice has no field nope; its fields are amount_due,")


def test_loop_variables_are_not_mistaken_for_entities():
    definition = {"name": "Loops", "trigger": {"type": "manual"}, "steps": [
        {"key": "lines", "type": "loop", "over": "invoice.line_items", "as": "invoice", "steps": [
            {"key": "note", "type": "action", "action": "create_task", "config": {"title": "{{ invoice.description }}"}}]},
        {"key": "each", "type": "loop", "over": {"collection": "customers", "where": {"all": [
            {"field": "customer.segmnt", "operator": "equals", "value": "smb"}]}}, "as": "customer", "steps": [
            {"key": "tag", "type": "action", "action": "add_tag", "config": {"tag": "{{ customer.nmae }}"}}]},
    ]}
    errors, _ = check_references(definition)
    assert {error["field"]: error["message"] for error in errors} == {
        "steps.each.over.where.all[0].field": "customer.segmnt: customer has no field segmnt; did you mean segment?",
        "steps.tag.config.tag": "customer.nmae: customer has no field nmae; did you mean name?"}


def test_a_definition_being_edited_still_gets_its_problems(dunning):
    dunning["steps"][2]["if"]["all"][0]["field"] = "invoice.statsu"
    dunning["steps"].append({"type": "delay"})  # half made: no key yet
    dunning["steps"].append("not a step")
    errors, _ = check_references(dunning)
    assert [error["field"] for error in errors] == ["steps.still_unpaid.if.all[0].field"]


def task(text, *, conditions=None, trigger="invoice.issued", steps=None):
    definition = {"name": "Note", "trigger": {"type": "event", "event": trigger},
                  "steps": steps or [{"key": "note", "type": "action", "action": "create_task", "config": {"title": text}}]}
    if conditions:
        definition["conditions"] = conditions
    return definition


def problems(definition):
    with pytest.raises(InvalidInput) as refused:
        validate_definition(definition)
    return {error["field"]: error["message"] for error in refused.value.errors}


def test_a_typo_in_a_template_is_refused_beside_its_field_with_the_nearest_field():
    assert problems(task("Hi {{ customer.nme }}")) == {
        "steps.note.config.title": "customer.nme: customer has no field nme; did you mean name?"}


def test_a_step_output_field_that_the_action_does_not_give_is_refused():
    definition = task("", steps=[
        {"key": "mail", "type": "action", "action": "create_task", "config": {"title": "a"}},
        {"key": "note", "type": "action", "action": "create_task", "config": {"title": "{{ steps.mail.output.staus }}"}}])
    assert problems(definition) == {
        "steps.note.config.title": "steps.mail.output.staus: steps.mail.output has no field staus; did you mean status?"}


def test_a_loop_over_a_field_that_does_not_exist_is_refused():
    definition = task("", steps=[{"key": "lines", "type": "loop", "over": "invoice.line_itmes", "steps": [
        {"key": "note", "type": "action", "action": "create_task", "config": {"title": "{{ item.description }}"}}]}])
    assert problems(definition) == {
        "steps.lines.over": "invoice.line_itmes: invoice has no field line_itmes; did you mean line_items?"}


@pytest.mark.parametrize("text, prefix, why", [
    ("Due {{ invoice.due_date | date }}", "invoice.due_date", "it may be null"),
    ("AM: {{ customer.metadata.account_manager }}", "customer.metadata.account_manager",
     "customer.metadata holds whatever keys the data has"),
    ("Plan {{ subscription.plan }}", "subscription", "the invoice.issued event does not always bring one"),
])
def test_a_field_that_may_be_missing_must_be_guarded(text, prefix, why):
    [(field, message)] = problems(task(text)).items()
    assert field == "steps.note.config.title"
    assert message.startswith(f"{prefix} may be missing ({why}); guard it with {{{{ ")
    assert "| default(\"\") }}, {% if " in message and "is_set before this step" in message


@pytest.mark.parametrize("text", [
    "AM: {{ customer.metadata.account_manager | default('nobody') }}",
    "AM: {{ customer.metadata.account_manager | d('nobody') }}",
    "{% if customer.metadata.account_manager %}AM: {{ customer.metadata.account_manager }}{% endif %}",
    "{% if customer.metadata.account_manager is defined %}{{ customer.metadata.account_manager }}{% endif %}",
    "{% if customer.metadata.account_manager is not defined %}none{% else %}{{ customer.metadata.account_manager }}"
    "{% endif %}",
    "{% if invoice.status == 'open' and customer.metadata.account_manager %}{{ customer.metadata.account_manager }}"
    "{% endif %}",
    "Hi {{ customer.metadata.nickname or customer.name }}",
    "Hi {{ customer.metadata.nickname if customer.metadata.nickname else 'there' }}",
    "Due {{ invoice.due_date | date if invoice.due_date else 'soon' }}",
])
def test_each_kind_of_template_guard_is_accepted(text):
    validate_definition(task(text))


def test_guards_that_do_not_hold_where_the_value_is_read_are_refused():
    for text in ("{% if customer.metadata.am %}{% endif %}{{ customer.metadata.am }}",
                 "{% if customer.metadata.am or invoice.number %}{{ customer.metadata.am }}{% endif %}",
                 "{{ customer.name or customer.metadata.am }}",
                 "{% if customer.metadata.am %}x{% else %}{{ customer.metadata.am }}{% endif %}"):
        assert "steps.note.config.title" in problems(task(text)), text


def test_a_condition_on_the_way_to_the_step_guards_the_field():
    is_set = {"all": [{"field": "invoice.due_date", "operator": "is_set"}]}
    validate_definition(task("Due {{ invoice.due_date | date }}", conditions=is_set))
    branch = {"key": "has_date", "type": "branch", "if": is_set,
              "then": [{"key": "note", "type": "action", "action": "create_task",
                        "config": {"title": "Due {{ invoice.due_date | date }}"}}],
              "else": [{"key": "other", "type": "action", "action": "create_task",
                        "config": {"title": "Due {{ invoice.due_date | date }}"}}]}
    assert problems(task("", steps=[branch])).keys() == {"steps.other.config.title"}, "only then is guarded"
    compared = {"all": [{"field": "customer.metadata.tier", "operator": "equals", "value": "gold"}]}
    validate_definition(task("Tier {{ customer.metadata.tier }}", conditions=compared))
    either = {"any": [{"field": "customer.metadata.tier", "operator": "is_set"},
                      {"field": "invoice.due_date", "operator": "is_set"}]}
    assert problems(task("Tier {{ customer.metadata.tier }}", conditions=either))


def test_metadata_keys_and_the_event_data_are_free_form_but_guarded():
    validate_definition(task("", conditions={"all": [{"field": "customer.metadata.anything", "operator": "is_set"}]},
                              steps=[{"key": "note", "type": "action", "action": "create_task",
                                      "config": {"title": "{{ event.data.extra | default('') }}"}}]))
    assert problems(task("{{ event.data.invoice.nmber }}")) == {
        "steps.note.config.title": "event.data.invoice.nmber: event.data.invoice has no field nmber; did you mean number?"}


def test_a_stored_email_template_is_checked_where_the_step_chooses_it():
    from automations.models import EmailTemplate

    EmailTemplate.objects.create(key="late", subject="Due {{ invoice.due_date | date }}", body_text="Hi")
    definition = task("", steps=[{"key": "mail", "type": "action", "action": "send_email",
                                   "config": {"to": "{{ customer.email }}", "template": "late"}}])
    [(field, message)] = problems(definition).items()
    assert field == "steps.mail.config.template"
    assert message.startswith("email template late.subject: invoice.due_date may be missing (it may be null)")
