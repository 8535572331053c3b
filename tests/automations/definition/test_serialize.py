"""Definition JSON <-> models: the round trip is exact, edits keep step rows by key."""
from __future__ import annotations

import copy

import pytest

from automations import services
from automations.actions import Action, registry
from automations.definition import validate_definition
from automations.definition.serialize import version_to_definition
from automations.models import EmailTemplate, Step
from automations.steps.action import ActionStep
from automations.steps.branch import BranchStep

pytestmark = pytest.mark.django_db

SPEC_EXAMPLE = {
    "name": "Payment dunning",
    "description": "Recover failed payments",
    "trigger": {"type": "event", "event": "payment.failed"},
    "conditions": {"all": [{"field": "invoice.amount_due", "operator": "greater_than", "value": 0}]},
    "correlation_key": "invoice.id",
    "reentry": "skip_if_running",
    "exit_on": ["invoice.paid", "invoice.voided"],
    "retry": {"max_attempts": 3, "initial_interval": "1m", "backoff_coefficient": 2, "max_interval": "1h"},
    "steps": [
        {"key": "gentle", "type": "action", "action": "send_email",
         "config": {"template": "payment_failed_gentle", "to": "{{ customer.email }}"}},
        {"key": "wait_3d", "type": "delay", "duration": "3d"},
        {"key": "still_unpaid", "type": "branch",
         "if": {"all": [{"field": "invoice.status", "operator": "equals", "value": "open"}]},
         "then": [
             {"key": "retry", "type": "action", "action": "retry_payment", "config": {},
              "retry": {"max_attempts": 2}, "on_failure": "continue",
              "fallback": [{"key": "tell_ops", "type": "action", "action": "send_slack",
                            "config": {"text": "Retry failed for {{ invoice.number }}"}}]},
             {"key": "urgent", "type": "action", "action": "send_email",
              "config": {"template": "payment_failed_urgent", "to": "{{ customer.email }}"}},
         ],
         "else": [{"key": "paid", "type": "stop"}]},
        {"key": "wait_7d", "type": "delay", "duration": "7d"},
        {"key": "final", "type": "action", "action": "send_email",
         "config": {"template": "payment_failed_final", "to": "{{ customer.email }}"}},
    ],
}


class LooseAction(Action):
    """Accepts any config: stands in for actions whose own tests live elsewhere."""


@pytest.fixture
def spec_actions():
    for key in ("payment_failed_gentle", "payment_failed_urgent", "payment_failed_final"):
        EmailTemplate.objects.create(key=key, subject="s", body_text="b")
    retry = type("RetryPayment", (LooseAction,), {"key": "retry_payment"})
    slack = type("SendSlack", (LooseAction,), {"key": "send_slack"})
    with registry.register_temporarily(retry), registry.register_temporarily(slack):
        yield


def test_spec_example_round_trips_exactly(spec_actions):
    automation = services.create_automation(SPEC_EXAMPLE)
    draft = automation.draft_version
    assert version_to_definition(draft) == SPEC_EXAMPLE
    assert draft.steps.count() == 9
    assert isinstance(Step.objects.get(key="still_unpaid"), BranchStep)
    assert Step.objects.get(key="tell_ops").parent.key == "retry"


def test_every_step_shape_round_trips(spec_actions):
    definition = {
        "name": "Shapes", "trigger": {"type": "manual"},
        "conditions": {"all": [{"field": "subscription.current_period_end", "operator": "is_set"}]},
        "steps": [
            {"key": "until", "type": "delay", "until": "{{ subscription.current_period_end }}", "offset": "-7d",
             "at": "09:00"},
            {"key": "each", "type": "loop", "over": "invoice.line_items", "as": "line", "max_items": 50,
             "steps": [{"key": "inner", "type": "branch",
                        "if": {"any": [{"field": "line.amount", "operator": "greater_than", "value": 100}]},
                        "then": [{"key": "halt", "type": "stop", "status": "failed"}]}]},
            {"key": "iso", "type": "delay", "duration": "PT1H"},
        ],
    }
    automation = services.create_automation(definition)
    assert version_to_definition(automation.draft_version) == definition


def test_canonical_form_drops_defaults(spec_actions):
    definition = copy.deepcopy(SPEC_EXAMPLE)
    definition["steps"][0]["on_failure"] = "fail"
    definition["steps"][-1]["fallback"] = []
    definition["reentry"] = "skip_if_running"
    canonical = validate_definition(definition)
    assert "on_failure" not in canonical["steps"][0]
    assert "fallback" not in canonical["steps"][-1]
    automation = services.create_automation(definition)
    assert version_to_definition(automation.draft_version) == canonical == SPEC_EXAMPLE


def test_editing_the_draft_updates_steps_in_place_by_key(spec_actions):
    automation = services.create_automation(SPEC_EXAMPLE)
    gentle_id = Step.objects.get(key="gentle").pk
    edited = copy.deepcopy(SPEC_EXAMPLE)
    edited["steps"][0]["config"]["to"] = "ops@billing.example"
    edited["steps"][2]["then"].pop(0)  # drop the retry step (and its fallback)
    edited["steps"].insert(0, edited["steps"].pop(3))  # move wait_7d to the front
    services.update_draft(automation, edited)
    gentle = ActionStep.objects.get(key="gentle")
    assert gentle.pk == gentle_id and gentle.config["to"] == "ops@billing.example"
    assert gentle.history.count() == 2, "the edit is one change in the step's history"
    assert not Step.objects.filter(key__in=["retry", "tell_ops"]).exists()
    assert version_to_definition(automation.draft_version) == validate_definition(edited)


def test_changing_a_steps_type_replaces_its_row(spec_actions):
    automation = services.create_automation(SPEC_EXAMPLE)
    edited = copy.deepcopy(SPEC_EXAMPLE)
    edited["steps"][1] = {"key": "wait_3d", "type": "stop"}
    services.update_draft(automation, edited)
    assert Step.objects.get(key="wait_3d").type_name == "stop"
    assert version_to_definition(automation.draft_version) == validate_definition(edited)


def test_an_invalid_edit_saves_nothing(spec_actions):
    automation = services.create_automation(SPEC_EXAMPLE)
    broken = copy.deepcopy(SPEC_EXAMPLE)
    broken["steps"][1]["duration"] = "later"
    with pytest.raises(Exception, match="steps.wait_3d.duration"):
        services.update_draft(automation, broken)
    assert version_to_definition(automation.draft_version) == SPEC_EXAMPLE
