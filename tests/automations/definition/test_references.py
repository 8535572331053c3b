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


# -- what earlier steps said: there only where the step surely ran, and ended as read ---------------


def retry(**options):
    return {"key": "retry", "type": "action", "action": "retry_payment", "config": {}, **options}


def note(key, text):
    return {"key": key, "type": "action", "action": "create_task", "config": {"title": text}}


def paid_branch(then, otherwise, operator="equals"):
    return {"key": "worked", "type": "branch", "then": then, "else": otherwise,
            "if": {"all": [{"field": "steps.retry.output.status", "operator": operator, "value": "succeeded"}]}}


def test_what_a_step_said_is_there_after_it_when_the_run_goes_on_only_if_it_succeeded():
    validate_definition(task("", trigger="payment.failed", steps=[
        retry(), note("thanks", "Paid with {{ steps.retry.output.payment_id }}")]))


def test_what_a_step_that_may_have_failed_said_must_be_guarded_after_it():
    assert problems(task("", trigger="payment.failed", steps=[
        retry(on_failure="continue"), note("thanks", "Paid with {{ steps.retry.output.payment_id }}")])) == {
        "steps.thanks.config.title": "steps.retry.output.payment_id may be missing (step retry may have failed and "
                                     "the run went on); guard it with {{ steps.retry.output.payment_id | default(\"\") }}"
                                     ", {% if steps.retry.output.payment_id %}...{% endif %}, or a condition "
                                     "steps.retry.output.payment_id is_set before this step"}


def test_a_branch_on_the_status_tells_the_then_lane_that_the_step_succeeded():
    validate_definition(task("", trigger="payment.failed", steps=[retry(on_failure="continue"), paid_branch(
        [note("thanks", "Paid {{ steps.retry.output.amount }} with {{ steps.retry.output.payment_id }}")],
        [note("call", "Declined: {{ steps.retry.output.decline_code | default('no code') }}")])]))
    validate_definition(task("", trigger="payment.failed", steps=[retry(on_failure="continue"), paid_branch(
        [note("call", "{{ steps.retry.output.decline_code | default('?') }}")],
        [note("thanks", "Paid with {{ steps.retry.output.payment_id }}")], operator="not_equals")]))
    # the else lane knows only that it did not succeed: a gateway error leaves no decline code
    assert set(problems(task("", trigger="payment.failed", steps=[retry(on_failure="continue"), paid_branch(
        [], [note("call", "Declined: {{ steps.retry.output.decline_code }}")])]))) == {"steps.call.config.title"}


def test_a_fallback_reads_the_error_but_not_what_only_a_success_says():
    validate_definition(task("", trigger="payment.failed", steps=[
        retry(fallback=[note("tell", "{{ steps.retry.output.status }}: {{ steps.retry.output.error }}")])]))
    [(field, message)] = problems(task("", trigger="payment.failed", steps=[
        retry(fallback=[note("tell", "{{ steps.retry.output.payment_id }}")])])).items()
    assert (field, message.split(";")[0]) == (
        "steps.tell.config.title",
        "steps.retry.output.payment_id may be missing (step retry failed: only what it said before failing is there)")


def test_the_error_of_a_step_that_succeeded_is_not_there():
    [message] = problems(task("", trigger="payment.failed", steps=[
        retry(), note("tell", "{{ steps.retry.output.error }}")])).values()
    assert message.startswith("steps.retry.output.error may be missing (only a failed step retry has one)")


def test_a_step_on_one_lane_or_later_in_the_flow_may_not_have_run():
    steps = [paid_branch([note("thanks", "t")], [note("call", "c")]), note("after", "{{ steps.thanks.output.task_id }}"),
             note("early", "{{ steps.late.output.task_id }}"), note("late", "l")]
    steps.insert(0, retry(on_failure="continue"))
    found = problems(task("", trigger="payment.failed", steps=steps))
    assert found["steps.after.config.title"].startswith(
        "steps.thanks may be missing (step thanks does not always run before this step)")
    assert found["steps.early.config.title"].startswith(
        "steps.late may be missing (step late does not always run before this step)")
    validate_definition(task("", trigger="payment.failed", steps=[
        *steps[:2], note("after", "{{ steps.thanks.output.task_id | default('none') }}")]))


def test_a_frequency_cap_that_skips_messages_makes_what_a_message_said_maybe_missing():
    mail = {"key": "mail", "type": "action", "action": "send_email",
            "config": {"to": "{{ customer.email }}", "subject": "s", "body": "b"}}
    definition = task("", steps=[mail, note("after", "Sent {{ steps.mail.output.message_id }}")])
    validate_definition(definition)
    definition["frequency_caps"] = [{"max": 1, "period": "1d", "channels": ["email"], "on_cap": "skip"}]
    [message] = problems(definition).values()
    assert message.startswith("steps.mail.output.message_id may be missing (a frequency cap may skip message mail)")
