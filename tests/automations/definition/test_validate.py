"""Definition validation: one test per rule, each asserting the field path names the step key."""
from __future__ import annotations

import copy

import pytest

from automations.definition import validate_definition
from automations.models import EmailTemplate
from billing_events.errors import InvalidInput

pytestmark = pytest.mark.django_db

BASE = {
    "name": "Dunning",
    "trigger": {"type": "event", "event": "payment.failed"},
    "steps": [
        {"key": "gentle", "type": "action", "action": "send_email",
         "config": {"to": "{{ customer.email }}", "subject": "Hi", "body": "Pay {{ invoice.number }}"}},
        {"key": "wait", "type": "delay", "duration": "3d"},
        {"key": "check", "type": "branch",
         "if": {"all": [{"field": "invoice.status", "operator": "equals", "value": "open"}]},
         "then": [{"key": "task", "type": "action", "action": "create_task", "config": {"title": "Call"}}],
         "else": [{"key": "done", "type": "stop"}]},
        {"key": "lines", "type": "loop", "over": "invoice.line_items", "as": "line",
         "steps": [{"key": "note", "type": "action", "action": "create_task",
                    "config": {"title": "{{ line.description }}"}}]},
    ],
}


def with_changes(**changes):
    definition = copy.deepcopy(BASE)
    definition.update(changes)
    return definition


def step_changes(index, **changes):
    definition = copy.deepcopy(BASE)
    definition["steps"][index].update(changes)
    for key, value in changes.items():
        if value is None:
            del definition["steps"][index][key]
    return definition


def errors_of(definition) -> list[dict[str, str]]:
    with pytest.raises(InvalidInput) as error:
        validate_definition(definition)
    return error.value.errors


def assert_error(definition, field, message):
    errors = errors_of(definition)
    assert any(e["field"] == field and message in e["message"] for e in errors), errors


def test_base_definition_is_valid():
    validate_definition(BASE)


def test_definition_must_be_an_object():
    assert_error(["steps"], "definition", "JSON object")


def test_unknown_top_level_field():
    assert_error(with_changes(stpes=[]), "stpes", "not a known field")


def test_name_is_required():
    assert_error(with_changes(name=" "), "name", "is required")


def test_name_length():
    assert_error(with_changes(name="x" * 201), "name", "at most 200")


def test_description_must_be_text():
    assert_error(with_changes(description=5), "description", "must be text")


@pytest.mark.parametrize(("trigger", "field", "message"), [
    (None, "trigger", "is required"),
    ({"type": "webhook"}, "trigger.type", "'webhook' is not a trigger type"),
    ({"type": "event"}, "trigger", "Choose what starts this automation"),
    ({"type": "event", "event": ""}, "trigger", "Choose what starts this automation"),
    ({"type": "event", "event": "payment.exploded"}, "trigger.event", "unknown event type 'payment.exploded'"),
    ({"type": "event", "event": "payment.failed", "days_before": 3}, "trigger.days_before", "not a known field"),
    ({"type": "event", "event": "subscription.ending_soon", "days_before": -1}, "trigger.days_before", "0 to 366"),
    ({"type": "event", "event": "usage.threshold_exceeded", "threshold_percent": 0},
     "trigger.threshold_percent", "positive"),
    ({"type": "manual", "event": "payment.failed"}, "trigger.event", "not a known field"),
    ({"type": "schedule"}, "trigger.schedule", "is required"),
    ({"type": "schedule", "schedule": {"kind": "hourly"}}, "trigger.schedule.kind", "not a schedule kind"),
    ({"type": "schedule", "schedule": {"kind": "interval", "every": "often"}}, "trigger.schedule.every",
     "is not a duration"),
    ({"type": "schedule", "schedule": {"kind": "cron", "expression": "0 9 * *"}}, "trigger.schedule.expression",
     "not a 5-field cron"),
    ({"type": "schedule", "schedule": {"kind": "cron", "expression": "0 25 * * 1"}},
     "trigger.schedule.expression", "not a valid cron"),
    ({"type": "schedule", "schedule": {"kind": "cron", "expression": "0 9 * * 1", "timezone": "Mars/Base"}},
     "trigger.schedule.timezone", "not an IANA timezone"),
    ({"type": "schedule", "schedule": {"kind": "calendar", "rule": "every_full_moon"}}, "trigger.schedule.rule",
     "is not one of"),
    ({"type": "schedule", "schedule": {"kind": "calendar", "rule": "first_day_of_month", "time": "9am"}},
     "trigger.schedule.time", "HH:MM"),
    ({"type": "schedule", "schedule": {"kind": "calendar", "rule": "day_of_month", "day": 32}},
     "trigger.schedule.day", "1 to 31"),
    ({"type": "schedule", "schedule": {"kind": "calendar", "rule": "nth_weekday_of_month", "n": 6,
                                       "weekday": "monday"}}, "trigger.schedule.n", "1 to 5"),
    ({"type": "schedule", "schedule": {"kind": "calendar", "rule": "nth_weekday_of_month", "n": 1,
                                       "weekday": "mon"}}, "trigger.schedule.weekday", "one of monday"),
])
def test_trigger_rules(trigger, field, message):
    assert_error(with_changes(trigger=trigger), field, message)


def test_valid_triggers_pass():
    for trigger in ({"type": "manual"},
                    {"type": "event", "event": "subscription.ending_soon", "days_before": 30},
                    {"type": "schedule", "schedule": {"kind": "cron", "expression": "0 9 * * 1",
                                                      "timezone": "Europe/Berlin"}},
                    {"type": "schedule", "schedule": {"kind": "calendar", "rule": "nth_weekday_of_month", "n": -1,
                                                      "weekday": "friday", "time": "09:00", "timezone": "UTC"}}):
        validate_definition(with_changes(trigger=trigger, steps=[{"key": "done", "type": "stop"}]))


def test_entry_conditions_are_validated():
    assert_error(with_changes(conditions={"all": [{"field": "invoice.amount_due", "operator": "gt", "value": 0}]}),
                 "conditions.all[0].operator", "unknown operator 'gt'")


def test_correlation_key_must_be_a_known_path():
    assert_error(with_changes(correlation_key="bill.id"), "correlation_key", "field path")


def test_reentry_value():
    assert_error(with_changes(reentry="sometimes", correlation_key="invoice.id"), "reentry", "is not one of")


def test_reentry_needs_a_correlation_key():
    assert_error(with_changes(reentry="once"), "reentry", "needs the setting “What a run is about” (correlation_key)")


def test_exit_on_must_list_known_events():
    assert_error(with_changes(exit_on=["invoice.payed"], correlation_key="invoice.id"), "exit_on[0]",
                 "unknown event type 'invoice.payed'")
    assert_error(with_changes(exit_on="invoice.paid", correlation_key="invoice.id"), "exit_on", "must be a list")


def test_exit_on_needs_a_correlation_key():
    assert_error(with_changes(exit_on=["invoice.paid"]), "exit_on", "needs the setting “What a run is about” (correlation_key)")


@pytest.mark.parametrize(("retry", "field", "message"), [
    ("3 times", "retry", "must be an object"),
    ({"attempts": 3}, "retry.attempts", "not a retry field"),
    ({"max_attempts": 0}, "retry.max_attempts", "1 to 100"),
    ({"initial_interval": "soon"}, "retry.initial_interval", "not a duration"),
    ({"backoff_coefficient": 0.5}, "retry.backoff_coefficient", "1 to 10"),
])
def test_retry_policy_rules(retry, field, message):
    assert_error(with_changes(retry=retry), field, message)


@pytest.mark.parametrize(("steps", "message"), [([], "add at least one step"), ("gentle", "must be a list of steps")])
def test_an_automation_without_steps_is_asked_for_one(steps, message):
    assert_error(with_changes(steps=steps), "steps", message)


def test_a_step_must_be_an_object():
    assert_error(with_changes(steps=["send_email"]), "steps[0]", "must be a step object")


def test_step_key_format():
    assert_error(step_changes(0, key="Gentle Email!"), "steps[0].key", "lowercase letters")


def test_duplicate_step_key():
    definition = step_changes(1, key="gentle")
    assert_error(definition, "steps.gentle.key", "duplicate step key 'gentle'")


def test_duplicate_key_inside_a_body():
    definition = copy.deepcopy(BASE)
    definition["steps"][2]["else"][0]["key"] = "wait"
    assert_error(definition, "steps.wait.key", "duplicate")


def test_unknown_step_type():
    assert_error(step_changes(1, type="sleep"), "steps.wait.type", "'sleep' is not a step type")


def test_unknown_step_field():
    assert_error(step_changes(1, duraton="3d"), "steps.wait.duraton", "not a field of a delay step")


def test_unknown_action():
    assert_error(step_changes(0, action="send_pigeon"), "steps.gentle.action", "unknown action 'send_pigeon'")


def test_config_must_be_an_object():
    assert_error(step_changes(0, config="to everyone"), "steps.gentle.config", "must be an object")


def test_config_schema_required_field():
    assert_error(step_changes(0, config={"subject": "Hi", "body": "x"}), "steps.gentle.config.to", "is required")


def test_config_schema_unknown_field():
    assert_error(step_changes(0, config={"to": "a@b.c", "subject": "s", "body": "b", "colour": "red"}),
                 "steps.gentle.config", "'colour' was unexpected")


def test_send_email_needs_template_or_subject_and_body():
    assert_error(step_changes(0, config={"to": "a@b.c", "subject": "s"}), "steps.gentle.config.body", "is required")


def test_send_email_template_must_exist():
    assert_error(step_changes(0, config={"to": "a@b.c", "template": "nope"}), "steps.gentle.config.template",
                 "no email template with key 'nope'")
    EmailTemplate.objects.create(key="nope", subject="s", body_text="b")
    validate_definition(step_changes(0, config={"to": "a@b.c", "template": "nope"}))


def test_send_email_template_and_inline_body_conflict():
    EmailTemplate.objects.create(key="t", subject="s", body_text="b")
    assert_error(step_changes(0, config={"to": "a@b.c", "template": "t", "subject": "s"}),
                 "steps.gentle.config.template", "not both")


def test_jinja_syntax_error_in_config():
    assert_error(step_changes(0, config={"to": "{{ customer.email }", "subject": "s", "body": "b"}),
                 "steps.gentle.config.to", "template syntax error")


def test_unknown_variable_in_template():
    assert_error(step_changes(0, config={"to": "{{ custmer.email }}", "subject": "s", "body": "b"}),
                 "steps.gentle.config.to", "unknown variable 'custmer'")


def test_loop_variable_is_only_known_inside_its_loop():
    definition = step_changes(0, config={"to": "{{ line.email }}", "subject": "s", "body": "b"})
    assert_error(definition, "steps.gentle.config.to", "unknown variable 'line'")


def test_step_retry_policy():
    assert_error(step_changes(0, retry={"max_attempts": "three"}), "steps.gentle.retry.max_attempts", "1 to 100")


def test_on_failure_value():
    assert_error(step_changes(0, on_failure="ignore"), "steps.gentle.on_failure", "is not one of")


def test_fallback_must_be_a_list():
    assert_error(step_changes(0, fallback={"type": "stop"}), "steps.gentle.fallback", "must be a list")


def test_fallback_steps_are_validated():
    assert_error(step_changes(0, fallback=[{"key": "fb", "type": "delay"}]), "steps.fb.duration", "either duration")


def test_branch_needs_a_condition():
    assert_error(step_changes(2, **{"if": {}}), "steps.check.if", "is required")


def test_branch_condition_is_validated():
    assert_error(step_changes(2, **{"if": {"all": [{"field": "invoice.status", "operator": "equals"}]}}),
                 "steps.check.if.all[0].value", "is required")


def test_branch_bodies_must_be_lists():
    assert_error(step_changes(2, then={"type": "stop"}), "steps.check.then", "must be a list")


def test_branch_needs_some_steps():
    assert_error(step_changes(2, then=[], **{"else": []}), "steps.check.then", "needs at least one step in Then or Else")


def test_delay_needs_duration_or_until():
    assert_error(step_changes(1, duration=None), "steps.wait.duration", "either duration")
    assert_error(step_changes(1, until="{{ invoice.due_date }}"), "steps.wait.duration", "either duration")


def test_delay_duration_format():
    assert_error(step_changes(1, duration="3 days"), "steps.wait.duration", "'3 days' is not a duration")
    assert_error(step_changes(1, duration="-3d"), "steps.wait.duration", "negative")


def test_delay_until_must_not_be_empty():
    assert_error(step_changes(1, duration=None, until=" "), "steps.wait.until", "must be a date-time")


def test_delay_offset_goes_with_until_and_is_a_duration():
    assert_error(step_changes(1, offset="-1d"), "steps.wait.offset", "only goes with until")
    assert_error(step_changes(1, duration=None, until="{{ subscription.current_period_end }}", offset="a week"),
                 "steps.wait.offset", "not a duration")


def test_delay_at_time_of_day():
    assert_error(step_changes(1, at="25:00"), "steps.wait.at", "HH:MM")


def test_loop_needs_over():
    assert_error(step_changes(3, over=None), "steps.lines.over", "is required")


def test_loop_over_unknown_variable():
    assert_error(step_changes(3, over="bill.lines"), "steps.lines.over", "unknown variable 'bill'")


def test_loop_over_an_unknown_collection():
    assert_error(step_changes(3, over={"collection": "payments"}), "steps.lines.over.collection", "must be one of")


def test_loop_over_a_collection_validates_its_where():
    assert_error(step_changes(3, over={"collection": "customers", "where": {"all": [
        {"field": "customer.segment", "operator": "equal", "value": "smb"}]}}),
        "steps.lines.over.where.all[0].operator", "unknown operator")
    validate_definition(step_changes(3, over={"collection": "customers", "where": {"all": [
        {"field": "customer.segment", "operator": "equals", "value": "smb"}]}}))


def test_loop_as_identifier():
    assert_error(step_changes(3, **{"as": "Line Item"}), "steps.lines.as", "lowercase identifier")


def test_loop_max_items_range():
    assert_error(step_changes(3, max_items=0), "steps.lines.max_items", "1 to 10000")


def test_loop_needs_steps():
    assert_error(step_changes(3, steps=[]), "steps.lines.steps", "non-empty list")


def test_stop_status():
    definition = copy.deepcopy(BASE)
    definition["steps"][2]["else"][0]["status"] = "done"
    assert_error(definition, "steps.done.status", "'done' is not one of")


def test_create_task_due_in_is_a_duration():
    definition = copy.deepcopy(BASE)
    definition["steps"][2]["then"][0]["config"]["due_in"] = "tomorrow"
    assert_error(definition, "steps.task.config.due_in", "not a duration")


def test_every_problem_is_reported_at_once():
    definition = with_changes(name="", reentry="never")
    definition["steps"][1]["duration"] = "soon"
    fields = {e["field"] for e in errors_of(definition)}
    assert {"name", "reentry", "steps.wait.duration"} <= fields


def test_missing_keys_are_generated_without_clashing():
    definition = copy.deepcopy(BASE)
    del definition["steps"][1]["key"]
    definition["steps"].append({"type": "delay", "duration": "1d", "key": "delay_1"})
    canonical = validate_definition(definition)
    keys = [step["key"] for step in canonical["steps"]]
    assert keys[1].startswith("delay_") and keys[1] != "delay_1" and len(set(keys)) == len(keys)


@pytest.mark.parametrize(("field", "value", "path"), [
    ("type", ["delay"], "steps.wait.type"), ("key", ["wait"], "steps[0].key"), ("key", {"k": 1}, "steps[0].key")])
def test_a_step_type_or_key_of_the_wrong_json_type_is_an_error_not_a_crash(field, value, path):
    with pytest.raises(InvalidInput) as refused:
        validate_definition({**BASE, "steps": [{"key": "wait", "type": "delay", "duration": "3d", field: value}]})
    assert path in [error["field"] for error in refused.value.errors]


def test_a_step_name_must_be_text():
    with pytest.raises(InvalidInput) as refused:
        validate_definition({**BASE, "steps": [{"key": "wait", "type": "delay", "duration": "3d", "name": 2.5}]})
    assert refused.value.errors == [{"field": "steps.wait.name", "message": "must be text"}]


@pytest.mark.parametrize("body", ["x" * 580_000, "{{ invoice.number }} " + "x" * 580_000])
def test_a_text_longer_than_any_message_may_be_is_refused_at_its_field(body):
    """A 580 KB body, template or plain text, could never be sent (a render is capped at
    RENDER_MAX_CHARS): refused on save, beside the field, not at run time."""
    errors = errors_of(step_changes(0, config={"to": "{{ customer.email }}", "subject": "Hi", "body": body}))
    assert errors == [{"field": "steps.gentle.config.body",
                       "message": f"is {len(body):,} characters long; a text is limited to 500,000 characters"}]
